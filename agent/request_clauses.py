"""A command that asks for two things at once ("grow the liver and shrink the spleen", "dice and hd95 please"): one
call is made per turn, so the reply names the request that was not done and how to ask for it, instead of dropping
it without a word (a clinician-language trial, 2026-12-07)."""

import re

from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall
from causal_sam_llm.agent.keyword_parser import SETTLED, keyword_parse
from causal_sam_llm.agent.organ_words import organs_mentioned
from causal_sam_llm.agent.region_typos import with_region_typos_mended
from causal_sam_llm.agent.region_words import regions_mentioned
from causal_sam_llm.agent.said_error_rails import SELF_CORRECTION
from causal_sam_llm.tools.intervene_decoder import TOWARD_WORDS

CLAUSE_BREAK = re.compile(r"\s*(?:[,;]|\band then\b|\bthen\b|\band\b|\balso\b|\bplus\b)\s*", re.IGNORECASE)


def requests_left_out(text: str, call: ParsedCall, classes: list[str]) -> list[str]:
    """The parts of `text` that ask for something `call` does not do, each read on its own (a part that names no
    organ or action of its own, such as "the spleen" or "a bit more", is no request)."""
    if (withdrawn := SELF_CORRECTION.search(text)) is not None:  # what was said before "no wait" is no request
        text = text[withdrawn.end() :]
    clauses = [clause.strip() for clause in CLAUSE_BREAK.split(text) if clause and clause.strip()]
    if len(clauses) < 2:
        return []
    left = []
    for clause in clauses:
        asked = keyword_parse(clause, classes, None)
        if asked.tool == CLARIFY and (shared := _with_the_calls_verb(clause, call, classes)):
            left.append(shared)
        elif asked.tool != CLARIFY and not _done_by(asked, call) and not NEGATED_CLAUSE.match(clause):
            left.append(clause)
    return left if len(left) < len(clauses) else []  # nothing matched the call: the clauses are no separate requests


# a clause that asks for nothing: "don't grow the liver, shrink it at the top" (a fourth trial had been told that
# "don't grow the liver" was not done)
NEGATED_CLAUSE = re.compile(r"^\s*(?:don'?t|do\s+not|never|not|no\s+need\s+to)\b", re.IGNORECASE)
# words that spare the organ a clause names ("shrink the spleen but not the liver")
SPARED = re.compile(r"\b(not|never|don'?t|except|apart from|other than|without)\b", re.IGNORECASE)
# the verb a left-out organ shares with the call ("shrink the spleen and the liver": the liver is to shrink too)
ACTION_VERBS = {
    "expand": "grow", "shrink": "shrink", "remove_region": "remove", "add_region": "add", "smooth": "smooth",
}  # fmt: skip


def _with_the_calls_verb(clause: str, call: ParsedCall, classes: list[str]) -> str | None:
    """A clause that names another organ and no action of its own, after a correction, shares the correction's verb
    ("shrink the spleen and the liver" had shrunk the spleen and said nothing of the liver: a clinician-language
    trial): the request that was not done, worded so. None for a clause that settles or spares the organ ("the liver
    is fine", "not the liver")."""
    if call.tool != "intervene_decoder" or SETTLED.search(clause.lower()) or SPARED.search(clause):
        return None
    if not [organ for organ in organs_mentioned(clause, classes) if organ != call.args.get("organ")]:
        return None
    return f"{ACTION_VERBS[call.args['action']]} {clause}"


# actions that move the same way: "the liver's front is missing at the bottom, … grow it 8 mm at the front" asks for
# one grow (a fifth trial had said the first clause was not done)
SAME_WAY = {"add_region": "expand", "remove_region": "shrink"}


def _done_by(asked: ParsedCall, call: ParsedCall) -> bool:
    if asked.tool != call.tool:
        return False
    if call.tool == "intervene_decoder":
        ways = [SAME_WAY.get(c.args.get("action"), c.args.get("action")) for c in (asked, call)]
        return asked.args.get("organ") == call.args.get("organ") and ways[0] == ways[1]
    if call.tool == "measure":
        return asked.args.get("metric") == call.args.get("metric")
    return True


def left_out_note(text: str, call: ParsedCall, classes: list[str]) -> str:
    """' One request per command: "shrink the spleen" was not done; ask for it next.' or ''."""
    left = requests_left_out(text, call, classes)
    if not left:
        return ""
    quoted = " and ".join(f'"{clause}"' for clause in left)
    was, it = ("was", "it") if len(left) == 1 else ("were", "them")
    return f" One request per command: {quoted} {was} not done; ask for {it} next."


def other_regions_note(text: str, call: ParsedCall) -> str:
    """Said when a correction named several directions and moved one: the Intervention takes one region, and "trim
    it at the front on the patient's left" had trimmed the front alone without a word (a fifth trial)."""
    if call.tool != "intervene_decoder" or (region := call.args.get("region")) in (None, "whole"):
        return ""
    if (withdrawn := SELF_CORRECTION.search(text)) is not None:
        text = text[withdrawn.end() :]
    others = [r for r in regions_mentioned(with_region_typos_mended(text)) if r != region]
    if region not in regions_mentioned(with_region_typos_mended(text)) or not others:
        return ""
    left = " and ".join(f"'{TOWARD_WORDS[r]}'" for r in others)
    return f" One direction per correction: this moved the edge {TOWARD_WORDS[region]}; ask for {left} next."
