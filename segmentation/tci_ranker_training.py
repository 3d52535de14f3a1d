"""Training the learned ranker (tci_ranker.py) on the training domain's simulated corrections.

Each example is one correction the simulated clinician asks of a training case along the learned trajectory (with
the evidence's fixed sum placing them: tci_trajectory.py), with what the response weighed and the reference. The
ranker learns, on the voxels the correction may move (gated, not yet organ for a grow, organ for a shrink), which
ones the reference holds: a gate-weighted logistic loss. How well it places is measured as the placement bench
does: the same commanded amount placed by its ranking, the share of the moved voxels set right."""

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch
from rich.progress import Progress
from torch.nn import functional

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.segmentation.box_evidence import BOX_WEIGHT
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.intensity_evidence import INTENSITY_WEIGHT
from causal_sam_llm.segmentation.intervention import GROWING
from causal_sam_llm.segmentation.segmenter import PromptFreeSegmenter
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator
from causal_sam_llm.segmentation.tci_placement import OPEN, learned_ranking_applies, placed
from causal_sam_llm.segmentation.tci_ranker import BLOCK, MEMBERS, PlacementRanker, RankerMember, ranked_in_gate
from causal_sam_llm.segmentation.tci_trajectory import PlacedCorrection, placed_corrections

LEARNING_RATE = 3e-3
EPOCHS = 30  # chosen by 2-fold cross-validation over the training cases (README, "TCI": `train-tci-ranker`)
# simulated corrections per training case: trained on 6, the held-out cases' first 3 were placed better than when
# trained on 3 (78.0 → 81.2 and 81.0 → 81.9 % set right, the same 2 folds; results/tci_history.md, step 22)
ROUNDS = 6


class RankerExample(NamedTuple):
    """One correction as the ranker reads it: on the rows and columns its gate spans (`span`), the features on
    blocks and the rest on pixels."""

    case_id: str
    correction: PlacedCorrection
    span: tuple[slice, slice]
    features: torch.Tensor  # (slices, FEATURES, rows / BLOCK, cols / BLOCK)
    summed: torch.Tensor  # the evidence's fixed sum
    movable: torch.Tensor  # bool: the voxels the correction may move
    truth: torch.Tensor  # the reference there, 0/1
    weight: torch.Tensor  # the gate


def example_of(case_id: str, correction: PlacedCorrection) -> RankerExample:
    terms, command = correction.terms, correction.command
    growing = command.action in GROWING
    summed = terms.combined(INTENSITY_WEIGHT, BOX_WEIGHT)  # as the response weighs them by default
    span, features = terms.learned_features(summed, command, correction.spacing_mm, BLOCK)
    inside = terms.in_plane(*span)
    member = inside.old > 0.5
    movable = (inside.weight > OPEN) & (~member if growing else member)
    truth = correction.truth[terms.slices][:, span[0], span[1]]
    return RankerExample(
        case_id,
        correction,
        span,
        torch.from_numpy(features),
        torch.from_numpy(summed[:, span[0], span[1]].astype(np.float32)),
        torch.from_numpy(movable),
        torch.from_numpy(truth.astype(np.float32)),
        torch.from_numpy(inside.weight.astype(np.float32)),
    )


def collect_examples(
    segmenter: PromptFreeSegmenter,
    generator: InterventionFilmGenerator,
    embedder: SliceEmbedder,
    cases: Sequence[Case],
    rounds: int,
) -> list[RankerExample]:
    """Every grow or shrink the simulated clinician asks of `cases` (up to `rounds` each), placed by the evidence's
    fixed sum (the generator's ranker, if any, is set aside while collecting)."""
    kept, generator.ranker = generator.ranker, None
    examples: list[RankerExample] = []
    try:
        with Progress() as bar:
            task = bar.add_task("simulated corrections of the training cases", total=len(cases))
            for case in cases:
                for correction in placed_corrections(segmenter, generator, embedder, case, rounds):
                    examples.append(example_of(case.case_id, correction))
                bar.advance(task)
    finally:
        generator.ranker = kept
    return examples


def fit_ranker(examples: Sequence[RankerExample], epochs: int = EPOCHS, seed: int = 0) -> PlacementRanker:
    """A ranker of MEMBERS members trained on `examples`, member k from seed `seed + k`."""
    if not any(bool(example.movable.any()) for example in examples):
        raise ValueError("no correction among the examples moves a voxel: nothing to learn from")
    with Progress() as bar:
        task = bar.add_task("training the ranker (epochs, all members)", total=epochs * MEMBERS)
        members = [_fit_member(examples, epochs, seed + k, lambda: bar.advance(task)) for k in range(MEMBERS)]
    return PlacementRanker(members).eval()


def _fit_member(
    examples: Sequence[RankerExample], epochs: int, seed: int, after_epoch: Callable[[], object]
) -> RankerMember:
    """One member trained on `examples`, one correction per step, in a seeded order."""
    torch.manual_seed(seed)
    order = np.random.default_rng(seed)
    member = RankerMember()
    optimizer = torch.optim.Adam(member.parameters(), lr=LEARNING_RATE)
    with torch.enable_grad():
        for _ in range(epochs):
            for index in order.permutation(len(examples)):
                example = examples[index]
                if not example.movable.any():
                    continue
                optimizer.zero_grad()
                ranking_loss(member, example).backward()
                optimizer.step()
            after_epoch()
    return member.eval()


def ranking_loss(ranker: RankerMember, example: RankerExample) -> torch.Tensor:
    """Gate-weighted logistic loss on the movable voxels: is each one the organ's in the reference?"""
    scores = ranker(example.features, example.summed)[example.movable]
    weight = example.weight[example.movable]
    loss = functional.binary_cross_entropy_with_logits(scores, example.truth[example.movable], reduction="none")
    return (loss * weight).sum() / weight.sum()


def placement_counts(example: RankerExample, ranker: PlacementRanker | None) -> tuple[int, int]:
    """(voxels moved, of them set right) when the correction's amount is placed by `ranker` (None: the fixed sum)."""
    correction = example.correction
    ranking = correction.terms.combined(INTENSITY_WEIGHT, BOX_WEIGHT).astype(np.float64)
    if ranker is not None and learned_ranking_applies(correction.terms):  # as the correction ranks them
        gate = correction.terms.weight > OPEN
        ranking = ranked_in_gate(ranker, example.features.numpy(), ranking, gate, example.span, BLOCK)
    after = placed(correction.command.action, correction.terms, ranking, correction.before) > 0.5
    moved = after != (correction.before > 0.5)
    return int(moved.sum()), int((moved & (after == correction.truth)).sum())


def share_set_right(examples: Sequence[RankerExample], ranker: PlacementRanker | None) -> tuple[float, int]:
    """(% of the moved voxels set right, net right − wrong voxels) over `examples`."""
    moved = right = 0
    for example in examples:
        count, correct = placement_counts(example, ranker)
        moved, right = moved + count, right + correct
    return 100 * right / max(moved, 1), 2 * right - moved


def case_folds(examples: Sequence[RankerExample], folds: int, seed: int = 0) -> list[set[str]]:
    """The training cases split into `folds` groups of held-out cases (a case's corrections stay together)."""
    cases = sorted({example.case_id for example in examples})
    np.random.default_rng(seed).shuffle(cases)
    return [set(cases[k::folds]) for k in range(folds)]
