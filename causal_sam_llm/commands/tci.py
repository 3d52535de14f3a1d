"""`causal-sam-llm train-tci` (learn the intervention response for a trained checkpoint) and `eval-tci` (simulated
corrections on OOD cases: learned TCI vs blind edit vs none, and an in-gate oracle as the upper bound)."""

import argparse
import sys
from pathlib import Path

import torch

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.cli_arguments import file_path
from causal_sam_llm.commands.common import (
    at_least_one,
    console,
    evaluation_domains,
    non_negative_float,
    note_domains_left_on_benchmark,
    parse_assignments,
    positive_float,
    scored_checkpoint,
)
from causal_sam_llm.commands.train import add_protocol_arguments
from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation import box_evidence, tci_gate
from causal_sam_llm.segmentation.checkpoint_io import add_to_checkpoint, load_generator, load_segmenter
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.encoder_registry import default_device
from causal_sam_llm.segmentation.intensity_evidence import INTENSITY_WEIGHT
from causal_sam_llm.segmentation.letterbox import MASK_GRID
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator
from causal_sam_llm.segmentation.tci_evaluation import evaluate_tci, write_tci_report
from causal_sam_llm.segmentation.tci_training import train_tci
from causal_sam_llm.segmentation.text_encoder import shared_text_encoder
from causal_sam_llm.segmentation.training_overlap import trained_anatomy_warning, trained_folders, training_cases
from causal_sam_llm.segmentation.training_set import build_training_slices


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    learn = subparsers.add_parser("train-tci", help=summary("train-tci"))
    learn.add_argument(
        "--checkpoint", type=Path, required=True, help="a trained LAD checkpoint; the response is added in place"
    )
    learn.add_argument("--steps", type=at_least_one, default=400, help="training steps")
    learn.add_argument("--seed", type=int, default=0, help="random seed")
    learn.add_argument(
        "--set", action="append", default=[], metavar="NAME=PATH", help="a data set's folder (repeatable), as for train"
    )
    learn.set_defaults(run=run_train)
    score = subparsers.add_parser("eval-tci", help=summary("eval-tci"))
    add_protocol_arguments(score)
    score.add_argument(
        "--checkpoint", type=scored_checkpoint, required=True, help="a checkpoint with its TCI response, or its name"
    )
    score.add_argument("--rounds", type=at_least_one, default=3, help="simulated corrections per case")
    score.add_argument("--max-cases", type=at_least_one, default=None, help="per test domain")
    score.add_argument(
        "--json", type=file_path, required=True, help="results file; its .md table and .png curves go beside it"
    )
    score.add_argument(
        "--film",
        choices=["learned", "identity"],
        default="learned",
        help="identity: γ = 1, β = 0 from an untrained generator — the ablation of what training the response adds",
    )
    score.add_argument(
        "--ranker",
        choices=["learned", "none"],
        default="learned",
        help="none: the evidence's fixed sum places each correction's amount, as before the checkpoint's learned "
        "ranker (train-tci-ranker) — the ablation of what the ranker adds",
    )
    score.add_argument(
        "--intensity-weight",
        type=non_negative_float,
        default=INTENSITY_WEIGHT,
        help=f"weight of the image's intensity evidence in the learned response (default {INTENSITY_WEIGHT:g}; 0: the "
        "decoder's evidence alone)",
    )
    score.add_argument(
        "--box-weight",
        type=non_negative_float,
        default=box_evidence.BOX_WEIGHT,
        help="weight of the box-prompted pretrained decoder's logits in the learned response (default "
        f"{box_evidence.BOX_WEIGHT:g}; 0: none)",
    )
    score.add_argument(
        "--box-margin",
        type=non_negative_float,
        default=box_evidence.MARGIN_MM,
        help=f"how far (mm) the box prompting the pretrained decoder reaches beyond the organ (default "
        f"{box_evidence.MARGIN_MM:g})",
    )
    score.add_argument(
        "--gate-band",
        type=positive_float,
        default=tci_gate.GATE_BAND,
        help=f"how many times the commanded reach a grow or shrink may act from the boundary (default "
        f"{tci_gate.GATE_BAND:g}; 1: no deeper than a uniform move)",
    )
    score.add_argument(
        "--split",
        choices=["test", "train"],
        default="test",
        help="train: the training domains (where the intensity and box weights and the gate band were chosen), not "
        "the OOD tests",
    )
    score.set_defaults(run=run_eval)


