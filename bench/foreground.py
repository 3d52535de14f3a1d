"""A correction typed while the background box evidence pass runs: right after `segment`, the pass decodes every
organ's box evidence (segmentation/box_prefetch.py) while the LLM parses what the clinician types next, and on
2 cores they compete. Side by side in one run, on one benchmark case with the shipped checkpoint and the local LLM,
from the moment the command is given (the pass just started) to the corrected mask:

- alone: no pass running (it ended before the command);
- beside the pass, as before: the parse shares the cores with the pass, the correction waits for the whole pass;
- shipped (`Assistant.ask`): the pass pauses while the command is parsed and while the correction is applied, and
  the correction waits only for its own organ's evidence, which the pass decodes next.

Run: `python -m causal_sam_llm.bench.foreground [--study benchmark:mr_t1-0011] [--repeats 5]`"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from causal_sam_llm.agent.assistant import Assistant
from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.heap import keep_freed_memory

TEXT = "the spleen is cut short toward the head, grow it a little"
MODES = ("alone", "beside the pass, as before", "pass paused for the command (shipped)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--study", default="benchmark:mr_t1-0011")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/results/foreground.md"))
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the causal-sam-llm command runs (causal_sam_llm/heap.py)
    with tempfile.TemporaryDirectory() as folder:
        assistant = Assistant(Path(folder) / "session")
        assistant.load(args.study)
        assistant.ask("segment everything")
        assistant.bench.wait_for_box_evidence()
        _correct(assistant, MODES[0])  # warm: the conversation so far is in the model's KV cache
        conversation = list(assistant.history)  # every command is parsed after this same conversation
        timings: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in MODES}
        for _ in range(args.repeats):
            for mode in MODES:  # interleaved, so that neither mode always runs first
                assistant.history[:] = conversation
                timings[mode].append(_correct(assistant, mode))
    rows = [_row(mode, values) for mode, values in timings.items()]
    header = ["command given", "parse s", "command → corrected mask s", "pass done after s"]
    body = markdown_table(header, rows) + (
        f"\n\nMedians of {args.repeats} repeats; study `{args.study}`, command “{TEXT}” (a grow of the spleen), each "
        "parsed after the same conversation and undone afterwards. The pass re-decodes every organ's box evidence "
        "from the masks as segmented (what `segment` starts); its time runs from its start, when the command is given."
    )
    write_section(
        args.out,
        "A correction typed while the background box pass runs",
        command_line("causal_sam_llm.bench.foreground", argv),
        body,
    )
    print(body)
    return 0


def _correct(assistant: Assistant, mode: str) -> tuple[float, float, float]:
    """(parse s, command → corrected mask s, pass start → pass end s; 0 alone), then the correction is undone."""
    bench = assistant.bench
    if mode != "alone":
        bench.decoded.box_logits.clear()  # so that the pass has every slice to decode again
        bench.keep_box_evidence(list(range(len(bench.classes))))
    start = time.perf_counter()
    if mode == MODES[2]:
        turn = assistant.ask(TEXT)
        parse = turn.timings_ms["parse_ms"] / 1000
    else:
        call = assistant.parser.parse(TEXT, assistant.history)
        parse = time.perf_counter() - start
        bench.wait_for_box_evidence()  # as before: a correction waited for the whole pass
        turn = assistant.run(call, TEXT)
    corrected = time.perf_counter() - start
    if not turn.ok or turn.call.tool != "intervene_decoder":
        raise RuntimeError(f"expected a correction, got {turn.call.tool}: {turn.reply}")
    bench.wait_for_box_evidence()
    pass_seconds = 0.0 if mode == "alone" else time.perf_counter() - start
    assistant.run(ParsedCall(tool="undo", args={}))
    return parse, corrected, pass_seconds


def _row(mode: str, values: list[tuple[float, float, float]]) -> list[str]:
    parse, corrected, done = (statistics.median(column) for column in zip(*values, strict=True))
    return [mode, f"{parse:.2f}", f"{corrected:.2f}", "–" if mode == "alone" else f"{done:.2f}"]


if __name__ == "__main__":
    raise SystemExit(main())
