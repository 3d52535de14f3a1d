"""`causal-sam-llm embed`: embed a DICOM slice (or a shipped sample) through the cache and report what it cost."""

import argparse
import time
from pathlib import Path

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.common import add_cache_arguments, add_encoder_arguments, at_least_one, console, open_cache
from causal_sam_llm.datasets.dicom_slice import read_dicom_slice
from causal_sam_llm.datasets.sample_images import IMAGE_SAMPLES, sample_path
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.encoder_registry import build_backbone, default_device
from causal_sam_llm.segmentation.intensity import CT_WINDOWS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("embed", help=summary("embed"))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("dicom", nargs="?", type=Path, help="a CT or MR DICOM file")
    source.add_argument("--sample", choices=IMAGE_SAMPLES, help="a shipped real image")
    parser.add_argument("--window", default="abdomen", choices=list(CT_WINDOWS), help="CT window preset")
    parser.add_argument(
        "--repeat", type=at_least_one, default=1, help="embed this many times (shows the cache at work)"
    )
    add_encoder_arguments(parser)
    add_cache_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path = args.dicom or sample_path(args.sample)
    image = read_dicom_slice(path)
    backbone = build_backbone(args.encoder, args.checkpoint, args.device or default_device())
    embedder = SliceEmbedder(backbone, open_cache(args))
    console.print(
        f"{path.name}: {image.modality} {image.pixels.shape[0]}×{image.pixels.shape[1]}, "
        f"spacing {image.spacing_mm[0]:.3f}×{image.spacing_mm[1]:.3f} mm"
    )
    for attempt in range(1, args.repeat + 1):
        calls_before, start = embedder.encoder_calls, time.perf_counter()
        result = embedder.embed(image.pixels, image.modality, args.window)
        elapsed = time.perf_counter() - start
        calls = embedder.encoder_calls - calls_before
        console.print(
            f"pass {attempt}: embedding {tuple(result.embeddings.shape)} in {elapsed * 1000:.0f} ms, "
            f"{calls} encoder call(s) ({'computed' if calls else 'from cache'}), "
            f"mean {result.embeddings.mean():+.4f}, std {result.embeddings.std():.4f}"
        )
    return 0
