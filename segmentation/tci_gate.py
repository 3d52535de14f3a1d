"""Where an intervention may act: a soft spatial gate over the axial stack, from the command's region and the
organ's current mask. Rows run anterior → posterior and columns patient right → left (radiological display);
slice index grows toward the head (superior)."""

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from scipy.ndimage import distance_transform_edt, find_objects, gaussian_filter
from scipy.ndimage import label as connected_components

from causal_sam_llm.segmentation.intervention import GROWING, Intervention
from causal_sam_llm.segmentation.slice_threads import per_slice

MAX_REACH_MM = 30.0  # how far strength 1.0 moves a boundary on average
# Where a grow or shrink may act in-plane: within GATE_BAND × the commanded reach of the boundary. The strength fixes
# how much changes; the evidence decides where, so the edit may go deeper where the organ was cut short most.
# Chosen on ct_to_mr's TRAINING domain (README, "TCI": `eval-tci --split train --gate-band B`).
GATE_BAND = 3.0
# A grow acts on the organ's body: its connected pieces of at least this share of the largest. Specks a segmenter
# scatters elsewhere (a predicted liver had up to 48 pieces on MR, a brain tumour 33) neither receive the growth nor
# count in the surface that sets its amount.
BODY_SHARE = 0.1


@contextmanager
def gate_band(band: float) -> Iterator[None]:
    """Every gate made inside the block (learned, blind, oracle and the clinician's alike) acts `band` reaches deep;
    the default comes back afterwards. For sweeps of the band (`eval-tci --gate-band`)."""
    global GATE_BAND
    if band <= 0:
        raise ValueError(f"the gate band must be positive (times the commanded reach), got {band:g}")
    default, GATE_BAND = GATE_BAND, band
    try:
        yield
    finally:
        GATE_BAND = default


def organ_body(mask: np.ndarray) -> np.ndarray:
    """The organ's pieces (3-D connected) holding at least BODY_SHARE of its largest piece's voxels."""
    pieces, count = connected_components(mask)
    if count <= 1:
        return mask
    sizes = np.bincount(pieces.ravel())[1:]
    return np.isin(pieces, 1 + np.nonzero(sizes >= BODY_SHARE * sizes.max())[0])


# (axis, sign) of each in-plane or slice direction: slices grow toward the head, rows toward the back, columns toward
# the patient's left
TOWARD = {
    "superior": (0, 1),
    "inferior": (0, -1),
    "posterior": (1, 1),
    "anterior": (1, -1),
    "left": (2, 1),
    "right": (2, -1),
}


NEAR_CENTRE = 0.12  # offsets within this share of the organ's extent lie at its centre: "whole"


def direction_of(offset_mm: np.ndarray, extent_mm: np.ndarray, axes: tuple[int, ...] = (0, 1, 2)) -> str:
    """The patient direction of an offset (slice, row, column; mm) from an organ's centre: along the axis (of `axes`)
    where it is largest relative to the organ's extent; `whole` when that is within NEAR_CENTRE of the centre. One
    rule for the simulated clinician naming where an error lies and for a removal finding what lies there."""
    relative = np.zeros(3)
    relative[list(axes)] = (np.asarray(offset_mm) / np.maximum(np.asarray(extent_mm), 1e-6))[list(axes)]
    axis = int(np.argmax(np.abs(relative)))
    if abs(relative[axis]) < NEAR_CENTRE:
        return "whole"
    return next(region for region, (along, sign) in TOWARD.items() if along == axis and sign * relative[axis] > 0)


def extent_mm(mask: np.ndarray, spacing_mm: tuple[float, float, float]) -> np.ndarray:
    """The (slice, row, column) lengths of a non-empty mask's bounding box, in mm: the extent `direction_of` weighs
    an offset against."""
    box = find_objects(mask.astype(np.uint8))[0]
    return np.array([part.stop - part.start for part in box]) * np.asarray(spacing_mm)


def _extent(mask: np.ndarray) -> tuple[int, int]:
    occupied = np.nonzero(mask.any(axis=(1, 2)))[0]
    return (int(occupied[0]), int(occupied[-1])) if occupied.size else (0, mask.shape[0] - 1)


