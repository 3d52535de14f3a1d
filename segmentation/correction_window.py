"""The part of a volume a correction can reach: the organ's slices and in-plane bounding box, widened by how far the
command may act (its gate's reach, tci_gate.py). A correction computed inside this window equals the one computed on
the whole volume — every voxel it may change, and every voxel its gate, amount and evidence depend on, lie inside —
but on a 512² study the distance transforms, filters and copies shrink with the window: a kidney is a tenth of the
slice. Measured in `python -m causal_sam_llm.bench.tci --size 512`."""

import math
from dataclasses import dataclass

import numpy as np

from causal_sam_llm.segmentation import tci_gate
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.tci_gate import MAX_REACH_MM

# beyond the reach: the gate's Gaussian (sigma 1 px, truncated at 4 sigma) and a pixel of rounding either way
EDGE_PX = 6


@dataclass(frozen=True)
class CorrectionWindow:
    slices: slice
    rows: slice
    cols: slice
    shape: tuple[int, int, int]  # the whole volume's (Z, rows, cols)

    @property
    def first_slice(self) -> int:
        return self.slices.start

    def local(self, intervention: Intervention) -> Intervention:
        """The command with its slice range, if it names one, counted from the window's first slice."""
        if intervention.slices is None:
            return intervention
        first, last = intervention.slices
        return intervention.model_copy(update={"slices": (first - self.first_slice, last - self.first_slice)})

    def of_stack(self, volume: np.ndarray) -> np.ndarray:
        """(Z, rows, cols) → the window's part, a view."""
        return volume[self.slices, self.rows, self.cols]

    def of_channels(self, volume: np.ndarray) -> np.ndarray:
        """(Z, C, rows, cols) → the window's part of every channel, a view."""
        return volume[self.slices, :, self.rows, self.cols]

    def in_plane(self, planes: np.ndarray) -> np.ndarray:
        """(..., rows, cols) whole slices → the window's rows and columns."""
        return planes[..., self.rows, self.cols]

    def whole_slice(self, plane: np.ndarray) -> np.ndarray:
        """One (rows, cols) plane of the window placed on a whole slice, zero elsewhere."""
        whole = np.zeros(self.shape[1:], plane.dtype)
        whole[self.rows, self.cols] = plane
        return whole

    def whole_stack(self, stack: np.ndarray) -> np.ndarray:
        """The window's (z, rows, cols) placed in the whole volume, zero (False) elsewhere."""
        whole = np.zeros(self.shape, stack.dtype)
        whole[self.slices, self.rows, self.cols] = stack
        return whole


def whole_volume(shape: tuple[int, int, int]) -> CorrectionWindow:
    """The window of a whole (Z, rows, cols) volume: how every correction was computed before windows."""
    return CorrectionWindow(slice(0, shape[0]), slice(0, shape[1]), slice(0, shape[2]), shape)


def correction_window(
    intervention: Intervention, candidates: np.ndarray, spacing_mm: tuple[float, float, float], block: int = 0
) -> CorrectionWindow:
    """`candidates`: (Z, rows, cols) voxels that may belong to the organ now (its probability above 0.5, a superset
    of its mask). The whole volume when the organ is absent: a grow may then place it anywhere. `block`: when a
    learned ranker reads the evidence in blocks of this many pixels (tci_ranker.block_px), the window's rows and
    columns start on a block's edge, as the whole volume's do, so both read the same blocks."""
    occupied = [np.nonzero(candidates.any(axis=other))[0] for other in ((1, 2), (0, 2), (0, 1))]
    if occupied[0].size == 0:
        return whole_volume(candidates.shape)
    reach_mm = tci_gate.GATE_BAND * max(intervention.strength, 0.1) * MAX_REACH_MM  # read now: `gate_band` sweeps it
    margins = (
        2 + math.ceil(intervention.strength * MAX_REACH_MM / spacing_mm[0]),  # superior/inferior growth, in slices
        EDGE_PX + math.ceil(reach_mm / spacing_mm[1]),
        EDGE_PX + math.ceil(reach_mm / spacing_mm[2]),
    )
    spans = []
    for axis, (found, margin, size) in enumerate(zip(occupied, margins, candidates.shape, strict=True)):
        first, last = int(found[0]) - margin, int(found[-1]) + margin
        if axis == 0 and intervention.slices is not None:  # a named range may lie beyond the organ
            first, last = min(first, intervention.slices[0]), max(last, intervention.slices[1])
        first = max(0, first)
        if axis > 0 and block:
            first -= first % block
        spans.append(slice(first, min(size, last + 1)))
    return CorrectionWindow(*spans, candidates.shape)
