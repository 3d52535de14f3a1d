"""Applying an intervention to a segmented volume: the learned TCI (FiLM on cached decoder features) and, for
comparison, a blind morphological edit of the mask with the same gate and strength."""

import numpy as np
from scipy.ndimage import binary_closing, binary_dilation, binary_erosion, binary_opening

from causal_sam_llm.datasets.label_maps import LabelSet
from causal_sam_llm.segmentation.decoded_volume import DecodedVolume, organ_probabilities
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
    """New (Z, C, rows, cols) probabilities; only the named organ on the gated slices changes. The input array is
    not modified (every version is kept by the caller)."""
    organ = segmenter.classes.index(intervention.organ)
    masks = masks_from_probabilities(probabilities, label_set, segmenter.classes)
    gate = intervention_gate(intervention, masks[:, organ], spacing_mm)
    slices = touched_slices(gate)
    updated = probabilities.copy()
    if slices.size == 0:
        return updated
    gate_input = np.stack([decoded.letterbox.image_to_input(gate[z])[0, 0].numpy() for z in slices])
    film = organ_film(generator, intervention, organ, gate_input)
    new = organ_probabilities(segmenter, decoded, [organ], slices, {organ: film})[:, 0]
    weight = gate[slices]
    old = probabilities[slices, organ]
    updated[slices, organ] = _in_commanded_direction(intervention.action, old, weight * new + (1 - weight) * old)
    return updated


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
