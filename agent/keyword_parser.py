"""`--llm none`: a deterministic keyword parser. An explicit mode (no model to load) and a cross-check of the LLM;
never the default. It knows the words of the system prompt (amounts: `amount_words`), and nothing else."""

import re

from causal_sam_llm.agent.amount_words import said_strength
from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall
from causal_sam_llm.agent.history_words import stated_steps, stated_version
from causal_sam_llm.agent.organ_words import organs_mentioned
from causal_sam_llm.agent.region_words import regions_mentioned
from causal_sam_llm.agent.slice_words import stated_slices
from causal_sam_llm.agent.study_words import stated_labels

ACTION_WORDS = [
    ("smooth", ("smooth", "ragged", "jagged", "clean", "tidy")),
    ("remove_region", ("remove", "delete", "cut away", "not part", "erase")),
    ("add_region", ("missed", "missing", "include", "add")),
    ("shrink", (
        "shrink", "smaller", "too big", "spills", "leak", "pull it in", "tighten", "over-segment", "reduce", "trim",
        "shave", "bleed", "overlap", "runs into", "goes into", "extends into", "spreads into", "encroach",
    )),
    ("expand", ("grow", "extend", "bigger", "cut short", "too small", "expand", "enlarge", "under-segment", "more")),
]  # fmt: skip
HISTORY_WORDS = r"\b(undo|redo|go back|revert|restore|return|show|back to|switch)\b"
# "which version are we on?", "what have we changed so far?", "show the history"
VERSIONS_QUESTION = re.compile(
    r"\b(which|what)\s+version\b|\bversions\b|\bhistory\b|\bwhat\s+(?:have|did)\s+(?:we|i|you)\s+(?:changed?|done|do)\b"
)
# "which slices is the liver on?", "which of slices 5-9 hold it?", "how many slices does it span?", "where does the
# kidney end?"
EXTENT_QUESTION = re.compile(
    r"\b(which|what)\s+(?:of\s+(?:the\s+)?)?slices?\b|\bhow\s+many\s+slices\b|\bspans?\b|\bextent\b"
    r"|\bwhere\s+(?:does|do)\b.*\b(start|end|begin|stop)s?\b|\bhow\s+far\s+(?:up|down)\b"
)


def _first(table, text: str, default: str | None) -> str | None:
    return next((name for name, keys in table if any(k in text for k in keys)), default)


# a clause that names an organ only to say it is right ("the liver is fine", "leave the spleen alone")
SETTLED = re.compile(r"\b(is|are|looks?|seems?)\s+(fine|ok|okay|good|right|correct|perfect)\b|\balone\b|\bleave\b")
CLAUSE_BREAK = re.compile(r"[,;.]|\b(?:and|but|then)\b")


def _organ_acted_on(text: str, classes: list[str], organs: list[str]) -> str | None:
    """Of several organs named, the one in the first clause that asks for an action and is not settled."""
    for clause in CLAUSE_BREAK.split(text.lower()):
        named = organs_mentioned(clause, classes)
        if named and _first(ACTION_WORDS, clause, None) and not SETTLED.search(clause):
            return named[0]
    return organs[0] if organs else None


def keyword_parse(text: str, classes: list[str], previous_organ: str | None) -> ParsedCall:
    lower = text.lower()
    organs = organs_mentioned(text, classes)
    organ = _organ_acted_on(text, classes, organs) if len(organs) > 1 else organs[0] if organs else previous_organ
    if (version := stated_version(lower)) is not None and re.search(HISTORY_WORDS, lower):
        return ParsedCall(tool="go_to_version", args={"version": version})
    if re.search(r"\b(undo|go back|revert)\b", lower):
        return ParsedCall(tool="undo", args={"steps": stated_steps(lower) or 1})
    if re.search(r"\bredo\b", lower):
        return ParsedCall(tool="redo", args={"steps": stated_steps(lower) or 1})
    if VERSIONS_QUESTION.search(lower):  # after undo/redo: "go back two versions" is an undo
        return ParsedCall(tool="list_versions", args={})
    if re.search(r"\b(export|save)\b", lower):
        return ParsedCall(tool="export", args={"format": "dicom_seg" if "dicom" in lower else "nifti"})
    if match := re.search(r"\b(?:open|load)\s+(?:(?:the|this)\s+)?(?:(?:study|case|file|scan)\s+)?(\S+)", text, re.I):
        return ParsedCall(tool="load_study", args={"study": match.group(1), "labels": stated_labels(text)})
    if re.search(r"\b(style|scanner|modality|kind of scan|what scan)\b", lower):
        return ParsedCall(tool="describe_style", args={})
    if re.search(r"\b(dice|hd95|hausdorff|volume|how big|measure|size)\b", lower):
        metric = "dice" if "dice" in lower else "hd95" if ("hd95" in lower or "hausdorff" in lower) else "volume_ml"
        measure_args = {"metric": metric, "organ": organs[0] if organs else "all", "slices": stated_slices(lower)}
        return ParsedCall(tool="measure", args=measure_args)
    action = _first(ACTION_WORDS, lower, None)
    if action is None and EXTENT_QUESTION.search(lower):
        extent_args = {"metric": "extent", "organ": organs[0] if organs else "all", "slices": stated_slices(lower)}
        return ParsedCall(tool="measure", args=extent_args)
    if action is None and re.search(r"\b(segment|seg)\b", lower):
        segment_args = {"organ": organs[0] if organs else "all", "slices": stated_slices(lower)}
        return ParsedCall(tool="segment", args=segment_args)
    if action is None or organ is None:
        return ParsedCall(tool=CLARIFY, args={"question": "Which organ, and what should I change?"})
    args = {
        "organ": organ,
        "action": action,
        "region": next(iter(regions_mentioned(lower)), "whole"),
        "slices": stated_slices(lower),
    }
    strength = said_strength(lower, action)
    if strength is not None:  # an unsaid grow or shrink is left out, to be sized to the organ
        args["strength"] = strength
    return ParsedCall(tool="intervene_decoder", args=args)