def slice_range(
    intervention: Intervention, mask: np.ndarray, spacing_mm: tuple[float, float, float]
) -> tuple[int, int]:
    """Inclusive slices the command can touch: its explicit range, else the organ's extent, widened toward the head
    or the feet for superior/inferior commands by up to MAX_REACH_MM × strength (plus one slice), both ways for a
    grow of the whole organ. A grow toward a side (anterior, posterior, left, right) stays on the organ's slices: "grow
    the left kidney at the front" had added 43 voxels on five slices beyond both its ends (a research-user trial)."""
    depth = mask.shape[0]
    if intervention.slices is not None:
        return intervention.slices
    first, last = _extent(mask)
    reach = 1 + round(intervention.strength * MAX_REACH_MM / spacing_mm[0])
    third = max(1, (last - first + 1) // 3)
    if intervention.region == "superior":
        return max(first, last - third + 1), min(depth - 1, last + reach)
    if intervention.region == "inferior":
        return max(0, first - reach), min(last, first + third - 1)
    grow = reach if intervention.action in GROWING and intervention.region == "whole" else 0
    return max(0, first - grow), min(depth - 1, last + grow)


def _in_plane_side(region: str, mask: np.ndarray) -> np.ndarray:
    """Soft half-plane weight (Z, rows, cols) for anterior/posterior/left/right, about the organ's centroid."""
    _z, rows, cols = mask.shape
    if region not in ("anterior", "posterior", "left", "right"):
        return np.ones(mask.shape, np.float32)
    coords = np.argwhere(mask)
    centre = coords.mean(axis=0) if len(coords) else np.array([0, rows / 2, cols / 2])
    r = np.arange(rows, dtype=np.float32)[None, :, None]
    c = np.arange(cols, dtype=np.float32)[None, None, :]
    signed = {"anterior": centre[1] - r, "posterior": r - centre[1], "right": centre[2] - c, "left": c - centre[2]}[
        region
    ]  # patient's left is the image's right side
    return np.broadcast_to(1 / (1 + np.exp(-signed / 3.0)), mask.shape).astype(np.float32)


def _boundary_band(intervention: Intervention, mask: np.ndarray, spacing_mm) -> np.ndarray:
    """Where along the boundary the action works: outside for growing, inside for shrinking, both for smoothing.
    Only the distances the action needs are computed (they are most of a correction's time)."""
    reach_mm = GATE_BAND * max(intervention.strength, 0.1) * MAX_REACH_MM
    if intervention.action in GROWING:
        outside = _distance_outside(mask, spacing_mm[1:])
        outside[~mask.any(axis=(1, 2))] = 0  # only when the organ is absent everywhere: any voxel may receive it
        return outside <= reach_mm
    if intervention.action == "shrink":
        return mask & (_distance_inside(mask, spacing_mm[1:]) <= reach_mm)
    if intervention.action == "remove_region":
        return mask.copy()
    thin = 3 * spacing_mm[1]  # smooth: a thin band around the edge
    return (_distance_outside(mask, spacing_mm[1:]) <= thin) & (_distance_inside(mask, spacing_mm[1:]) <= thin)


def _distance_outside(mask: np.ndarray, pixel_mm) -> np.ndarray:
    """Per slice, each voxel's in-plane distance (mm) to the organ; far (1e6) on slices without it."""
    return per_slice(lambda m: distance_transform_edt(~m, sampling=pixel_mm) if m.any() else 1e6, mask, np.float64)


def _distance_inside(mask: np.ndarray, pixel_mm) -> np.ndarray:
    """Per slice, each organ voxel's in-plane distance (mm) to the outside; 0 elsewhere."""
    return per_slice(lambda m: distance_transform_edt(m, sampling=pixel_mm) if m.any() else 0.0, mask, np.float64)


def _with_empty_slices_filled(mask: np.ndarray, first: int, last: int) -> np.ndarray:
    """Growing into slices the organ does not reach yet starts from the footprint of its nearest slice, so the new
    slices stay under the organ instead of opening the whole slice."""
    occupied = np.nonzero(mask.any(axis=(1, 2)))[0]
    reference = mask.copy()
    if occupied.size == 0:
        return reference
    for z in range(first, last + 1):
        if not mask[z].any():
            reference[z] = mask[occupied[np.argmin(np.abs(occupied - z))]]
    return reference


def _with_adjacent_sections(mask: np.ndarray) -> np.ndarray:
    """Each slice's section together with those of the slices next to it: a grow's band on a slice is measured from
    them too, so that where a section is cut short far more than its neighbours (on MR a predicted liver's lowest
    sections held 121 of 712 and 143 of 1 667 voxels) the band reaches what is missing there."""
    joined = mask.copy()
    joined[1:] |= mask[:-1]
    joined[:-1] |= mask[1:]
    return joined


def held_by_other_organs(masks: np.ndarray, organ: int) -> np.ndarray:
    """(Z, rows, cols) of (Z, C, rows, cols) masks: the voxels another organ holds. In an exclusive label set a
    command touches only the organ it names (the issue's rule), so a grow may not take these — the learned response,
    the blind edit and the oracle alike — and the simulated clinician does not credit a grow with them."""
    return np.delete(masks, organ, axis=1).any(axis=1)


def intervention_gate(
    intervention: Intervention, mask: np.ndarray, spacing_mm: tuple[float, float, float]
) -> np.ndarray:
    """(Z, rows, cols) float gate in [0, 1]; zero outside the command's slices. A grow's gate is about the organ's
    body (`moved_part`)."""
    return gate_about(intervention, moved_part(intervention, mask), spacing_mm)


def moved_part(intervention: Intervention, mask: np.ndarray) -> np.ndarray:
    """What the command moves: a grow the organ's body (`organ_body`: specks elsewhere neither receive the growth nor
    count in its surface), anything else the whole mask."""
    return organ_body(mask) if intervention.action in GROWING else mask


def gate_about(
    intervention: Intervention,
    mask: np.ndarray,
    spacing_mm: tuple[float, float, float],
    reach_cut_sections: bool = True,
) -> np.ndarray:
    """The command's gate about exactly `mask` (every piece of it). `reach_cut_sections`: a grow's band is also
    measured from the sections next to each slice (`_with_adjacent_sections`); False for the band just outside the
    organ that a shrink's intensity evidence weighs the organ against (tci_apply.intensity_surroundings)."""
    first, last = slice_range(intervention, mask, spacing_mm)
    reference = _with_empty_slices_filled(mask, first, last)
    # the side is about the whole organ's centroid; the band only matters on the command's slices
    side = _in_plane_side(intervention.region, reference)[first : last + 1]
    if intervention.action in GROWING and reach_cut_sections:
        reference = _with_adjacent_sections(reference)
    band = _boundary_band(intervention, reference[first : last + 1], spacing_mm).astype(np.float32)
    gate = np.zeros(mask.shape, np.float32)
    gate[first : last + 1] = per_slice(lambda plane: gaussian_filter(plane, sigma=1.0), band * side, np.float32)
    return np.clip(gate, 0, 1)
