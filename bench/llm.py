"""LLM command parsing: accuracy on the clinician command set and latency per command, cold (first command: the
system prompt is evaluated) vs warm (its KV state reused), next to the keyword parser, in one run.

    python -m causal_sam_llm.bench.llm [--commands tests/data/commands.yaml]"""

import argparse
import statistics
import time
from pathlib import Path

from causal_sam_llm.agent.command_parser import CommandParser
from causal_sam_llm.agent.command_set import load_command_set, score
from causal_sam_llm.bench.report import markdown_table, write_section

CLASSES = ["liver", "spleen", "right_kidney", "left_kidney"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=Path, default=Path("tests/data/commands.yaml"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/llm.md"))
    args = parser.parse_args(argv)
    cases = load_command_set(args.commands)
    rows, failures = [], []
    for strategy in ("llm", "none"):
        start = time.perf_counter()
        command_parser = CommandParser(CLASSES, strategy)
        cold = command_parser.parse(cases[0].text, [])
        cold_seconds = time.perf_counter() - start
        outcomes = score(command_parser, cases, time.perf_counter)
        right = sum(o.right for o in outcomes)
        warm = sorted(o.seconds for o in outcomes)
        rows.append(
            [
                "Qwen2.5-Coder-1.5B Q4_K_M (schema-guided)" if strategy == "llm" else "keyword parser (--llm none)",
                f"{right}/{len(outcomes)} ({100 * right / len(outcomes):.1f}%)",
                f"{cold_seconds:.1f}",
                f"{statistics.median(warm):.2f}",
                f"{warm[int(0.95 * (len(warm) - 1))]:.2f}",
            ]
        )
        failures += [f"- [{strategy}] `{o.case.text}` → `{o.call.model_dump_json()}`" for o in outcomes if not o.right]
        print(rows[-1], flush=True)
        del cold
    body = markdown_table(["parser", "parsed right", "cold s (load + 1st)", "warm median s", "warm p95 s"], rows)
    body += f"\n\n{len(cases)} commands from `{args.commands}`. Wrong parses:\n\n" + ("\n".join(failures) or "none")
    write_section(args.out, "LLM command parsing", "python -m causal_sam_llm.bench.llm", body)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
