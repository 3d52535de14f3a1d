"""A command that asks to grow and to shrink the same organ in the same place ("grow the liver a little but also
shrink it", "make the spleen bigger and smaller") is asked back: a fourth clinician-language trial's were done as a
grow, with no word of the shrink. Two requests in different places ("grow it at the top and shrink it at the bottom")
or of different organs are no contradiction (request_clauses.py names the one not done), nor is a text that corrects
itself ("grow it, no wait, shrink it": said_error_rails.py) or spares one ("don't grow it, shrink it")."""

import re

from causal_sam_llm.agent.call_schema import ParsedCall, clarify
from causal_sam_llm.agent.organ_words import organs_mentioned
from causal_sam_llm.agent.region_words import regions_mentioned
from causal_sam_llm.agent.said_error_rails import SELF_CORRECTION

# narrower than said_error_rails' verbs, whose "cut" and "add" would make "cut short, add it back" both ways; a
# comparison is no request ("it is smaller than before, grow it")
GROWING = re.compile(r"\b(grow|expand|enlarge|bigger|larger)\b(?!\s+than)", re.IGNORECASE)
SHRINKING = re.compile(r"\b(shrink|reduce|smaller|trim|shave)\b(?!\s+than)", re.IGNORECASE)
# an earlier change named is no request: "the last shrink went too far, grow it a touch"
NAMED_CHANGE = re.compile(r"\b(the|that|this|last|previous|your)\s+(grow|shrink|trim)\b", re.IGNORECASE)
# words that take one of the two back: "don't grow it, shrink it", "shrink rather than grow"
WITHDRAWN = re.compile(r"\b(not|don'?t|never|rather|instead|no\s+need)\b", re.IGNORECASE)
CLAUSE_BREAK = re.compile(r"[,;.]|\b(?:and|but|then|also|while)\b", re.IGNORECASE)


def ground_both_ways(call: ParsedCall, text: str, classes: list[str]) -> ParsedCall:
    """A grow or shrink whose text asks for both of them, of one organ in one place, asked which one."""
    if call.tool != "intervene_decoder" or call.args.get("action") not in ("expand", "shrink"):
        return call
    if SELF_CORRECTION.search(text) or WITHDRAWN.search(text):
        return call
    clauses = CLAUSE_BREAK.split(NAMED_CHANGE.sub(" ", text))
    grows, shrinks = [c for c in clauses if GROWING.search(c)], [c for c in clauses if SHRINKING.search(c)]
    if not grows or not shrinks or not _same_place(" ".join(grows), " ".join(shrinks), classes):
        return call
    organ = str(call.args.get("organ", "organ")).replace("_", " ")
    return clarify(
        f"Grow or shrink the {organ}? The command asks for both; say which one (e.g. 'grow the {organ} a little')."
    )


def _same_place(grow: str, shrink: str, classes: list[str]) -> bool:
    """Both parts ask about the same organ (or one names none: "shrink it") and the same regions (or none)."""
    grown, shrunk = organs_mentioned(grow, classes), organs_mentioned(shrink, classes)
    if grown and shrunk and grown != shrunk:
        return False
    return regions_mentioned(grow) == regions_mentioned(shrink)
