"""Applying an intervention to a segmented volume: the learned TCI (FiLM on cached decoder features) and, for
comparison, a blind morphological edit of the mask with the same gate and strength.

HOW MUCH a command changes is read from the command itself: the organ's surface facing the named region moved by the
commanded reach, capped by what a uniform morphological move by that reach changes (`commanded_change`). WHERE
differs: the blind edit moves the boundary evenly; the learned response moves it through the voxels the FiLM-modulated
decoder evidence ranks most (shrinking: least) organ-like, by setting the scalar offset of its modulation so that that
amount crosses 0.5 (`offset_for_amount`; fewer where the gate holds fewer). The offset is solved rather than taken
from the generator because the decoder's logits in an unseen domain are far from the scale the generator was trained
on (measured: a kidney the MR segmenter cut short needed about +12, the learned β gave about +3), while the ranking
they give is still informative."""

import numpy as np
from scipy.ndimage import binary_closing, binary_dilation, binary_erosion, binary_opening
from scipy.ndimage import label as connected_components
from scipy.special import expit, logit

from causal_sam_llm.datasets.label_maps import LabelSet
from causal_sam_llm.segmentation.decoded_volume import DecodedVolume, organ_logits
from causal_sam_llm.segmentation.inference import masks_from_probabilities
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.segmenter import PromptFreeSegmenter
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator, organ_film
from causal_sam_llm.segmentation.tci_gate import MAX_REACH_MM, intervention_gate


def touched_slices(gate: np.ndarray) -> np.ndarray:
    return np.nonzero(gate.reshape(len(gate), -1).max(axis=1) > 0.01)[0]


def apply_learned(
    segmenter: PromptFreeSegmenter,
    generator: InterventionFilmGenerator,
    decoded: DecodedVolume,
    probabilities: np.ndarray,
    intervention: Intervention,
    label_set: LabelSet,
    spacing_mm: tuple[float, float, float],
) -> np.ndarray:
    """New (Z, C, rows, cols) probabilities; only the named organ on the gated slices changes (in nested sets, growth
    also raises the regions enclosing it). The input array is not modified (every version is kept by the caller)."""
    organ = segmenter.classes.index(intervention.organ)
    masks = masks_from_probabilities(probabilities, label_set, segmenter.classes)
    gate = intervention_gate(intervention, masks[:, organ], spacing_mm)
    slices = touched_slices(gate)
    updated = probabilities.copy()
    if slices.size == 0:
        return updated
    gate_input = np.stack([decoded.letterbox.image_to_input(gate[z])[0, 0].numpy() for z in slices])
    film = organ_film(generator, intervention, organ, gate_input)
    logits = organ_logits(segmenter, decoded, [organ], slices, {organ: film})[:, 0]
    weight = gate[slices]
    old = probabilities[slices, organ]
    if intervention.action != "smooth" and masks[:, organ].any():  # an absent organ has no surface to move
        amount = commanded_change(masks[:, organ], intervention, spacing_mm)
        logits = logits + weight * offset_for_amount(intervention.action, logits, weight, old, amount)
    blended = weight * expit(logits) + (1 - weight) * old
    updated[slices, organ] = _in_commanded_direction(intervention.action, old, blended)
    if intervention.action == "expand":
        drop_islands(updated[:, organ], probabilities[:, organ])
    if intervention.action in ("expand", "add_region") and label_set.kind == "nested":
        _grow_enclosing_regions(updated, organ, label_set, segmenter.classes)
    return updated


def drop_islands(updated: np.ndarray, old: np.ndarray) -> None:
    """Growing moves the boundary outward: voxels that crossed 0.5 but do not touch the organ (3-D) are put back."""
    before, after = old > 0.5, updated > 0.5
    if not before.any():
        return
    components, _count = connected_components(after)
    attached = np.unique(components[before & after])
    island = after & ~np.isin(components, attached) & ~before
    updated[island] = old[island]


def _grow_enclosing_regions(probabilities: np.ndarray, organ: int, label_set: LabelSet, classes: list[str]) -> None:
    """Nested regions (BraTS): the enhancing tumour is part of the core and the core part of the whole tumour, so a
    region grown past its enclosing regions grows them too; otherwise nesting would clip the growth away."""
    value = label_set.classes[classes[organ]]
    for index, name in enumerate(classes):
        if label_set.classes[name] < value:
            np.maximum(probabilities[:, index], probabilities[:, organ], out=probabilities[:, index])


# (axis, step) of the faces a region's boundary moves through; axes are (slice, row, col) with slices growing toward
# the head, rows toward the back and columns toward the patient's left
FACING = {
    "superior": [(0, 1)],
    "inferior": [(0, -1)],
    "posterior": [(1, 1)],
    "anterior": [(1, -1)],
    "left": [(2, 1)],
    "right": [(2, -1)],
    "whole": [(axis, step) for axis in range(3) for step in (1, -1)],
}