def run_train(args: argparse.Namespace) -> int:
    segmenter, meta = load_segmenter(args.checkpoint)
    cases = checkpoint_training_cases(meta, args.set)
    embedder = SliceEmbedder(segmenter.backbone, EmbeddingCache(embedding_cache_dir()))
    data = build_training_slices(
        cases, segmenter.classes, embedder, shared_text_encoder(), meta["config"]["slice_stride"], restyles=0
    )
    z, rows, cols = cases[0].axial_spacing_mm()
    scale = max(cases[0].axial_image().shape[1:]) / MASK_GRID  # mm per pixel of the grid the response acts on
    generator = train_tci(segmenter, data, (z, rows * scale, cols * scale), args.steps, seed=args.seed)
    add_to_checkpoint(
        args.checkpoint,
        {
            "tci": {k: v.detach().cpu() for k, v in generator.state_dict().items()},
            "tci_meta": {
                "steps": args.steps,
                "seed": args.seed,
                "encoder_calls": embedder.encoder_calls,
                "command": " ".join(["causal-sam-llm", *sys.argv[1:]]),
            },
        },
    )
    console.print(
        f"TCI response learned ({sum(p.numel() for p in generator.parameters()):,} parameters) "
        f"and stored in {args.checkpoint}"
    )
    return 0


def checkpoint_training_cases(meta: dict, assignments: list[str]) -> list:
    """The cases a checkpoint's segmenter was trained on, unless `assignments` (--set NAME=PATH) say otherwise;
    which of them the built-in benchmark still supplies is said."""
    overrides = parse_assignments(assignments)
    variables = {**trained_folders(meta), **overrides}
    note_domains_left_on_benchmark(load_protocol(meta["protocol"]), ("train",), variables)
    return training_cases(meta, overrides)


def run_eval(args: argparse.Namespace) -> int:
    protocol = load_protocol(args.protocol)
    segmenter, _ = load_segmenter(args.checkpoint, args.device or default_device(), expected_classes=protocol.classes)
    if args.film == "identity":
        generator = InterventionFilmGenerator(len(segmenter.classes)).eval()
    else:
        generator = load_generator(args.checkpoint, len(segmenter.classes))
    if args.ranker == "none":
        generator.ranker = None
    generator = generator.to(next(segmenter.parameters()).device)
    domains = evaluation_domains(protocol, args.split, args.set, args.max_cases)
    if warning := trained_anatomy_warning(args.checkpoint, domains, parse_assignments(args.set)):
        console.print(warning, markup=False)
    embedder = SliceEmbedder(segmenter.backbone, EmbeddingCache(embedding_cache_dir()))
    with torch.inference_mode(), tci_gate.gate_band(args.gate_band), box_evidence.box_margin(args.box_margin):
        rows = evaluate_tci(
            segmenter,
            generator,
            embedder,
            domains,
            args.rounds,
            intensity_weight=args.intensity_weight,
            box_weight=args.box_weight,
        )
    title = f"TCI on {protocol.name} {args.split} domains"
    if args.film == "identity":
        title += " — ablation: the learned row uses an untrained (identity) FiLM"
    if args.ranker == "none":
        title += " — ablation: the learned row places each amount by the evidence's fixed sum, no learned ranker"
    console.print(write_tci_report(rows, args.json, title, " ".join(["causal-sam-llm", *sys.argv[1:]])), markup=False)
    return 0
