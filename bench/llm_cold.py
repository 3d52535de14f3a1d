"""The LLM's first answer in a new process, with no stored system prompt against one stored by an earlier process
(`agent/prompt_state.py`), side by side in one run. Each start is its own process, as a user's `chat`, `replay` or
`parse` is; both use a throw-away app home that links the joined model file, so the user's stored prompts are
neither used nor changed.

    python -m causal_sam_llm.bench.llm_cold [--repeats 2]"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.paths import HOME_ENV

CLASSES = ["liver", "spleen", "right_kidney", "left_kidney"]
FIRST_COMMAND = "make the liver smaller at the front"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2, help="starts of each kind")
    parser.add_argument("--out", type=Path, default=Path("bench/results/llm_cold.md"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_first_answer()))
        return 0
    from causal_sam_llm.agent.llm_weights import default_model_path

    model = default_model_path()  # joined once, outside the timings
    starts: dict[str, list[dict]] = {"no stored prompt (first start)": [], "stored prompt (later starts)": []}
    for repeat in range(args.repeats):
        with home_with_model(model) as home:
            for kind in starts:  # the first start stores the prompt, the second restores it
                starts[kind].append(_start(home))
                print(repeat, kind, starts[kind][-1], flush=True)
    rows = [_row(kind, runs) for kind, runs in starts.items()]
    header = ["start", "model load s", "system prompt s", "first command s", "to first answer s", "stored file MB"]
    body = markdown_table(header, rows) + (
        f"\n\nMedians of {args.repeats} starts each, in fresh processes; first command `{FIRST_COMMAND}`; "
        "both kinds answered it the same: " + str(_same_answers(starts))
    )
    write_section(
        args.out, "LLM: first answer in a new process", command_line("causal_sam_llm.bench.llm_cold", argv), body
    )
    print(body)
    return 0


@contextlib.contextmanager
def home_with_model(model: Path) -> Iterator[str]:
    """A throw-away app home holding only a link to the joined model file: no stored prompt."""
    with tempfile.TemporaryDirectory(prefix="llm-cold-") as home:
        (Path(home) / "llm").mkdir()
        (Path(home) / "llm" / model.name).symlink_to(model)
        yield home


def _first_answer() -> dict:
    from causal_sam_llm.agent.command_parser import CommandParser
    from causal_sam_llm.paths import prompt_state_dir

    start = time.perf_counter()
    parser = CommandParser(CLASSES, "llm")
    parser.model.llama  # noqa: B018 — loads the weights
    loaded = time.perf_counter()
    parser.prepare()
    prepared = time.perf_counter()
    call = parser.parse(FIRST_COMMAND, [])
    answered = time.perf_counter()
    files = list(prompt_state_dir().glob("*.npz"))
    return {
        "load_s": loaded - start,
        "prompt_s": prepared - loaded,
        "command_s": answered - prepared,
        "total_s": answered - start,
        "file_mb": sum(f.stat().st_size for f in files) / 1e6,
        "answer": call.model_dump(),
    }


def _start(home: str) -> dict:
    env = {**os.environ, HOME_ENV: home}
    command = [sys.executable, "-m", "causal_sam_llm.bench.llm_cold", "--child"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(kind: str, runs: list[dict]) -> list[str]:
    def median(key: str) -> str:
        return f"{statistics.median(r[key] for r in runs):.1f}"

    return [kind, median("load_s"), median("prompt_s"), median("command_s"), median("total_s"), median("file_mb")]


def _same_answers(starts: dict[str, list[dict]]) -> str:
    answers = {json.dumps(r["answer"], sort_keys=True) for runs in starts.values() for r in runs}
    return "yes" if len(answers) == 1 else f"no ({len(answers)} different answers)"


if __name__ == "__main__":
    raise SystemExit(main())
