"""A set of clinician commands with the calls they must parse to (YAML, see tests/data/commands.yaml), and the
scoring of a parser on it: what `bench/llm.py` reports and the LLM tests check."""

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.command_parser import CommandParser


@dataclass
class CommandCase:
    text: str
    expect: dict
    after: str | None = None


@dataclass
class CommandOutcome:
    case: CommandCase
    call: ParsedCall
    right: bool
    seconds: float


def load_command_set(path: Path) -> list[CommandCase]:
    return [CommandCase(**entry) for entry in yaml.safe_load(path.read_text())]


def matches(call: ParsedCall, expect: dict) -> bool:
    """The tool is the expected one (when one is named) and every listed argument has the expected value (strength
    within 0.05; `null`: left out, as a grow or shrink whose words state no amount is, for the tool to size)."""
    if "tool" in expect and call.tool != expect["tool"]:
        return False
    for key, wanted in expect.items():
        if key == "tool":
            continue
        got = call.args.get(key)
        if key == "strength" and wanted is None:
            if "strength" in call.args:
                return False
        elif key == "strength":
            if got is None or not math.isclose(float(got), float(wanted), abs_tol=0.05):
                return False
        elif (list(got) if isinstance(got, list | tuple) else got) != wanted:
            return False
    return True


def score(parser: CommandParser, cases: list[CommandCase], clock) -> list[CommandOutcome]:
    """Parse each case (after its context message, if any); `clock` is time.perf_counter or similar."""
    outcomes = []
    for case in cases:
        history = []
        if case.after:
            history = [(case.after, parser.parse(case.after, []))]
        start = clock()
        call = parser.parse(case.text, history)
        outcomes.append(CommandOutcome(case, call, matches(call, case.expect), clock() - start))
    return outcomes
