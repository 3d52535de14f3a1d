"""LLM command parsing: accuracy on the clinician command sets and latency per command, cold (first command: the
system prompt is evaluated, in a throw-away home with none stored: bench/llm_cold.py measures a start from a stored
one) vs warm (its KV state reused), with and without the keyword parser's answer as a draft
the model checks in one batch, next to the keyword parser alone, in one run. Two sets: the tuning set (the prompt was
written while looking at it) and a held-out set (never used to tune anything).

    python -m causal_sam_llm.bench.llm [--commands tests/data/commands.yaml tests/data/commands_heldout.yaml]"""

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

from causal_sam_llm.agent.command_parser import CommandParser
from causal_sam_llm.agent.command_set import CommandOutcome, load_command_set, score
from causal_sam_llm.agent.llm_weights import default_model_path
from causal_sam_llm.bench.llm_cold import home_with_model
from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.heap import keep_freed_memory
from causal_sam_llm.paths import HOME_ENV

CLASSES = ["liver", "spleen", "right_kidney", "left_kidney"]
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"  # the repository's command sets (not installed)
VARIANTS = [  # (row name, strategy, draft)
    ("Qwen2.5-Coder-1.5B Q4_K_M, schema-guided, keyword draft (default)", "llm", True),
    ("Qwen2.5-Coder-1.5B Q4_K_M, schema-guided, no draft", "llm", False),
    ("keyword parser (--llm none)", "none", False),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--commands",
        type=Path,
        nargs="+",
        default=[DATA / "commands.yaml", DATA / "commands_heldout.yaml"],
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/llm.md"))
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the causal-sam-llm command runs (causal_sam_llm/heap.py)
    missing = [str(path) for path in args.commands if not path.is_file()]
    if missing:
        parser.error(f"no command set at {', '.join(missing)}: run from a repository checkout or pass --commands")
    sets = {path.name: load_command_set(path) for path in args.commands}
    paths = {path.name: path.resolve() for path in args.commands}
    rows, failures = [], []
    model = default_model_path()
    for name, strategy, draft in VARIANTS:
        with home_with_model(model) as home, _app_home(home):  # cold: no system prompt stored by an earlier run
            start = time.perf_counter()
            command_parser = CommandParser(CLASSES, strategy, draft=draft)
            command_parser.parse(next(iter(sets.values()))[0].text, [])
            cold_seconds = time.perf_counter() - start
        for set_name, cases in sets.items():
            outcomes = score(command_parser, cases, time.perf_counter)
            rows.append([name, set_name, *_accuracy_and_latency(outcomes), f"{cold_seconds:.1f}"])
            failures += [
                f"- [{name}, {set_name}] `{o.case.text}` → `{o.call.model_dump_json()}`"
                for o in outcomes
                if not o.right
            ]
            print(rows[-1], flush=True)
        del command_parser  # one model in memory at a time
    header = ["parser", "commands", "parsed right", "warm median s", "warm p95 s", "cold s (load + 1st)"]
    sizes = ", ".join(f"{len(cases)} in `{paths[set_name]}`" for set_name, cases in sets.items())
    body = markdown_table(header, rows) + f"\n\nCommands: {sizes}. Wrong parses:\n\n" + ("\n".join(failures) or "none")
    write_section(args.out, "LLM command parsing", command_line("causal_sam_llm.bench.llm", argv), body)
    print(body)
    return 0


@contextlib.contextmanager
def _app_home(home: str) -> Iterator[None]:
    before = os.environ.get(HOME_ENV)
    os.environ[HOME_ENV] = home
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(HOME_ENV)
        else:
            os.environ[HOME_ENV] = before


def _accuracy_and_latency(outcomes: list[CommandOutcome]) -> list[str]:
    right = sum(o.right for o in outcomes)
    warm = sorted(o.seconds for o in outcomes)
    return [
        f"{right}/{len(outcomes)} ({100 * right / len(outcomes):.1f}%)",
        f"{statistics.median(warm):.2f}",
        f"{warm[int(0.95 * (len(warm) - 1))]:.2f}",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
