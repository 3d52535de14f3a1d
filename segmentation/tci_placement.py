"""Where a correction's commanded amount goes: the evidence it weighs over its gate (`PlacementEvidence`), the ranking
of the gated voxels by that evidence — its fixed sum, or a learned ranker's read-out of the sum and its maps where
the FiLM generator carries one (tci_ranker.py) — and the voxels that ranking moves, exactly the amount (`placed`).
tci_apply.py gathers the evidence for a command; the placement bench (bench/tci_placement.py) and the ranker's
training (tci_ranker_training.py) place amounts with the same functions."""

from typing import NamedTuple

import numpy as np
from scipy.ndimage import label as connected_components
from scipy.special import expit, logit

from causal_sam_llm.segmentation.intervention import GROWING, Intervention, in_commanded_direction
from causal_sam_llm.segmentation.tci_ranker import PlacementRanker, gate_span, ranked_in_gate, ranker_features

OPEN = 1e-3  # a gate weight above this lets a voxel move


class PlacementEvidence(NamedTuple):
    """What decides where a correction's amount goes, on the window's slices its gate touches (`slices`)."""

    slices: np.ndarray
    decoder: np.ndarray  # the FiLM-modulated decoder logits
    intensity: np.ndarray | None  # the intensity log-likelihood ratio, unweighted (None: the organ is absent)
    box: np.ndarray | None  # the box-prompted pretrained decoder's logits, unweighted (None: absent or not weighed)
    weight: np.ndarray  # the gate (for a grow in an exclusive set, zero on other organs' voxels)
    old: np.ndarray  # the organ's probabilities before
    amount: int | None  # voxels to move (None: a smooth, or an absent organ, has no amount)

    def combined(self, intensity_weight: float, box_weight: float) -> np.ndarray:
        """The sum the commanded amount is ranked by: decoder logits + weighted intensity and box evidence."""
        logits = self.decoder
        if self.intensity is not None:
            logits = logits + intensity_weight * self.intensity
        if self.box is not None:
            logits = logits + box_weight * self.box
        return logits

    def in_plane(self, rows: slice, cols: slice) -> "PlacementEvidence":
        """The same evidence on those rows and columns of every slice."""

        def cut(planes: np.ndarray | None) -> np.ndarray | None:
            return None if planes is None else planes[:, rows, cols]

        return self._replace(
            decoder=cut(self.decoder),
            intensity=cut(self.intensity),
            box=cut(self.box),
            weight=cut(self.weight),
            old=cut(self.old),
        )

    def learned_features(
        self, summed: np.ndarray, intervention: Intervention, spacing_mm: tuple[float, float, float], block: int
    ) -> tuple[tuple[slice, slice], np.ndarray]:
        """The span of the gate a learned ranker reads (tci_ranker.gate_span) and what it reads there
        (tci_ranker.ranker_features, on blocks of `block` pixels), `summed` being `combined`'s sum."""
        if self.intensity is None:
            raise ValueError("an absent organ has no intensity evidence, and no amount for a ranker to place")
        rows, cols = span = gate_span(self.weight > OPEN, block)
        inside = self.in_plane(rows, cols)
        maps = (inside.decoder, inside.intensity, inside.box, summed[:, rows, cols], inside.weight, inside.old)
        growing = intervention.action in GROWING
        return span, ranker_features(*maps, growing, intervention.strength, spacing_mm, block)


def placement_ranking(
    terms: PlacementEvidence,
    summed: np.ndarray,
    ranker: PlacementRanker | None,
    intervention: Intervention,
    spacing_mm: tuple[float, float, float],
    block: int,
) -> np.ndarray:
    """What ranks the gated voxels: `ranker`'s read-out of the evidence where there is one (grows and shrinks of an
    organ present, what it was trained on), else the evidence's fixed sum `summed`. `block`: tci_ranker.block_px of
    the grid the correction runs on (no default: a 512² study's source pixels need 4, its pooled planes 2). An amount
    of 0 voxels keeps the fixed sum: where no amount is solved, the ranking itself decides what crosses, and a learned
    ranker's logits, unlike the sum's, need not agree with the decoder that drew the mask."""
    if ranker is None or not learned_ranking_applies(terms):
        return summed
    span, features = terms.learned_features(summed, intervention, spacing_mm, block)
    return ranked_in_gate(ranker, features, summed, terms.weight > OPEN, span, block)


