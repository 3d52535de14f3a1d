"""LLM latency inside a dialogue: the shipped correction sessions' turns (eval_sessions/*.yaml) parsed in order with
the earlier turns as history — as the chat and replay parse them, the session's loading of its study first — against
the same dialogues as they were parsed before the history kept the model's own tokens (each earlier answer written
as plain JSON and tokenized afresh, so llama.cpp evaluated it again: `LlamaToolCaller._conversation_tokens`) and the
same turns parsed alone (no history), in one run. `bench.llm` times single commands; here each turn also carries the
new tokens of the turn before it and, every HISTORY_BLOCK turns, the trimmed history's whole prompt. The kinds of
pass take turns (dialogues, dialogues as before, then alone, `--repeats` times) rather than the parses of a turn: a
parse alone replaces the KV state the dialogue's next turn would reuse. Only turns the model answers are timed (the
guard rails answer some text without it).

    python -m causal_sam_llm.bench.llm_dialogue [--sessions eval_sessions/*.yaml] [--repeats 2]"""

import argparse
import json
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from langchain_core.messages import AIMessage, BaseMessage

from causal_sam_llm.agent import chat_model
from causal_sam_llm.agent.call_schema import ParsedCall, call_as_written
from causal_sam_llm.agent.chat_model import LlamaToolCaller
from causal_sam_llm.agent.command_parser import HISTORY_BLOCK, CommandParser
from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.eval_sessions.session_file import CorrectionSession, read_session
from causal_sam_llm.heap import keep_freed_memory
from causal_sam_llm.segmentation.checkpoint_io import checkpoint_path, read_checkpoint, shipped_checkpoint

SESSIONS = Path(__file__).resolve().parents[1] / "eval_sessions"  # the repository's shipped sessions

Timed = list[tuple[int, float]]  # (turn number from 1, seconds) of the turns the model answered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=Path, nargs="+", default=sorted(SESSIONS.glob("*.yaml")))
    parser.add_argument("--repeats", type=int, default=2, help="passes of each kind, in turn")
    parser.add_argument("--out", type=Path, default=Path("bench/results/llm_dialogue.md"))
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the causal-sam-llm command runs (causal_sam_llm/heap.py)
    in_dialogue: Timed = []
    as_before: Timed = []
    alone: Timed = []
    for classes, sessions in _by_classes(args.sessions).items():
        command_parser = CommandParser(list(classes), "llm")
        command_parser.prepare()  # the system prompt: stored, or evaluated once here, before any timing
        for _ in range(args.repeats):
            for session in sessions:
                in_dialogue += _dialogue(command_parser, session)
            with _history_tokenized_afresh():
                for session in sessions:
                    as_before += _dialogue(command_parser, session)
            for session in sessions:
                alone += _alone(command_parser, session)
            print(f"{classes}: {len(in_dialogue)} in dialogue, {len(alone)} alone", flush=True)
        del command_parser  # one model in memory at a time
    body = _report(in_dialogue, as_before, alone, args.repeats, len(args.sessions))
    write_section(
        args.out, "LLM latency inside a dialogue", command_line("causal_sam_llm.bench.llm_dialogue", argv), body
    )
    print(body)
    return 0


def _by_classes(paths: list[Path]) -> dict[tuple[str, ...], list[CorrectionSession]]:
    """Sessions grouped by the classes of the model they load (the parser is built for those)."""
    groups: dict[tuple[str, ...], list[CorrectionSession]] = {}
    for path in paths:
        session = read_session(path)
        checkpoint = checkpoint_path(session.checkpoint) or shipped_checkpoint("ct_to_mr", "lad")
        classes = tuple(read_checkpoint(checkpoint)["classes"])
        groups.setdefault(classes, []).append(session)
    return groups


def _dialogue(command_parser: CommandParser, session: CorrectionSession) -> Timed:
    load = ParsedCall(tool="load_study", args={"study": session.study, "labels": session.labels})
    history: list[tuple[str, ParsedCall]] = [(f"load {session.study}", load)]  # as the assistant's load logs it
    timed = []
    for number, turn in enumerate(session.turns, start=1):
        seconds, call = _parse(command_parser, turn.say, history)
        if seconds is not None:
            timed.append((number, seconds))
        history.append((turn.say, call))
    return timed


def _alone(command_parser: CommandParser, session: CorrectionSession) -> Timed:
    timed = []
    for number, turn in enumerate(session.turns, start=1):
        seconds, _call = _parse(command_parser, turn.say, [])
        if seconds is not None:
            timed.append((number, seconds))
    return timed


def _parse(
    command_parser: CommandParser, text: str, history: list[tuple[str, ParsedCall]]
) -> tuple[float | None, ParsedCall]:
    """The parse's seconds (None when the guard rails answered without the model) and its call."""
    start = time.perf_counter()
    call = command_parser.parse(text, history)
    seconds = time.perf_counter() - start
    return (seconds if command_parser.last_answer is not None else None), call


@contextmanager
def _history_tokenized_afresh() -> Iterator[None]:
    """The dialogue as parsed before the history kept the model's own tokens: each earlier call written as plain
    compact JSON and the whole conversation tokenized afresh for every turn."""
    remember, render = LlamaToolCaller._remember_evaluated, chat_model._to_chat

    def plain(message: BaseMessage) -> dict:
        if isinstance(message, AIMessage) and message.tool_calls:
            call = message.tool_calls[0]
            written = json.dumps(call_as_written(call["name"], call["args"]), separators=(",", ":"))
            return {"role": "assistant", "content": written}
        return render(message)

    LlamaToolCaller._remember_evaluated = lambda caller, _text, _prompt, _tokens: caller._evaluated.clear()
    chat_model._to_chat = plain
    try:
        yield
    finally:
        LlamaToolCaller._remember_evaluated, chat_model._to_chat = remember, render


def _report(in_dialogue: Timed, as_before: Timed, alone: Timed, repeats: int, sessions: int) -> str:
    def row(name: str, timed: Timed) -> list[str]:
        seconds = [s for _number, s in timed]
        if not seconds:
            return [name, "0", "—", "—", "—"]
        p95 = float(np.percentile(seconds, 95))
        return [name, str(len(seconds)), f"{statistics.median(seconds):.2f}", f"{p95:.2f}", f"{max(seconds):.2f}"]

    rows = [
        row("alone (no history, as `bench.llm` times commands)", alone),
        row("in a dialogue, every turn", in_dialogue),
        row("in a dialogue as before (each earlier answer tokenized afresh), every turn", as_before),
        row(f"in a dialogue, turns 1–{HISTORY_BLOCK}", [t for t in in_dialogue if t[0] <= HISTORY_BLOCK]),
        row(f"in a dialogue, turns {HISTORY_BLOCK + 1} on", [t for t in in_dialogue if t[0] > HISTORY_BLOCK]),
    ]
    header = ["parse", "turns timed", "median s", "p95 s", "slowest s"]
    return (
        f"{sessions} shipped sessions, each pass {repeats} times (dialogues, dialogues as before, then alone, in "
        "turn); the model's system prompt prepared before any timing; the keyword draft on (the default).\n\n"
        + markdown_table(header, rows)
    )


if __name__ == "__main__":
    main()
