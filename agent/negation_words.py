"""Negated requests. "don't grow the liver" must never become a grow, so a negated action is asked back; but "don't
grow the liver, shrink it" also says what to do, and a clinician who typed it should get the shrink, not a request to
rephrase. The text goes on to the model only when what follows the negation is plain: the negated part names an
action and at most an organ (an amount, direction or slice there could leak into the call the rails build), and the
rest states another action for that same organ. A call the text negates is asked back whatever gave it."""

import re

from causal_sam_llm.agent.amount_words import stated_amount
from causal_sam_llm.agent.organ_words import organs_mentioned
from causal_sam_llm.agent.region_words import regions_mentioned
from causal_sam_llm.agent.slice_words import stated_slices

# the verb a clinician negates → the call it would have asked for (a correction's action, else the tool)
VERB_CALLS = {
    "grow": "expand", "expand": "expand", "extend": "expand", "enlarge": "expand",
    "shrink": "shrink", "trim": "shrink", "reduce": "shrink",
    "remove": "remove_region", "delete": "remove_region", "cut": "remove_region", "erase": "remove_region",
    "add": "add_region", "include": "add_region",
    "smooth": "smooth", "segment": "segment", "undo": "undo", "redo": "redo", "export": "export", "save": "export",
}  # fmt: skip
NEGATED_ACTION = re.compile(
    r"\b(?:don'?t|do\s+not|never|no\s+need\s+to)\s+(?:\w+\s+){0,2}?(" + "|".join(VERB_CALLS) + r")\b", re.IGNORECASE
)
# where the negated request ends: a clause break, or the word that turns to what is wanted
CLAUSE_END = re.compile(r"[,;.!?:]|\s[-–—]\s|\b(?:but|instead|rather|just|only)\b", re.IGNORECASE)
# words outside the negated part that ask for something (a verb of the table, or its plain comparative)
WANTED_CALLS = {
    **VERB_CALLS, "bigger": "expand", "larger": "expand", "smaller": "shrink", "tighter": "shrink",
    "measure": "measure", "volume": "measure",
}  # fmt: skip
WANTED = re.compile(r"\b(" + "|".join(WANTED_CALLS) + r")\b", re.IGNORECASE)


def negated_calls(text: str) -> set[str]:
    """The calls the text says not to make."""
    return {VERB_CALLS[match.group(1).lower()] for match in NEGATED_ACTION.finditer(text)}


def wanted_calls(text: str) -> set[str]:
    """The calls the text asks for outside its negated parts."""
    return {WANTED_CALLS[match.group(1).lower()] for match in WANTED.finditer(_rest(text))}


def says_plainly_what_instead(text: str, classes: list[str]) -> bool:
    """Whether a text with a negated action may go on to the model: each negated part holds no amount, direction
    or slice, the rest asks for a call the text does not also negate, and it names no organ other than the negated
    part's."""
    parts = _negated_parts(text)
    if any(stated_amount(p) is not None or regions_mentioned(p) or stated_slices(p) for p in parts):
        return False
    if not wanted_calls(text) - negated_calls(text):
        return False
    negated_organs = {organ for part in parts for organ in organs_mentioned(part, classes)}
    rest_organs = set(organs_mentioned(_rest(text), classes))
    return not negated_organs or not rest_organs or rest_organs == negated_organs


def without_negated_verbs(text: str) -> str:
    """The text with each negation and its verb left out ("do not shrink the spleen, grow it" → "the spleen, grow
    it"), for the keyword parser, which reads the first verb it finds."""
    return NEGATED_ACTION.sub(" ", text).strip()


def _negated_parts(text: str) -> list[str]:
    """Each negated request, from its negation to the end of its clause."""
    parts = []
    for match in NEGATED_ACTION.finditer(text):
        end = CLAUSE_END.search(text, match.end())
        parts.append(text[match.start() : end.start() if end else len(text)])
    return parts


def _rest(text: str) -> str:
    for part in _negated_parts(text):
        text = text.replace(part, " ", 1)
    return text