def learned_ranking_applies(terms: PlacementEvidence) -> bool:
    """Whether a learned ranker, where there is one, ranks these terms: a grow or shrink of an organ present (what
    it was trained on) that moves some voxels (see `placement_ranking`)."""
    return terms.intensity is not None and bool(terms.amount)


def placed(action: str, terms: PlacementEvidence, ranking: np.ndarray, before: np.ndarray) -> np.ndarray:
    """The organ's new (z, rows, cols) probabilities in the window (`before`: its old ones) when `ranking` (logits on
    `terms.slices`) decides where the commanded amount goes: the gated voxels ranked most organ-like (shrinking:
    least) cross 0.5, exactly `terms.amount` of them (`offset_for_amount`; with no amount, where the ranking
    itself crosses 0). Only the commanded direction; after a grow, grown voxels not touching the organ are put back."""
    after = before.copy()
    if terms.amount is not None:
        ranking = ranking + terms.weight * offset_for_amount(action, ranking, terms.weight, terms.old, terms.amount)
    blended = terms.weight * expit(ranking) + (1 - terms.weight) * terms.old
    after[terms.slices] = in_commanded_direction(action, terms.old, blended)
    if action == "expand":
        drop_islands(after, before)
    return after


def drop_islands(updated: np.ndarray, old: np.ndarray) -> None:
    """Growing moves the boundary outward: voxels that crossed 0.5 but do not touch the organ (3-D) are put back."""
    before, after = old > 0.5, updated > 0.5
    if not before.any():
        return
    components, _count = connected_components(after)
    attached = np.unique(components[before & after])
    island = after & ~np.isin(components, attached) & ~before
    updated[island] = old[island]


def offset_for_amount(action: str, logits: np.ndarray, weight: np.ndarray, old: np.ndarray, amount: int) -> float:
    """The offset c for which `amount` voxels cross 0.5 in the commanded direction once the gated logits L + c·g are
    blended with the old probabilities p as g·σ(L + c·g) + (1 − g)·p. Solved per voxel (where it crosses), then the
    amount-th crossing is taken: no search, one partition."""
    crossing = crossing_offsets(action, logits, weight, old)
    crossing = crossing[np.isfinite(crossing)]
    k = min(amount, crossing.size) - 1
    if k < 0:
        return 0.0
    if action in GROWING:  # the amount-th smallest offset that lifts a voxel over 0.5
        return float(np.partition(crossing, k)[k]) + 1e-3
    return float(-np.partition(-crossing, k)[k]) - 1e-3


def crossing_offsets(action: str, logits: np.ndarray, weight: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Per voxel, the offset c at which it crosses 0.5 in the commanded direction (see `offset_for_amount`); +inf
    (growing) or −inf (shrinking) where no offset moves it: outside the gate, already on that side, or a gate too
    soft for the blend to cross."""
    growing = action in GROWING
    member = old > 0.5
    movable = (weight > OPEN) & (~member if growing else member)
    unmoved = np.inf if growing else -np.inf
    crossing = np.full(logits.shape, unmoved)
    g, previous = weight[movable], old[movable]
    needed = (0.5 - (1 - g) * previous) / g  # σ(L + c·g) must pass this for the blend to cross 0.5
    reachable = (needed > 0) & (needed < 1)
    offsets = (logit(np.clip(needed, 1e-6, 1 - 1e-6)) - logits[movable]) / g
    crossing[movable] = np.where(reachable, offsets, unmoved)
    return crossing
