"""`causal-sam-llm data make-benchmark | show | list`: build the built-in benchmark, look at it, list any data set."""

import argparse
import time
from pathlib import Path

from rich.progress import track
from rich.table import Table

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.common import at_least_one, console, non_negative_int
from causal_sam_llm.datasets.benchmark.make import MANIFEST, BenchmarkSpec, make_benchmark
from causal_sam_llm.datasets.body_width import body_width_mm
from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.montage import write_montage
from causal_sam_llm.datasets.protocol import default_benchmark_dir
from causal_sam_llm.datasets.registry import detect_layout, open_dataset
from causal_sam_llm.errors import CausalSamError, DataLayoutError
from causal_sam_llm.paths import BENCHMARK_ENV


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help=summary("data"))
    actions = parser.add_subparsers(dest="data_action", required=True)
    make = actions.add_parser("make-benchmark", help="write the built-in multi-domain phantom benchmark")
    make.add_argument("--out", type=Path, default=None, help=f"folder (default {default_benchmark_dir()})")
    make.add_argument("--cases", type=at_least_one, default=BenchmarkSpec.cases, help="abdominal anatomies")
    make.add_argument(
        "--variant-cases", type=non_negative_int, default=BenchmarkSpec.variant_cases, help="anatomical-variant cases"
    )
    make.add_argument(
        "--brain-cases", type=non_negative_int, default=BenchmarkSpec.brain_cases, help="brain tumour cases"
    )
    make.add_argument("--seed", type=int, default=0, help="random seed of the phantoms")
    make.set_defaults(run=run_make)
    show = actions.add_parser("show", help="PNG montage of one benchmark case across its styles")
    show.add_argument("case", type=case_number, help="case number, e.g. 1 or 0001")
    show.add_argument("--benchmark", type=Path, default=None, help="benchmark folder")
    show.add_argument("--variants", action="store_true", help="show the anatomical-variant case instead")
    show.add_argument(
        "--slice", type=non_negative_int, default=None, help="axial slice (default: the one with most labels)"
    )
    show.add_argument("--out", type=Path, required=True, help="PNG to write")
    show.set_defaults(run=run_show)
    listing = actions.add_parser("list", help="list the cases of any supported data folder")
    listing.add_argument("folder", type=Path, help="a data set folder, or the built-in benchmark's (its ids load)")
    listing.add_argument(
        "--split",
        choices=["train", "val", "test"],
        default="train",
        help="the data set's own published split: BTCV train|test, AMOS train|val|test; a CHAOS or BraTS folder is one "
        "split already (train lists it)",
    )
    listing.add_argument(
        "--check-labels",
        action="store_true",
        help="read every reference label file as eval would, and name each broken one (exit 1 if any)",
    )
    listing.add_argument(
        "--body-width",
        action="store_true",
        help="also measure each case's body across, left to right, in mm (reads every image; what a study loaded by "
        "path is compared with: datasets/label_sets.yaml)",
    )
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
    number = f"{args.case:04d}"
    suffix = "_variants" if args.variants else ""
    folders = sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and p.name.endswith(suffix) and (suffix or not p.name.endswith("_variants"))
    )
    cases = [c for folder in folders for c in open_dataset(folder) if c.case_id.endswith(f"-{number}")]
    if not cases:
        raise DataLayoutError(f"no benchmark case {number} under {root}.")
    depth = cases[0].axial_image().shape[0]
    if args.slice is not None and args.slice >= depth:
        raise DataLayoutError(f"--slice {args.slice} is outside case {number}'s volume: slices 0..{depth - 1}.")
    console.print(f"wrote {write_montage(cases, args.out, args.slice)}")
    return 0


def case_number(text: str) -> int:
    """argparse type: a benchmark case number ("1", "0001")."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"a case number such as 1 or 0001, got {text!r}")
    return int(text)


def run_list(args: argparse.Namespace) -> int:
    problems: list[str] = []
    for folder, title in _listed_folders(args.folder):
        caption = None if args.check_labels else "labels: listed, not read (--check-labels reads them as eval would)"
        table = Table(title=title, caption=caption)
        columns = ["case", "modality", "sequence", "labels", "anatomy"] + (["body width"] if args.body_width else [])
        for column in columns:
            table.add_column(column)
        cases = open_dataset(folder, args.split)
        if args.body_width or args.check_labels:  # every image or label is read: 512² CTs take a while
            cases = track(cases, description=f"reading {title.split(' (')[0]}", console=console, transient=True)
        for case in cases:
            labels, problem = _label_state(case, args.check_labels)
            problems += [f"{case.case_id}: {problem}"] if problem else []
            width = [_body_width_text(case)] if args.body_width else []
            table.add_row(case.case_id, case.modality, case.sequence, labels, case.anatomy_key, *width)
        console.print(table)
    for problem in problems:
        console.print(problem, markup=False, soft_wrap=True)
    if problems:
        console.print(f"{len(problems)} reference label file(s) above would stop eval.", markup=False)
    return 1 if problems else 0


def _label_state(case: Case, read: bool) -> tuple[str, str | None]:
    """("yes" | "no" | "yes (read)" | "broken", why it is broken). With `read`, the labels are read as eval reads
    them (a research-user trial: a label of another shape was listed as "yes" and refused only by eval)."""
    if not case.has_labels:
        return "no", None
    if not read:
        return "yes", None
    try:
        case.check_labels()
    except (CausalSamError, ValueError, OSError) as exc:
        return "broken", str(exc)
    return "yes (read)", None


def _body_width_text(case: Case) -> str:
    width = body_width_mm(case.axial_image(), case.axial_spacing_mm(), case.modality)
    return "no body" if width is None else f"{width:.0f} mm"


def _listed_folders(folder: Path) -> list[tuple[Path, str]]:
    """(folder, table title) to list: a data set folder as it is; the built-in benchmark (its root or its abdomen
    folder) as each of its data sets, whose case ids open as benchmark:<case id>."""
    root = folder if (folder / MANIFEST).is_file() else folder.parent if (folder.parent / MANIFEST).is_file() else None
    if root is None:
        return [(folder, f"{folder} ({detect_layout(folder)} layout)")]
    parts = [root / "abdomen", root / "brain"] if folder == root else [folder]
    domains = [d for part in parts for d in ([part] if part.name == "brain" else sorted(part.iterdir())) if d.is_dir()]
    return [(d, f"{d.name} (built-in benchmark: {_how_to_open(root)})") for d in domains]


def _how_to_open(root: Path) -> str:
    """benchmark:<case> reads one benchmark folder: this one, or another set by an environment variable."""
    if root.resolve() == default_benchmark_dir().resolve():
        return "load a case as benchmark:<case>"
    return f"load a case as benchmark:<case> with {BENCHMARK_ENV}={root}"
