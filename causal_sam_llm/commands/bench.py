"""`causal-sam-llm bench`: the benchmark suite — encoder cold vs cached, TCI correction vs re-segmentation (100-slice
volume), LLM parsing accuracy and cold vs warm latency, the first answer in a new process with and without the
stored system prompt, a command given while the background box evidence pass runs, agent memory — each measured
side by side in one run, then collected into bench/results.md."""

import argparse
import subprocess
import sys
from pathlib import Path

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.common import console
from causal_sam_llm.segmentation.checkpoint_io import shipped_checkpoint
from causal_sam_llm.segmentation.encoder_registry import default_device

PARTS = ("encoder", "tci", "llm", "llm_cold", "llm_dialogue", "foreground", "memory")
# the tci part runs on the GPU when one is present; its CPU figures are kept apart from the GPU's. tci_512 (a clinical
# 512² study, 7 min), tci_grid (the pooled grid's accuracy at 512², 20 min) and tool_latency (the correction tool end
# to end at 512², 8 min) are run on their own: `python -m causal_sam_llm.bench.tci --checkpoint ... --size 512`,
# `python -m causal_sam_llm.bench.tci_grid ...`, `python -m causal_sam_llm.bench.tool_latency`; so is tci_placement
# (where each ranking puts a correction's amount, 2 min on the test cases, 4 on the training ones: `--split train`)
SECTIONS = (
    "encoder",
    "tci",
    "tci_512",
    "tool_latency",
    "tci_grid",
    "tci_placement_test",
    "tci_placement_train",
    "tci_gpu",
    "llm",
    "llm_cold",
    "llm_dialogue",
    "foreground",
    "memory",
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help=summary("bench"))
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts")
    parser.add_argument("--results", type=Path, default=Path("bench/results"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    parts = args.only or list(PARTS)
    folder = args.results
    arguments = {"tci": ["--checkpoint", str(shipped_checkpoint("ct_to_mr", "lad"))]}  # the others need none
    for part in parts:
        console.rule(part)
        # each part in its own process: peak RSS is per process, and a part measured after others in one process
        # ran 10-15% slower (their heap and thread pools stay behind)
        command = [sys.executable, "-m", f"causal_sam_llm.bench.{part}", *arguments.get(part, [])]
        subprocess.run([*command, "--out", str(folder / f"{_section(part)}.md")], check=True)
    console.print(f"wrote {collect(folder)}")
    return 0


def _section(part: str) -> str:
    return f"{part}_gpu" if part == "tci" and default_device() == "cuda" else part


def collect(folder: Path) -> Path:
    """Join the parts' latest sections (`folder/*.md`) into results.md next to `folder`."""
    sections = [(folder / f"{name}.md").read_text() for name in SECTIONS if (folder / f"{name}.md").is_file()]
    combined = folder.parent / "results.md"
    combined.write_text(
        "# Benchmark results\n\nProduced by `causal-sam-llm bench` (`make bench`). Each section is its part's latest "
        "run (`--only` re-runs some parts): compare rows within a section, which were measured side by side.\n\n"
        + "\n".join(sections)
    )
    return combined
