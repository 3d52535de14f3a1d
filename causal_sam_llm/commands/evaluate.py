"""`causal-sam-llm eval`: Dice and HD95 of one or more checkpoints on a protocol's test domains (or any folder)."""

import argparse
import sys
from pathlib import Path

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.cli_arguments import file_path
from causal_sam_llm.commands.common import (
    add_precision_argument,
    console,
    note_domains_left_on_benchmark,
    parse_assignments,
    scored_checkpoint,
)
from causal_sam_llm.commands.train import add_protocol_arguments
from causal_sam_llm.datasets.label_check import check_reference_labels
from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.errors import DataLayoutError
from causal_sam_llm.segmentation.encoder_registry import default_device
from causal_sam_llm.segmentation.evaluation import score_checkpoints, test_cases, write_report
from causal_sam_llm.segmentation.training_overlap import trained_anatomy_warning


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help=summary("eval"))
    add_protocol_arguments(parser)
    parser.add_argument(
        "--checkpoint", type=scored_checkpoint, nargs="+", required=True, help="model.pt files or shipped names"
    )
    parser.add_argument("--data", type=Path, default=None, help="score this labelled folder (e.g. BTCV layout)")
    parser.add_argument(
        "--split",
        choices=["train", "val", "test"],
        default=None,
        help="with --data: the folder's own published split (default train; AMOS val is imagesVa/labelsVa)",
    )
    parser.add_argument("--json", type=file_path, required=True, help="report path; .md and .png are written beside it")
    add_precision_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    protocol = load_protocol(args.protocol)
    overrides = parse_assignments(args.set)
    if args.data is None:
        note_domains_left_on_benchmark(protocol, ("test",), overrides)
    if args.split is not None and args.data is None:
        raise DataLayoutError(
            f"--split {args.split} picks a split of a --data folder; without --data the protocol's own test cases "
            "are scored."
        )
    domains = test_cases(protocol, overrides, args.data, args.split or "train")
    check_reference_labels(domains)
    # a --data folder is never where the checkpoint was trained: its cases are checked against the training ones
    read_elsewhere = {**overrides, "--data": str(args.data)} if args.data is not None else overrides
    for checkpoint in args.checkpoint:
        if (warning := trained_anatomy_warning(checkpoint, domains, read_elsewhere)) is not None:
            console.print(warning, markup=False)
    scores = score_checkpoints(
        args.checkpoint, domains, protocol, args.device or default_device(), precision=args.encoder_precision
    )
    title = f"{protocol.name}: {protocol.description}" if args.data is None else f"{protocol.name} on {args.data}"
    console.print(write_report(scores, args.json, title, " ".join(["causal-sam-llm", *sys.argv[1:]])), markup=False)
    return 0
