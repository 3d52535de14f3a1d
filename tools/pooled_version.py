"""The current version's probabilities pooled as corrections of a study finer than the decoder's grid are computed on
them (segmentation/correction_grid.py), kept between corrections: pooled once, then again only where a correction
changed them. Pooling a 512² study's version whole read its 420 MB on every correction."""

from typing import NamedTuple

import numpy as np

from causal_sam_llm.segmentation.correction_grid import pool_again_within, pooled
from causal_sam_llm.tools.mask_history import MaskHistory
from causal_sam_llm.tools.mask_patch import Box


class PooledVersion(NamedTuple):
    history: MaskHistory
    version: int
    probabilities: np.ndarray  # (Z, C, rows / factor, cols / factor)


def pooled_version(kept: PooledVersion | None, history: MaskHistory, factor: int) -> PooledVersion:
    """`kept` when it is the current version's; else the current version pooled."""
    if kept is not None and kept.history is history and kept.version == history.current:
        return kept
    return PooledVersion(history, history.current, pooled(history.probabilities(), factor))


def pooled_after_change(
    kept: PooledVersion | None, history: MaskHistory, changed: Box, factor: int
) -> PooledVersion | None:
    """After a correction made the current version from its parent, changing values only inside `changed`: the
    parent's pooled probabilities, when `kept`, updated in place there and kept for the new version (an undo pools
    the parent again); None when they were not kept."""
    if kept is None or kept.history is not history or kept.version != history.versions[history.current].parent:
        return None
    pool_again_within(kept.probabilities, history.probabilities(), changed, factor)
    return kept._replace(version=history.current)
