"""Where the learned TCI puts a correction's commanded amount, ranked by its learned ranker (where the checkpoint has
one: `train-tci-ranker`), by each evidence source, and by variants of their fixed sum, on the same corrections: the
simulated clinician's up to 3 corrections per case along the learned trajectory eval-tci scores (the same commands,
the same masks), each variant placing the same amount in the same gate (a removal that deletes separate pieces weighs
no evidence and is left out). For each: the voxels moved, the share of them set right, and the net (right − wrong) —
what a correction gains. The reference row ranks by the reference itself (wrong voxels first): the most any ranking
can place right with those gates and amounts. It measures ranking only: a variant's placement is not carried into the
next correction.

Run: `python -m causal_sam_llm.bench.tci_placement --checkpoint trained/ct_to_mr/lad.pt [--split train]`
(about 2 minutes for ct_to_mr's 12 MR test cases on 2 CPU cores, 4 for the 24 CT training cases, with their
embeddings cached)
"""

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress

from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation.box_evidence import BOX_WEIGHT
from causal_sam_llm.segmentation.checkpoint_io import load_generator, load_segmenter
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.intensity_evidence import INTENSITY_WEIGHT
from causal_sam_llm.segmentation.intervention import GROWING
from causal_sam_llm.segmentation.tci_placement import PlacementEvidence, crossing_offsets, offset_for_amount, placed
from causal_sam_llm.segmentation.tci_ranker_training import example_of
from causal_sam_llm.segmentation.tci_ranker_training import placement_counts as learned_counts
from causal_sam_llm.segmentation.tci_trajectory import placed_corrections

OFFSET_CAP = 10.0  # logits: beyond this shift the evidence disagrees with the command
LOGIT_FAR = 1e3  # a ranking no voxel crosses 0.5 from
LEARNED_ROW = "learned ranker (shipped where the checkpoint has one): its read-out of the evidence"

Ranking = Callable[[PlacementEvidence, np.ndarray, str], np.ndarray]  # (terms, reference on terms.slices, action)


def fixed_sum(terms: PlacementEvidence, _reference: np.ndarray, _action: str) -> np.ndarray:
    return terms.combined(INTENSITY_WEIGHT, BOX_WEIGHT)


def _source(name: str, weight: float) -> Ranking:
    return lambda terms, _reference, _action: weight * getattr(terms, name)


def _intensity_ties_by_decoder(terms: PlacementEvidence, _reference: np.ndarray, action: str) -> np.ndarray:
    """The intensity log-likelihood ratio alone, exactly the commanded amount moved: voxels it ties (one intensity bin,
    or every voxel where the organ is too small to fit it) are ordered by the decoder. Through the shared offset a
    tied bin would cross whole (on the brain the row had moved 20 times the amount)."""
    ratio = np.zeros_like(terms.decoder) if terms.intensity is None else terms.intensity
    growing = action in GROWING
    crossing = crossing_offsets(action, ratio, terms.weight, terms.old).ravel()
    movable = np.flatnonzero(np.isfinite(crossing))
    toward = 1.0 if growing else -1.0  # growing: the smallest offset first, the most organ-like decoder next
    order = np.lexsort((-toward * terms.decoder.ravel()[movable], toward * crossing[movable]))
    chosen = movable[order[: terms.amount]]
    ranking = np.full(terms.decoder.shape, -LOGIT_FAR if growing else LOGIT_FAR)
    ranking.flat[chosen] = LOGIT_FAR if growing else -LOGIT_FAR
    return ranking


def _without_decoder(terms: PlacementEvidence, _reference: np.ndarray, _action: str) -> np.ndarray:
    return INTENSITY_WEIGHT * terms.intensity + BOX_WEIGHT * terms.box


def _by_reference(terms: PlacementEvidence, reference: np.ndarray, action: str) -> np.ndarray:
    """The reference's voxels most organ-like, the fixed sum in order within each side (a constant would tie
    and cross all at once)."""
    return np.where(reference, 20.0, -20.0) + np.tanh(fixed_sum(terms, reference, action) / 10)


def _amount_per_slice_from_reference(terms: PlacementEvidence, reference: np.ndarray, action: str) -> np.ndarray:
    """The fixed sum, each slice spending the share of the amount the reference says is wrong there: how much
    of the loss is between slices (the rest is in-plane)."""
    ranking, growing = fixed_sum(terms, reference, action), action in GROWING
    member = terms.old > 0.5
    wrong = ((~member & reference) if growing else (member & ~reference)) & (terms.weight > 1e-3)
    per_slice = wrong.sum(axis=(1, 2)).astype(float)
    shares = per_slice / per_slice.sum() if per_slice.sum() else np.full(len(per_slice), 1 / len(per_slice))
    shifted = ranking.copy()
    for z, share in enumerate(shares):
        amount = round(share * terms.amount)
        if amount == 0:  # nothing to move on this slice: ranked out of the commanded direction's reach
            shifted[z] = -LOGIT_FAR if growing else LOGIT_FAR
            continue
        offset = offset_for_amount(action, ranking[z : z + 1], terms.weight[z : z + 1], terms.old[z : z + 1], amount)
        shifted[z] = ranking[z] + terms.weight[z] * offset
    return shifted


