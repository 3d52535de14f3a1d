"""How many simulated corrections per training case the learned TCI ranker learns from: for each number of rounds
R given, rankers trained on the first R rounds of each training case's trajectory, scored on the held-out cases'
first 3 rounds (what eval-tci asks of a case), by case in the same folds `train-tci-ranker` uses — side by side in
one run, the trajectories collected once (the checkpoint's own ranker set aside while collecting, as the command
does). The shipped default (`tci_ranker_training.ROUNDS`) was chosen by this bench.

With `--split test` the same is done on the protocol's test cases (ct_to_mr: MR), beside the checkpoint's own
ranker (learned on the training cases) scored on the same held-out cases: a diagnostic, not a way to train what ships
— how much of what a ranker could learn about placing on the test domain the shipped one already knows.

Run: `python -m causal_sam_llm.bench.tci_ranker_rounds --checkpoint trained/ct_to_mr/lad.pt [--rounds 3 6]
[--split test]` (about 10 minutes for ct_to_mr's 24 CT training cases on 2 CPU cores, with their embeddings cached)
"""

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.commands.tci import checkpoint_training_cases
from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation.checkpoint_io import load_generator, load_segmenter
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.tci_ranker import PlacementRanker
from causal_sam_llm.segmentation.tci_ranker_training import (
    EPOCHS,
    RankerExample,
    case_folds,
    collect_examples,
    fit_ranker,
    share_set_right,
)

SCORED_ROUNDS = 3  # eval-tci's corrections per case


def first_rounds(examples: Sequence[RankerExample], rounds: int) -> list[RankerExample]:
    """The examples from each case's first `rounds` rounds."""
    return [example for example in examples if example.correction.round_index < rounds]


def fold_rows(
    examples: Sequence[RankerExample],
    rounds: Sequence[int],
    folds: int,
    seed: int,
    shipped: PlacementRanker | None = None,
) -> list[list[str]]:
    """Per fold: the held-out cases' first SCORED_ROUNDS rounds placed by the fixed sum, by `shipped` (if given)
    and by a ranker trained on the other cases' first R rounds, for each R."""
    scored = first_rounds(examples, SCORED_ROUNDS)
    rows = []
    for fold, held in enumerate(case_folds(scored, folds, seed)):
        kept = [example for example in scored if example.case_id in held]
        cells = [f"{fold} ({len(held)} cases, {len(kept)} corrections)", _share(share_set_right(kept, None))]
        if shipped is not None:
            cells.append(_share(share_set_right(kept, shipped)))
        for count in rounds:
            training = [example for example in first_rounds(examples, count) if example.case_id not in held]
            ranker = fit_ranker(training, EPOCHS, seed)
            cells.append(f"{_share(share_set_right(kept, ranker))} (from {len(training)})")
        rows.append(cells)
    return rows


def _share(result: tuple[float, int]) -> str:
    return f"{result[0]:.1f} % (net {result[1]})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--rounds", type=int, nargs="+", default=[3, 6])
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=["train", "test"], default="train")
    parser.add_argument("--out", type=Path, default=None, help="default bench/results/tci_ranker_rounds[_test].md")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    segmenter, meta = load_segmenter(args.checkpoint, "cpu")
    generator = load_generator(args.checkpoint, len(segmenter.classes))
    testing = args.split == "test"
    shipped = generator.ranker if testing else None
    if testing and shipped is None:  # before the collection's minutes
        raise SystemExit(f"{args.checkpoint} has no learned ranker to compare with: run train-tci-ranker first")
    cases = load_protocol(meta["protocol"]).case_list("test") if testing else checkpoint_training_cases(meta, [])
    embedder = SliceEmbedder(segmenter.backbone, EmbeddingCache(embedding_cache_dir()))
    examples = collect_examples(segmenter, generator, embedder, cases, max(args.rounds))
    rows = fold_rows(examples, args.rounds, args.folds, args.seed, shipped)
    header = [
        "held-out fold",
        "fixed sum",
        *(["the checkpoint's ranker (learned on the training cases)"] if testing else []),
        *(f"ranker trained on {count} rounds per case" for count in args.rounds),
    ]
    out = args.out or Path(f"bench/results/tci_ranker_rounds{'_test' if testing else ''}.md")
    write_section(
        out,
        f"How many simulated corrections per {'test' if testing else 'training'} case the TCI ranker learns from",
        command_line("causal_sam_llm.bench.tci_ranker_rounds", argv),
        f"{len(cases)} {args.split} cases; each fold's held-out cases' first {SCORED_ROUNDS} rounds, % of the moved "
        "voxels set right (net right − wrong voxels); in brackets, the corrections the ranker was trained on.\n\n"
        + markdown_table(header, rows),
    )
    print(out.read_text())


if __name__ == "__main__":
    main()
