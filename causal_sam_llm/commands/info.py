"""`causal-sam-llm info`: which encoder, which weights (sha256), which device, how many parameters are trained;
`--shipped`: what each checkpoint shipped in the package was trained with (its stored counts, times and command)."""

import argparse
from pathlib import Path

from rich import box
from rich.table import Table

from causal_sam_llm import __version__
from causal_sam_llm.commands import summary
from causal_sam_llm.commands.common import add_encoder_arguments, console
from causal_sam_llm.segmentation.backbone import resolve_precision
from causal_sam_llm.segmentation.checkpoint_io import read_checkpoint, shipped_checkpoints
from causal_sam_llm.segmentation.encoder_registry import build_backbone, default_device
from causal_sam_llm.segmentation.parameters import count_parameters
from causal_sam_llm.segmentation.segmenter import build_segmenter
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator
from causal_sam_llm.segmentation.tci_ranker import PlacementRanker

ABDOMEN_CLASSES = ["liver", "spleen", "right_kidney", "left_kidney"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help=summary("info"))
    add_encoder_arguments(parser)
    parser.add_argument(
        "--shipped",
        action="store_true",
        help="list the shipped checkpoints instead: trainable parameters, training slices and minutes, command",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.shipped:
        shipped = read_shipped(shipped_checkpoints())  # each read once, for the table and the commands
        console.print(shipped_table(shipped))
        console.print("trained with:")
        console.print(shipped_commands(shipped), markup=False, highlight=False)
        return 0
    device = args.device or default_device()
    backbone = build_backbone(args.encoder, args.checkpoint, device)
    counts = count_parameters(backbone)
    segmenter = count_parameters(build_segmenter(backbone, ABDOMEN_CLASSES, "lad"))
    response = tci_response_parameters(len(ABDOMEN_CLASSES))
    with_response = segmenter.trainable + response
    table = Table(title=f"causal-sam-llm {__version__}", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = [
        ("encoder", f"{backbone.spec.name}: {backbone.spec.description}"),
        ("input", f"{backbone.spec.input_size}×{backbone.spec.input_size} → 256×64×64 embedding"),
        ("weights", str(backbone.weights_path)),
        ("weights sha256", backbone.weights_sha256),
        ("device", device),
        ("encoder precision", f"fp32 for train/eval; the agent uses {resolve_precision('auto', device)} (auto)"),
        ("encoder (frozen)", counts.describe()),
        ("segmenter frozen", f"{segmenter.frozen:,}"),
        ("segmenter trainable", f"{segmenter.trainable:,} (adapter, LoRA, organ tokens and heads)"),
        ("trainable fraction", f"{100 * segmenter.trainable_fraction:.2f}% (budget: under 8%)"),
        ("TCI response", f"{response:,} (FiLM generator and learned ranker: train-tci, train-tci-ranker)"),
        (
            "trainable with TCI",
            f"{with_response:,}: {100 * with_response / (segmenter.total + response):.2f}% (budget: under 8%)",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    return 0


def tci_response_parameters(organs: int) -> int:
    """What the TCI response trains besides the segmenter: the FiLM generator and its ranker."""
    generator = InterventionFilmGenerator(organs)
    generator.ranker = PlacementRanker()
    return count_parameters(generator).trainable


def read_shipped(paths: list[Path]) -> list[tuple[Path, dict]]:
    """Each shipped checkpoint with what `train` stored in it."""
    return [(path, read_checkpoint(path)) for path in paths]


def shipped_table(shipped: list[tuple[Path, dict]]) -> Table:
    """One row per checkpoint, from what `train` stored in it (counts include LAD's projection heads while training;
    minutes: wall time from the first embedding to the checkpoint, `embed s` of it, as the machine ran then) and
    whether `train-tci-ranker` added a learned ranker. The commands follow the table (`shipped_commands`): as a
    column they folded every row into a dozen lines on an 80-column terminal."""
    table = Table(
        title="shipped checkpoints (causal_sam_llm/trained)",
        caption="ranker: the training corrections its learned TCI ranker read (none: the evidence's fixed sum)",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("checkpoint", no_wrap=True)
    table.add_column("trainable", min_width=9)  # "4,093,160": a count is never cut
    for column in ("slices", "train min", "embed s", "ranker"):
        table.add_column(column, overflow="fold")  # narrow terminals wrap at spaces
    for path, meta in shipped:
        counts = meta["parameters"]
        table.add_row(
            _name(path),
            f"{counts['trainable']:,} ({100 * counts['trainable_fraction']:.2f}%)",
            str(meta["training_slices"]),
            f"{meta['train_seconds'] / 60:.1f}",
            f"{meta['embedding_seconds']:.0f}",
            _ranker_cell(meta),
        )
    return table


def shipped_commands(shipped: list[tuple[Path, dict]]) -> str:
    """The command each shipped checkpoint was trained with, one paragraph each."""
    return "\n".join(f"{_name(path)}: {meta['command']}" for path, meta in shipped)


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _ranker_cell(meta: dict) -> str:
    """Whether `train-tci-ranker` ran on the checkpoint, and on how many of the training domain's corrections."""
    ranker = meta.get("tci_ranker_meta")
    return "none" if ranker is None else str(ranker["corrections"])
