"""`causal-sam-llm eval-smooth`: one learned `smooth` of each organ on OOD cases, with the image evidence and with the
decoder's logits alone (segmentation/smooth_evaluation.py)."""

import argparse
import sys

import torch

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.cli_arguments import file_path
from causal_sam_llm.commands.common import (
    at_least_one,
    console,
    evaluation_domains,
    parse_assignments,
    scored_checkpoint,
)
from causal_sam_llm.commands.train import add_protocol_arguments
from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation.checkpoint_io import load_generator, load_segmenter
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.encoder_registry import default_device
from causal_sam_llm.segmentation.smooth_evaluation import evaluate_smooth, write_smooth_report
from causal_sam_llm.segmentation.training_overlap import trained_anatomy_warning


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    score = subparsers.add_parser("eval-smooth", help=summary("eval-smooth"))
    add_protocol_arguments(score)
    score.add_argument(
        "--checkpoint", type=scored_checkpoint, required=True, help="a checkpoint with its TCI response, or its name"
    )
    score.add_argument("--max-cases", type=at_least_one, default=None, help="per domain")
    score.add_argument("--json", type=file_path, required=True, help="results file; its .md table goes beside it")
    score.add_argument(
        "--split", choices=["test", "train"], default="test", help="test: the OOD domains; train: the training ones"
    )
    score.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    protocol = load_protocol(args.protocol)
    segmenter, _ = load_segmenter(args.checkpoint, args.device or default_device(), expected_classes=protocol.classes)
    generator = load_generator(args.checkpoint, len(segmenter.classes)).to(next(segmenter.parameters()).device)
    domains = evaluation_domains(protocol, args.split, args.set, args.max_cases)
    if warning := trained_anatomy_warning(args.checkpoint, domains, parse_assignments(args.set)):
        console.print(warning, markup=False)
    embedder = SliceEmbedder(segmenter.backbone, EmbeddingCache(embedding_cache_dir()))
    with torch.inference_mode():
        rows = evaluate_smooth(segmenter, generator, embedder, domains)
    title = f"One smooth per organ on {protocol.name} {args.split} domains"
    command = " ".join(["causal-sam-llm", *sys.argv[1:]])
    console.print(write_smooth_report(rows, args.json, title, command), markup=False)
    return 0
