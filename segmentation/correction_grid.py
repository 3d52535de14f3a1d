"""The grid a correction is computed on. The decoder sees every slice on its MASK_GRID² output (256²): its logits,
the FiLM gate and the box evidence all live there. A study finer than that — a clinical 512² CT — has its
probabilities only as those logits resized up, so computing a correction's per-voxel work (distance transforms,
intensity evidence, the amount's solve) at source resolution costs four times as much per halving of the pixel and
adds no decision the decoder could make. Such a study's correction is computed on its planes pooled by a whole factor
to about the decoder's grid (`pooling_factor`; probabilities and image as block means, pixel spacing × the factor),
and the change it makes is carried back to the source grid bilinearly (`change_on_source`): where it changed nothing,
the source's values stay as they were to the bit. Slices are never pooled, so a named slice range means the same.
Measured side by side in `python -m causal_sam_llm.bench.tci --size 512`."""

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from causal_sam_llm.segmentation.letterbox import Letterbox


def pooling_factor(letterbox: Letterbox) -> int:
    """How many source pixels per side make one pixel of the grid corrections are computed on: the whole number of
    source pixels per decoder pixel (1 for a source no finer than the decoder's grid, 2 for a 512² slice)."""
    inner_rows, inner_cols = letterbox.on_mask_grid().inner_shape
    return max(1, min(letterbox.rows // inner_rows, letterbox.cols // inner_cols))


def pooled_letterbox(letterbox: Letterbox, factor: int) -> Letterbox:
    """The same placement for the pooled planes (partial blocks at the far edges count as a pixel)."""
    return Letterbox(math.ceil(letterbox.rows / factor), math.ceil(letterbox.cols / factor), letterbox.size)


def pooled(planes: np.ndarray, factor: int) -> np.ndarray:
    """(..., rows, cols) → block means over factor × factor pixels, float32; a partial block at the bottom or right
    edge is the mean of the pixels it holds."""
    stack = _read_only_tensor(np.require(planes, np.float32, ["C"]))
    flat = stack.reshape(-1, 1, *stack.shape[-2:])
    means = F.avg_pool2d(flat, factor, ceil_mode=True)
    return means.reshape(*planes.shape[:-2], *means.shape[-2:]).numpy()


def pool_again_within(pooled_planes: np.ndarray, planes: np.ndarray, box: tuple[slice, ...], factor: int) -> None:
    """`pooled_planes` (`pooled(planes, factor)` before `planes` changed) brought up to date in place, where `planes`
    (Z, C, rows, cols) changed only inside `box` (slices, channels, rows, cols): only the blocks the box touches are
    pooled again, each from the same pixels as a whole pass would (so to the bit the same means)."""
    slices, channels, rows, cols = box
    row_blocks = _blocks_over(rows, planes.shape[-2], factor)
    col_blocks = _blocks_over(cols, planes.shape[-1], factor)
    fine_rows = slice(row_blocks.start * factor, row_blocks.stop * factor)
    fine_cols = slice(col_blocks.start * factor, col_blocks.stop * factor)
    pooled_planes[slices, channels, row_blocks, col_blocks] = pooled(
        planes[slices, channels, fine_rows, fine_cols], factor
    )


def _blocks_over(span: slice, length: int, factor: int) -> slice:
    """The pooled pixels whose blocks hold any of the source pixels `span` of a side `length` long."""
    start, stop, _step = span.indices(length)
    return slice(start // factor, -(-stop // factor))


def pooled_image(image: np.ndarray, letterbox: Letterbox) -> np.ndarray | None:
    """The (Z, rows, cols) image on the grid its corrections are computed on; None when that is its own grid. A caller
    correcting one study many times keeps this rather than have each correction pool the image's slices again (one
    pass over 100 MB per correction at 512²: 0.926 vs 0.919 s in `bench.tci --size 512`, within that machine's
    noise)."""
    factor = pooling_factor(letterbox)
    return None if factor == 1 else pooled(image, factor)


def _read_only_tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing `array`'s memory, for reading only: a kept image or version is read-only, and copying one to
    make it writable (as torch asks) put a volume-sized copy on every correction at 512²."""
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


def change_on_source(change: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """(..., r, c) change on the pooled grid → (..., rows, cols) on the source grid, bilinear about each block's
    centre, cut to `shape` (the source's part of the last blocks)."""
    stack = torch.from_numpy(np.ascontiguousarray(change, np.float32))
    flat = stack.reshape(-1, 1, *stack.shape[-2:])
    size = (flat.shape[-2] * factor, flat.shape[-1] * factor)
    fine = F.interpolate(flat, size=size, mode="bilinear", align_corners=False)[..., : shape[0], : shape[1]]
    return fine.reshape(*change.shape[:-2], *fine.shape[-2:]).numpy()
