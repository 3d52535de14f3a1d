"""How wide the patient's body is from left to right in an axial stack. A NIfTI file names no anatomy, and a head is
far narrower than an adult abdomen: `causal-sam-llm data list ~/.cache/causal-sam-llm/benchmark --body-width` (8 s)
measures the built-in benchmark's 92 abdominal CT and MR phantoms at 277–339 mm and its 24 brain phantoms at
101–140 mm; the real abdominal CT and MR slices (`sample:abdomen_ct`, `sample:abdomen_mr`) measure
309 mm (tests/test_body_width.py). The ranges each label set expects are in label_sets.yaml (`body_width_mm`)."""

import numpy as np
from scipy.ndimage import binary_opening
from scipy.ndimage import label as connected_components

AIR_HU = -500.0  # CT: the body is above this (air is −1000 HU, fat about −100)
MR_SHARE = 0.15  # MR: the body is above this share of the 1st–99th percentile range
MEASURED_SLICES = 24  # evenly spaced slices are enough for a width, and a 512² study's 100 slices would take 0.5 s
WIDEST = 90  # percentile over the measured slices: the widest part, not one stray slice


def body_width_mm(axial: np.ndarray, spacing_mm: tuple[float, float, float], modality: str) -> float | None:
    """The body's left-right extent (mm) at its widest slices: per slice, the largest connected piece of the
    foreground after an opening that drops noise and thin lines (a table, a coil). None when no slice shows one."""
    low, high = np.percentile(axial, [1, 99])
    threshold = AIR_HU if modality == "CT" else low + MR_SHARE * (high - low)
    picked = np.unique(np.linspace(0, len(axial) - 1, min(len(axial), MEASURED_SLICES)).round().astype(int))
    widths = [_width_pixels(axial[z] > threshold) for z in picked]
    measured = [w for w in widths if w]
    return float(np.percentile(measured, WIDEST)) * spacing_mm[2] if measured else None


def _width_pixels(foreground: np.ndarray) -> int:
    """Columns spanned by the largest connected piece of a slice's foreground (0 when there is none)."""
    pieces, count = connected_components(binary_opening(foreground, iterations=2))
    if not count:
        return 0
    largest = pieces == 1 + int(np.argmax(np.bincount(pieces.ravel())[1:]))
    columns = np.nonzero(largest.any(axis=0))[0]
    return int(columns[-1] - columns[0] + 1)
