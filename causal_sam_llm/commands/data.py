"""`causal-sam-llm data make-benchmark | show | list`: build the built-in benchmark, look at it, list any data set."""

import argparse
import time
from pathlib import Path

from rich.table import Table

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.common import at_least_one, console, non_negative_int
from causal_sam_llm.datasets.benchmark.make import BenchmarkSpec, make_benchmark
from causal_sam_llm.datasets.montage import write_montage
from causal_sam_llm.datasets.protocol import default_benchmark_dir
from causal_sam_llm.datasets.registry import detect_layout, open_dataset
from causal_sam_llm.errors import DataLayoutError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help=summary("data"))
    actions = parser.add_subparsers(dest="data_action", required=True)
    make = actions.add_parser("make-benchmark", help="write the built-in multi-domain phantom benchmark")
    make.add_argument("--out", type=Path, default=None, help=f"folder (default {default_benchmark_dir()})")
    make.add_argument("--cases", type=at_least_one, default=BenchmarkSpec.cases, help="abdominal anatomies")
    make.add_argument("--variant-cases", type=non_negative_int, default=BenchmarkSpec.variant_cases)
    make.add_argument("--brain-cases", type=non_negative_int, default=BenchmarkSpec.brain_cases)
    make.add_argument("--seed", type=int, default=0)
    make.set_defaults(run=run_make)
    show = actions.add_parser("show", help="PNG montage of one benchmark case across its styles")
    show.add_argument("case", help="case number, e.g. 1 or 0001")
    show.add_argument("--benchmark", type=Path, default=None, help="benchmark folder")
    show.add_argument("--variants", action="store_true", help="show the anatomical-variant case instead")
    show.add_argument("--slice", type=int, default=None, help="axial slice (default: the one with most labels)")
    show.add_argument("--out", type=Path, required=True, help="PNG to write")
    show.set_defaults(run=run_show)
    listing = actions.add_parser("list", help="list the cases of any supported data folder")
    listing.add_argument("folder", type=Path)
    listing.set_defaults(run=run_list)


def run_make(args: argparse.Namespace) -> int:
    out = args.out or default_benchmark_dir()
    spec = BenchmarkSpec(
        cases=args.cases, variant_cases=args.variant_cases, brain_cases=args.brain_cases, seed=args.seed
    )
    start = time.perf_counter()
    make_benchmark(out, spec)
    console.print(f"benchmark written to {out} in {time.perf_counter() - start:.0f} s")
    return 0


def run_show(args: argparse.Namespace) -> int:
    root = (args.benchmark or default_benchmark_dir()) / "abdomen"
    if not root.is_dir():
        raise DataLayoutError(f"no benchmark at {root.parent}; run `causal-sam-llm data make-benchmark` first.")
    number = f"{int(args.case):04d}"
    suffix = "_variants" if args.variants else ""
    folders = sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and p.name.endswith(suffix) and (suffix or not p.name.endswith("_variants"))
    )
    cases = [c for folder in folders for c in open_dataset(folder) if c.case_id.endswith(f"-{number}")]
    if not cases:
        raise DataLayoutError(f"no benchmark case {number} under {root}.")
    console.print(f"wrote {write_montage(cases, args.out, args.slice)}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    layout = detect_layout(args.folder)
    table = Table(title=f"{args.folder} ({layout} layout)")
    for column in ("case", "modality", "sequence", "labels", "anatomy"):
        table.add_column(column)
    for case in open_dataset(args.folder):
        table.add_row(case.case_id, case.modality, case.sequence, "yes" if case.has_labels else "no", case.anatomy_key)
    console.print(table)
    return 0
