"""A new version's masks found from its parent's: only inside the box its probabilities changed in are they decided
again. A correction changes one organ near its edge, while deciding every voxel's mask again read every organ's
probabilities over the whole volume three times per correction (the check that a mask changed, the new volumes, the
reply's notes): 420 MB each time on a 512² study of 100 slices."""

from typing import NamedTuple

import numpy as np

from causal_sam_llm.datasets.label_maps import LabelSet
from causal_sam_llm.segmentation.inference import masks_from_probabilities
from causal_sam_llm.tools.mask_history import MaskHistory, rounded_as_kept
from causal_sam_llm.tools.mask_patch import Box, changed_box


def masks_after_change(
    parent_masks: np.ndarray, child: np.ndarray, changed: Box, label_set: LabelSet, classes: list[str]
) -> np.ndarray | None:
    """(Z, C, rows, cols) masks of `child`, whose values differ from those `parent_masks` were decided from only
    inside `changed` (a box over slices, organs, rows, cols); None when no mask changed there."""
    region = (changed[0], slice(None), *changed[2:])  # every organ: in an exclusive set a voxel is decided across them
    decided = masks_from_probabilities(child[region], label_set, classes)
    if np.array_equal(decided, parent_masks[region]):
        return None
    masks = parent_masks.copy()
    masks[region] = decided
    return masks


class KeptChange(NamedTuple):
    box: Box  # holds every value the child changed (`MaskHistory.add`'s `changed`)
    masks: np.ndarray  # the child's masks


def kept_change(
    parent: np.ndarray,
    child: np.ndarray,
    parent_masks: np.ndarray,
    label_set: LabelSet,
    classes: list[str],
    within: Box | None = None,
) -> KeptChange | None:
    """What a tool's `child` of the current version `parent` changed, with `child` rounded in place as its version
    will hold it (so that what is decided here is what the clinician will see); None when it moved no voxel across
    any mask's edge. `within`: a box every change lies in, when the tool knows one (only it is compared)."""
    box = changed_box(parent, child, within)
    if box is None:
        return None
    rounded_as_kept(child, box)
    masks = masks_after_change(parent_masks, child, box, label_set, classes)
    return None if masks is None else KeptChange(box, masks)


class CurrentMasks(NamedTuple):
    """The masks of one version of a study's history, decided once, with each organ's voxel count once asked."""

    history: MaskHistory
    version: int
    masks: np.ndarray
    voxels: np.ndarray | None = None


def voxels_per_organ(masks: np.ndarray) -> np.ndarray:
    """(Z, C, rows, cols) bool → each organ's voxel count (int64)."""
    return np.array([np.count_nonzero(masks[:, organ]) for organ in range(masks.shape[1])], np.int64)


def voxels_after_change(parent: CurrentMasks, masks: np.ndarray, changed: Box) -> np.ndarray | None:
    """Each organ's voxel count in a child version whose `masks` equal `parent`'s outside the box `changed`: counted
    in that box only (a correction's, not the 105 M voxels of a 512² study). None when the parent's were not counted."""
    if parent.voxels is None:
        return None
    region = (changed[0], slice(None), *changed[2:])
    return parent.voxels + voxels_per_organ(masks[region]) - voxels_per_organ(parent.masks[region])
