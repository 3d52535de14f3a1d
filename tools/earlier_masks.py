"""The masks of the version the current one was made from, so that a Dice or HD95 can be told before → after: a
fourth clinician-language trial's "is the liver better now?" had been answered with the Dice now only, which does not
say whether the last correction helped."""

from typing import NamedTuple

import numpy as np

from causal_sam_llm.segmentation.inference import masks_from_probabilities
from causal_sam_llm.tools.workbench import Workbench


class EarlierMasks(NamedTuple):
    version: int  # the current version's parent
    masks: np.ndarray  # (Z, C, rows, cols) bool, its masks


def parent_masks(bench: Workbench) -> EarlierMasks | None:
    """The current version's parent and its masks; None for the first segmentation."""
    history, case = bench.require_history(), bench.require_case()
    version = history.versions[history.current]
    if version.parent is None:
        return None
    probabilities = history.probabilities(version.parent)
    if version.box is None:  # a full version: no box says where it differs
        return EarlierMasks(version.parent, masks_from_probabilities(probabilities, case.label_set, bench.classes))
    # a patch differs from the version it is applied to only inside its box, and so from its parent: outside the box
    # the parent's masks are the current ones (a correction's box is small; deciding the whole volume took 1 s)
    box = tuple(slice(start, stop) for start, stop in version.box)
    region = (box[0], slice(None), *box[2:])  # every organ: in an exclusive set a voxel is decided across them
    masks = bench.masks().copy()
    masks[region] = masks_from_probabilities(probabilities[region], case.label_set, bench.classes)
    return EarlierMasks(version.parent, masks)
