"""Small synthetic organ masks shared by the TCI and simulated-clinician tests."""

import numpy as np

SPACING = (5.0, 2.0, 2.0)  # slice, row, col (mm)


def organ_masks() -> np.ndarray:
    """(Z=10, C=2, 40, 40): organ 0 a box on slices 3..6, organ 1 a small box elsewhere."""
    masks = np.zeros((10, 2, 40, 40), bool)
    masks[3:7, 0, 12:28, 10:26] = True
    masks[2:5, 1, 30:36, 30:36] = True
    return masks


def liver_with_blobs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(masks with a detached piece of liver in front of it and one behind it, the front piece, the back piece)."""
    masks = organ_masks()
    front, back = np.zeros(masks[:, 0].shape, bool), np.zeros(masks[:, 0].shape, bool)
    front[3:6, 2:6, 14:20] = True
    back[4:6, 33:37, 12:16] = True
    masks[:, 0] |= front | back
    return masks, front, back
