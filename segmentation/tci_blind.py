"""The blind baseline of TCI: a morphological edit of the organ's mask inside the command's gate, ignoring the image."""

import numpy as np
from scipy.ndimage import binary_closing, binary_dilation, binary_erosion, binary_opening

from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.piece_removal import deleted_whole
from causal_sam_llm.segmentation.tci_gate import MAX_REACH_MM, held_by_other_organs, intervention_gate


def apply_blind(
    masks: np.ndarray,
    organ: int,
    intervention: Intervention,
    spacing_mm: tuple[float, float, float],
    gate: np.ndarray | None = None,
    exclusive: bool = False,
) -> np.ndarray:
    """The baseline: dilate/erode/cut the organ's mask inside the same gate, ignoring the image. `gate`: the
    command's `intervention_gate` when the caller has it already (it is most of the cost). `exclusive`: `masks` are
    of an exclusive label set, so the organ gains no voxel another organ holds (tci_gate.held_by_other_organs)."""
    current = masks[:, organ]
    gate = (intervention_gate(intervention, current, spacing_mm) if gate is None else gate) > 0.5
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
        # "that blob is not liver", "there is no liver on slices 22 to 23": deleted whole
        pieces = deleted_whole(intervention, current, spacing_mm)
        edited = current & ~(pieces if pieces.any() else gate)
    elif action == "add_region":
        edited = current | gate
    else:
        smoothed = binary_closing(binary_opening(current, structure, iterations=2), structure, iterations=2)
        edited = np.where(gate, smoothed, current)
    if exclusive:
        edited &= current | ~held_by_other_organs(masks, organ)
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