def _amount_capped(terms: PlacementEvidence, reference: np.ndarray, action: str) -> np.ndarray:
    """The fixed sum with its shift capped at OFFSET_CAP logits: fewer voxels than commanded where the
    evidence disagrees."""
    ranking = fixed_sum(terms, reference, action)
    offset = offset_for_amount(action, ranking, terms.weight, terms.old, terms.amount)
    capped = min(offset, OFFSET_CAP) if action in GROWING else max(offset, -OFFSET_CAP)
    return ranking + terms.weight * capped


# name → (ranking, whether it spends the amount itself rather than through the shared offset)
VARIANTS: dict[str, tuple[Ranking, bool]] = {
    "fixed sum: decoder + 4 × intensity + box": (fixed_sum, False),
    "FiLM-modulated decoder logits alone": (_source("decoder", 1.0), False),
    "intensity log-likelihood ratio alone (ties ordered by the decoder)": (_intensity_ties_by_decoder, True),
    "box-prompted pretrained decoder alone": (_source("box", 1.0), False),
    "4 × intensity + box, no decoder": (_without_decoder, False),
    "fixed sum, each slice's share of the amount from the reference": (_amount_per_slice_from_reference, True),
    f"fixed sum, shift capped at {OFFSET_CAP:g} logits (fewer voxels where evidence disagrees)": (_amount_capped, True),
    "the reference (wrong voxels first): the most any ranking can do": (_by_reference, False),
}


def placement_counts(
    terms: PlacementEvidence, before: np.ndarray, reference: np.ndarray, action: str, ranking: Ranking, spent: bool
) -> tuple[int, int]:
    """(voxels moved, of them set right) when `ranking` places this correction's amount. `before`: the organ's old
    probabilities in the window; `reference`: its reference mask there."""
    chosen = ranking(terms, reference[terms.slices], action)
    after = placed(action, terms._replace(amount=None) if spent else terms, chosen, before) > 0.5
    moved = after != (before > 0.5)
    return int(moved.sum()), int((moved & (after == reference)).sum())


def score_case(segmenter, generator, embedder, case: Case, rounds: int) -> dict[str, np.ndarray]:
    """Per row (`row_names`), (moved, right) summed over this case's learned corrections."""
    totals = {name: np.zeros(2, int) for name in row_names(generator)}
    for correction in placed_corrections(segmenter, generator, embedder, case, rounds):
        terms, action = correction.terms, correction.command.action
        for name, (ranking, spent) in VARIANTS.items():
            totals[name] += placement_counts(terms, correction.before, correction.truth, action, ranking, spent)
        if generator.ranker is not None:
            totals[LEARNED_ROW] += learned_counts(example_of(case.case_id, correction), generator.ranker)
    return totals


def row_names(generator) -> list[str]:
    """The learned ranker's row first, where the checkpoint has one (`train-tci-ranker`), then VARIANTS."""
    return ([LEARNED_ROW] if generator.ranker is not None else []) + list(VARIANTS)


def default_report(protocol: str, split: str) -> Path:
    """Where a run's table goes unless `--out` says: ct_to_mr's under the split's name (README's), any other
    protocol's under its own name too, so that one protocol's run never replaces another's."""
    name = split if protocol == "ct_to_mr" else f"{protocol}_{split}"
    return Path(f"bench/results/tci_placement_{name}.md")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--protocol", default="ct_to_mr")
    parser.add_argument("--split", choices=["test", "train"], default="test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default bench/results/tci_placement_<split>.md for ct_to_mr, else tci_placement_<protocol>_<split>.md",
    )
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    segmenter, _ = load_segmenter(args.checkpoint, "cpu")
    generator = load_generator(args.checkpoint, len(segmenter.classes))
    embedder = SliceEmbedder(segmenter.backbone, EmbeddingCache(embedding_cache_dir()))
    cases = load_protocol(args.protocol).case_list(args.split)
    totals = {name: np.zeros(2, int) for name in row_names(generator)}
    with Progress() as bar:
        task = bar.add_task("corrections placed", total=len(cases))
        for case in cases:
            for name, counts in score_case(segmenter, generator, embedder, case, args.rounds).items():
                totals[name] += counts
            bar.advance(task)
    out = args.out or default_report(args.protocol, args.split)
    rows = [
        [name, f"{moved}", f"{100 * right / max(moved, 1):.1f}", f"{2 * right - moved}"]
        for name, (moved, right) in totals.items()
    ]
    write_section(
        out,
        f"Where the learned TCI places the commanded amount: {args.protocol} {args.split} cases",
        command_line("causal_sam_llm.bench.tci_placement", argv),
        f"{len(cases)} cases, the simulated clinician's corrections along the learned trajectory (grows and shrinks of "
        "an organ present; smoothing has no amount), each variant placing the same amount in the same gate.\n\n"
        + markdown_table(["ranking", "voxels moved", "set right %", "net voxels set right (right − wrong)"], rows),
    )
    print(out.read_text())


if __name__ == "__main__":
    main()
