"""`causal-sam-llm train`: train the decoder side on a protocol's training domains (LAD or a baseline)."""

import argparse
from pathlib import Path
from typing import get_args

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.common import (
    at_least_one,
    console,
    device_name,
    non_negative_int,
    note_domains_left_on_benchmark,
    parse_assignments,
    positive_float,
)
from causal_sam_llm.datasets.protocol import load_protocol, protocol_names
from causal_sam_llm.segmentation.checkpoint_io import read_checkpoint
from causal_sam_llm.segmentation.encoder_registry import default_device, encoder_names
from causal_sam_llm.segmentation.segmenter import Method
from causal_sam_llm.segmentation.trainer import TrainConfig, train


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", required=True, help=f"one of {', '.join(protocol_names())}, or a YAML path")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="override a protocol variable, e.g. --set benchmark=DIR or --set ct_root=/data/BTCV",
    )
    parser.add_argument("--device", type=device_name, default=None, help="cpu or cuda (default: cuda when available)")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help=summary("train"))
    add_protocol_arguments(parser)
    parser.add_argument("--method", choices=get_args(Method), default="lad")
    parser.add_argument("--epochs", type=at_least_one, default=TrainConfig.epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--lr", type=positive_float, default=None, help="learning rate (default: 3e-3; 1e-4 for full_decoder)"
    )
    parser.add_argument(
        "--slice-stride", type=at_least_one, default=TrainConfig.slice_stride, help="train on every k-th slice"
    )
    parser.add_argument(
        "--foreground-repeats",
        type=at_least_one,
        default=TrainConfig.foreground_repeats,
        help="use slices with foreground this many times per epoch (small targets, e.g. brain tumours)",
    )
    parser.add_argument(
        "--grad-clip",
        type=_clip_norm,
        default=TrainConfig.grad_clip,
        help=f"clip the gradient norm to this, or 'none' (default {TrainConfig.grad_clip}; shipped checkpoints: none)",
    )
    parser.add_argument(
        "--restyles", type=non_negative_int, default=TrainConfig.restyles, help="restyled views per anatomy"
    )
    parser.add_argument("--encoder", default="litemedsam", choices=encoder_names(), help="frozen SAM-family encoder")
    parser.add_argument(
        "--encoder-checkpoint",
        default=None,
        help="its weights file where no package ships them: sam_vit_b_01ec64.pth (sam_vit_b), medsam_vit_b.pth "
        "(medsam_vit_b); the trained checkpoint records the path",
    )
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/PROTOCOL/METHOD)")
    parser.add_argument("--vlm-model", default=None, help="vision-language GGUF: it writes the style sentences")
    parser.add_argument("--vlm-mmproj", default=None, help="its mmproj (vision projector) GGUF")
    parser.set_defaults(run=run)


def _clip_norm(text: str) -> float | None:
    return None if text.lower() == "none" else positive_float(text)


def run(args: argparse.Namespace) -> int:
    config = TrainConfig(
        protocol=args.protocol,
        method=args.method,
        encoder=args.encoder,
        encoder_weights=args.encoder_checkpoint,
        epochs=args.epochs,
        seed=args.seed,
        learning_rate=args.lr,
        slice_stride=args.slice_stride,
        restyles=args.restyles,
        foreground_repeats=args.foreground_repeats,
        grad_clip=args.grad_clip,
        variables=parse_assignments(args.set),
        vlm_model=args.vlm_model,
        vlm_mmproj=args.vlm_mmproj,
    )
    note_domains_left_on_benchmark(load_protocol(args.protocol), ("train", "val"), config.variables)
    out = args.out or Path("runs") / Path(args.protocol).stem / args.method
    path = train(config, out, args.device or default_device(), command=args.words)
    meta = read_checkpoint(path)
    counts = meta["parameters"]
    console.print(f"checkpoint: {path}")
    console.print(
        f"trainable {counts['trainable']:,} of {counts['frozen'] + counts['trainable']:,} parameters "
        f"({100 * counts['trainable_fraction']:.2f}%); {meta['training_slices']} training slices; "
        f"{meta['train_seconds'] / 60:.1f} min ({meta['embedding_seconds'] / 60:.1f} min embedding)"
    )
    return 0