def commanded_change(mask: np.ndarray, intervention: Intervention, spacing_mm: tuple[float, float, float]) -> int:
    """How many voxels the command asks to change: the boundary facing its region moved by strength × 30 mm, i.e.
    that part of the surface's area × the reach, but never more than a uniform morphological move by the reach
    changes inside the gate (the area × reach estimate overshoots when the reach nears the organ's own size)."""
    uniform = {"add_region": "expand", "remove_region": "shrink"}.get(intervention.action, intervention.action)
    moved = apply_blind(mask[:, None], 0, intervention.model_copy(update={"action": uniform}), spacing_mm)[:, 0]
    return min(_facing_area_times_reach(mask, intervention, spacing_mm), int((moved != mask).sum()))


def _facing_area_times_reach(
    mask: np.ndarray, intervention: Intervention, spacing_mm: tuple[float, float, float]
) -> int:
    """Exposed voxel faces overcount a smooth surface by about 1.5× (exactly so for a sphere seen from all six
    sides), so the whole-organ area is divided by that."""
    area_mm2 = 0.0
    for axis, step in FACING[intervention.region]:
        beyond = np.roll(mask, -step, axis=axis)
        edge = [slice(None)] * 3
        edge[axis] = -1 if step == 1 else 0
        beyond[tuple(edge)] = False  # the volume's edge is open
        face_mm2 = float(np.prod([s for a, s in enumerate(spacing_mm) if a != axis]))
        area_mm2 += int((mask & ~beyond).sum()) * face_mm2
    if intervention.region == "whole":
        area_mm2 /= 1.5
    reach_mm = intervention.strength * MAX_REACH_MM
    return round(area_mm2 * reach_mm / float(np.prod(spacing_mm)))


def offset_for_amount(action: str, logits: np.ndarray, weight: np.ndarray, old: np.ndarray, amount: int) -> float:
    """The offset c for which `amount` voxels cross 0.5 in the commanded direction once the gated logits L + c·g are
    blended with the old probabilities p as g·σ(L + c·g) + (1 − g)·p. Solved per voxel (where it crosses), then the
    amount-th crossing is taken: no search, one partition."""
    growing = action in ("expand", "add_region")
    member = old > 0.5
    movable = (weight > 1e-3) & (~member if growing else member)
    if amount <= 0 or not movable.any():
        return 0.0
    g, previous = weight[movable], old[movable]
    needed = (0.5 - (1 - g) * previous) / g  # σ(L + c·g) must pass this for the blend to cross 0.5
    reachable = (needed > 0) & (needed < 1)
    crossing = (logit(np.clip(needed, 1e-6, 1 - 1e-6)) - logits[movable]) / g
    k = min(amount, int(reachable.sum())) - 1
    if k < 0:
        return 0.0
    if growing:  # the amount-th smallest offset that lifts a voxel over 0.5
        return float(np.partition(np.where(reachable, crossing, np.inf), k)[k]) + 1e-3
    return float(-np.partition(np.where(reachable, -crossing, np.inf), k)[k]) - 1e-3


def _in_commanded_direction(action: str, old: np.ndarray, proposed: np.ndarray) -> np.ndarray:
    """A grow never removes and a shrink never adds: the image evidence decides how far, the command which way."""
    if action in ("expand", "add_region"):
        return np.maximum(old, proposed)
    if action in ("shrink", "remove_region"):
        return np.minimum(old, proposed)
    return proposed


def apply_blind(
    masks: np.ndarray, organ: int, intervention: Intervention, spacing_mm: tuple[float, float, float]
) -> np.ndarray:
    """The baseline: dilate/erode/cut the organ's mask inside the same gate, ignoring the image."""
    current = masks[:, organ]
    gate = intervention_gate(intervention, current, spacing_mm) > 0.5
    radius = max(1, round(intervention.strength * MAX_REACH_MM / spacing_mm[1]))
    structure = np.zeros((1, 3, 3), bool)
    structure[0] = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    action = intervention.action
    if action == "expand":
        seed = current.copy()
        if intervention.region == "superior" or intervention.region == "inferior":
            seed |= gate & _nearest_slice_copy(current, gate)
        edited = current | (binary_dilation(seed, structure, iterations=radius) & gate)
    elif action == "shrink":
        edited = current & ~(gate & ~binary_erosion(current, structure, iterations=radius))
    elif action == "remove_region":
        edited = current & ~gate
    elif action == "add_region":
        edited = current | gate
    else:
        smoothed = binary_closing(binary_opening(current, structure, iterations=2), structure, iterations=2)
        edited = np.where(gate, smoothed, current)
    result = masks.copy()
    result[:, organ] = edited
    return result


def _nearest_slice_copy(current: np.ndarray, gate: np.ndarray) -> np.ndarray:
    """Copy the nearest non-empty slice of the organ into empty gated slices (a blind superior/inferior growth)."""
    filled = current.copy()
    occupied = np.nonzero(current.any(axis=(1, 2)))[0]
    if occupied.size == 0:
        return filled
    for z in np.nonzero(gate.any(axis=(1, 2)) & ~current.any(axis=(1, 2)))[0]:
        filled[z] = current[occupied[np.argmin(np.abs(occupied - z))]]
    return filled
