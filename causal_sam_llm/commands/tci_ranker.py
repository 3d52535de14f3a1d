"""`causal-sam-llm train-tci-ranker`: learn the TCI response's read-out of its evidence (segmentation/tci_ranker.py)
from the simulated clinician's corrections of the checkpoint's training cases, report how it places them on held-out
training cases against the evidence's fixed sum, and add it to the checkpoint in place."""

import argparse
import sys
from pathlib import Path

import torch

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.common import at_least_one, console
from causal_sam_llm.commands.tci import checkpoint_training_cases
from causal_sam_llm.errors import DataLayoutError
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation.checkpoint_io import add_to_checkpoint, load_generator, load_segmenter
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.tci_ranker_training import (
    EPOCHS,
    ROUNDS,
    case_folds,
    collect_examples,
    fit_ranker,
    share_set_right,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    learn = subparsers.add_parser("train-tci-ranker", help=summary("train-tci-ranker"))
    learn.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint `train-tci` has run on")
    learn.add_argument("--epochs", type=at_least_one, default=EPOCHS)
    learn.add_argument("--rounds", type=at_least_one, default=ROUNDS, help="simulated corrections per training case")
    learn.add_argument("--folds", type=int, default=2, help="held-out check before the final fit (0 or 1: none)")
    learn.add_argument("--seed", type=int, default=0)
    learn.add_argument("--set", action="append", default=[], metavar="NAME=PATH")
    learn.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with torch.no_grad():  # not set globally: the CLI may run in-process (tests), where training follows
        return _learn(args)


def _learn(args: argparse.Namespace) -> int:
    segmenter, meta = load_segmenter(args.checkpoint)
    generator = load_generator(args.checkpoint, len(segmenter.classes))
    cases = checkpoint_training_cases(meta, args.set)  # the segmenter's own, unless --set says otherwise
    embedder = SliceEmbedder(segmenter.backbone, EmbeddingCache(embedding_cache_dir()))
    examples = collect_examples(segmenter, generator, embedder, cases, args.rounds)
    if not any(bool(example.movable.any()) for example in examples):
        raise DataLayoutError(
            f"the simulated clinician asked no grow or shrink that moves a voxel on the {len(cases)} training cases: "
            "nothing to learn from (more cases, or more --rounds)"
        )
    console.print(f"{len(examples)} corrections of {len(cases)} training cases")
    held_out = []
    if args.folds > 1:
        for fold, held in enumerate(case_folds(examples, args.folds, args.seed)):
            fitted = fit_ranker([e for e in examples if e.case_id not in held], args.epochs, args.seed)
            kept = [e for e in examples if e.case_id in held]
            fixed, learned = share_set_right(kept, None), share_set_right(kept, fitted)
            held_out.append({"fold": fold, "cases": len(held), "fixed_sum": fixed, "ranker": learned})
            console.print(
                f"fold {fold} ({len(held)} held-out cases): moved voxels set right {fixed[0]:.1f} % with the fixed "
                f"sum, {learned[0]:.1f} % with the ranker (net {fixed[1]} → {learned[1]} voxels)"
            )
    ranker = fit_ranker(examples, args.epochs, args.seed)
    fitted_share = share_set_right(examples, ranker)
    add_to_checkpoint(
        args.checkpoint,
        {
            "tci_ranker": {k: v.detach().cpu() for k, v in ranker.state_dict().items()},
            "tci_ranker_meta": {
                "corrections": len(examples),
                "cases": len(cases),
                "epochs": args.epochs,
                "rounds": args.rounds,
                "seed": args.seed,
                "held_out": held_out,
                "fitted_share_right": fitted_share[0],
                "command": " ".join(["causal-sam-llm", *sys.argv[1:]]),
            },
        },
    )
    console.print(
        f"TCI ranker learned ({sum(p.numel() for p in ranker.parameters()):,} parameters; {fitted_share[0]:.1f} % "
        f"of the moved voxels set right on the corrections it was fitted to) and stored in {args.checkpoint}"
    )
    return 0
