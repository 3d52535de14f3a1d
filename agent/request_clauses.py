"""A command that asks for two things at once ("grow the liver and shrink the spleen", "dice and hd95 please"): one
call is made per turn, so the reply names the request that was not done and how to ask for it, instead of dropping
it without a word (a clinician-language trial, 2026-12-07)."""

import re

from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall
from causal_sam_llm.agent.keyword_parser import keyword_parse

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
        if asked.tool != CLARIFY and not _done_by(asked, call):
            left.append(clause)
    return left if len(left) < len(clauses) else []  # nothing matched the call: the clauses are no separate requests


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
    return f" One request per command: {quoted} {'was' if len(left) == 1 else 'were'} not done; ask for it next."
