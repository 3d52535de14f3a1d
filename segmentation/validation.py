"""Checks on image arrays that come from outside, so that bad input fails early with a message that says the fix."""

import numpy as np

from causal_sam_llm.errors import InvalidImageError


def check_image(array: object, *, what: str = "image", allowed_ndim: tuple[int, ...] = (2, 3)) -> np.ndarray:
    """Return `array` as a float32 ndarray, or raise InvalidImageError naming the problem.

    2-D is one slice (rows, cols); 3-D is a volume with slices first (slices, rows, cols).
    """
    if not isinstance(array, np.ndarray):
        raise InvalidImageError(f"{what} must be a numpy array, got {type(array).__name__}.")
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise InvalidImageError(
            f"{what} has dtype {array.dtype}; use an integer or floating-point array of intensities (HU for CT)."
        )
    if array.ndim not in allowed_ndim:
        shapes = " or ".join({2: "(rows, cols)", 3: "(slices, rows, cols)"}[n] for n in allowed_ndim)
        raise InvalidImageError(
            f"{what} has {array.ndim} dimensions {array.shape}; expected {shapes}. "
            "Select one channel/time point of a 4-D image first."
        )
    if array.size == 0 or min(array.shape) == 0:
        raise InvalidImageError(f"{what} is empty (shape {array.shape}).")
    if min(array.shape[-2:]) < 2:
        raise InvalidImageError(f"{what} slice of shape {array.shape[-2:]} is too small to segment.")
    values = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(values)):
        bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        raise InvalidImageError(f"{what} contains {bad} NaN/inf values; replace them (e.g. with the background value).")
    if values.min() == values.max():  # a blank volume would still come back with organs the decoder imagines
        raise InvalidImageError(
            f"{what} holds the same value ({float(values.flat[0]):g}) everywhere: nothing to segment. "
            "Is it an empty image, or a mask given as the image?"
        )
    return values
