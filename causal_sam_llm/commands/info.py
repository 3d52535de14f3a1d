"""`causal-sam-llm info`: which encoder, which weights (sha256), which device, how many parameters are trained."""

import argparse

from rich.table import Table

from causal_sam_llm import __version__
from causal_sam_llm.commands.common import add_encoder_arguments, console
from causal_sam_llm.segmentation.encoder_registry import build_backbone, default_device
from causal_sam_llm.segmentation.parameters import count_parameters


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="print encoder, weights sha256, device and parameter counts")
    add_encoder_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    device = args.device or default_device()
    backbone = build_backbone(args.encoder, args.checkpoint, device)
    counts = count_parameters(backbone)
    table = Table(title=f"causal-sam-llm {__version__}", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = [
        ("encoder", f"{backbone.spec.name}: {backbone.spec.description}"),
        ("input", f"{backbone.spec.input_size}×{backbone.spec.input_size} → 256×64×64 embedding"),
        ("weights", str(backbone.weights_path)),
        ("weights sha256", backbone.weights_sha256),
        ("device", device),
        ("frozen parameters", f"{counts.frozen:,}"),
        ("trainable parameters", f"{counts.trainable:,}"),
        ("trainable fraction", f"{100 * counts.trainable_fraction:.2f}%"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    return 0
