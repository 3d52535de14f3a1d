"""A command that asks for two things at once ("grow the liver and shrink the spleen", "dice and hd95 please"): one
call is made per turn, so the reply names the request that was not done and how to ask for it, instead of dropping
it without a word (a clinician-language trial, 2026-12-07)."""

import re

from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall
from causal_sam_llm.agent.keyword_parser import SETTLED, keyword_parse
from causal_sam_llm.agent.organ_words import organs_mentioned

CLAUSE_BREAK = re.compile(r"\s*(?:[,;]|\band then\b|\bthen\b|\band\b|\balso\b|\bplus\b)\s*", re.IGNORECASE)


def requests_left_out(text: str, call: ParsedCall, classes: list[str]) -> list[str]:
    """The parts of `text` that ask for something `call` does not do, each read on its own (a part that names no
    organ or action of its own, such as "the spleen" or "a bit more", is no request)."""
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


def _done_by(asked: ParsedCall, call: ParsedCall) -> bool:
    if asked.tool != call.tool:
        return False
    if call.tool == "intervene_decoder":
        return (asked.args.get("organ"), asked.args.get("action")) == (call.args.get("organ"), call.args.get("action"))
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
