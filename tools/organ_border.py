"""Where one organ's mask meets another's, in the terms of an `Intervention`: the side of the organ the contact lies
on (a patient direction) and the slices it spans. A clinician says "the left kidney bleeds into the spleen"; the
correction that means is a shrink of the kidney there, not all around (which had cut the kidney by 87 % in a
clinician-language trial)."""

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import distance_transform_edt, find_objects
from scipy.ndimage import label as connected_components

from causal_sam_llm.segmentation.tci_gate import direction_of, extent_mm

# voxels of the organ this close to the neighbour's mask make up the border: 5 mm, or the next voxel in-plane on a
# coarser grid (masks that touch on a 7 mm grid are 7 mm apart, centre to centre)
CONTACT_MM = 5.0
IN_PLANE_NEIGHBOURS = 1.5  # × the in-plane voxel step: the diagonal neighbour (1.41) and not the one beyond


def contact_mm(spacing_mm: tuple[float, float, float]) -> float:
    """How close to the neighbour an organ voxel lies on their border, on this grid."""
    return max(CONTACT_MM, IN_PLANE_NEIGHBOURS * max(spacing_mm[1:]))


@dataclass(frozen=True)
class Border:
    region: str  # the organ's side the border lies on (`whole` when it wraps around the organ's centre)
    slices: tuple[int, int]  # inclusive: the run of slices holding most of the border
    voxels: int  # organ voxels within `contact_mm` of the neighbour


def border_with(organ: np.ndarray, neighbour: np.ndarray, spacing_mm: tuple[float, float, float]) -> Border | None:
    """The border of the (Z, rows, cols) `organ` mask with the `neighbour` mask on the same axial grid; None where
    the two do not come within `contact_mm` of each other (or either is empty)."""
    if not organ.any() or not neighbour.any():
        return None
    near = contact_mm(spacing_mm)
    box = _box_around(organ, [int(np.ceil(near / step)) + 1 for step in spacing_mm])
    if not neighbour[box].any():
        return None
    band = organ[box] & (distance_transform_edt(~neighbour[box], sampling=spacing_mm) <= near)
    if not band.any():
        return None
    start = np.array([part.start for part in box])
    offset = (_centroid(band) + start - _centroid(organ)) * np.asarray(spacing_mm)
    first, last = _fullest_run(band.sum(axis=(1, 2)))
    region = direction_of(offset, extent_mm(organ, spacing_mm))
    return Border(region=region, slices=(first + box[0].start, last + box[0].start), voxels=int(band.sum()))


def _fullest_run(counts: np.ndarray) -> tuple[int, int]:
    """(first, last) of the run of consecutive slices with border voxels that holds most of them: a spleen that
    touches a kidney at both its poles is two borders, and one range over both had cut the spleen on the slices
    between, where it touches nothing (a third clinician-language trial)."""
    runs, _count = connected_components(counts > 0)
    fullest = 1 + int(np.argmax(np.bincount(runs, weights=counts)[1:]))
    held = np.nonzero(runs == fullest)[0]
    return int(held[0]), int(held[-1])


def gap_mm(organ: np.ndarray, neighbour: np.ndarray, spacing_mm: tuple[float, float, float]) -> float | None:
    """The shortest distance between the two masks' voxels, in mm (None if either is empty)."""
    if not organ.any() or not neighbour.any():
        return None
    both = _box_around(organ | neighbour, [0, 0, 0])
    return float(distance_transform_edt(~neighbour[both], sampling=spacing_mm)[organ[both]].min())


def _box_around(mask: np.ndarray, margin: list[int]) -> tuple[slice, ...]:
    """The non-empty mask's bounding box grown by `margin` voxels along each axis (within the volume): the distances
    that decide a border all lie inside it, and a whole CT's distance transform would cost seconds."""
    box = find_objects(mask.astype(np.uint8))[0]
    return tuple(
        slice(max(0, part.start - grow), min(size, part.stop + grow))
        for part, grow, size in zip(box, margin, mask.shape, strict=True)
    )


def _centroid(mask: np.ndarray) -> np.ndarray:
    return np.array([index.mean() for index in np.nonzero(mask)])
