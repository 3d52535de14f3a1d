"""The learned read-out of a correction's evidence: where inside its gate the commanded amount goes.

A correction weighs three maps over its gate (tci_placement.PlacementEvidence): the FiLM-modulated decoder logits, the
image's intensity log-likelihood ratio and the box-prompted pretrained decoder's logits. Their fixed sum (weights
chosen on the training domain) ranks the gated voxels; `PlacementRanker` learns a correction to that sum from what
the three maps look like around each voxel, together with the gate, the organ's old probabilities, the command's
direction and each voxel's signed distance from the organ's edge in commanded reaches. It reads them on blocks of
2 × 2 decoder-grid pixels, and only on the rows and columns the gate spans (`gate_span`): a correction's window
then needs no margin for it, and a quarter of the pixels are read. It is trained on the simulated clinician's
corrections of the training domain against the reference (tci_ranker_training.py). Its last layer starts at zero,
so an untrained ranker is the fixed sum.

Why: the sum sets about three in four of the moved voxels right where a perfect ranking of the same amounts in the
same gates sets nine in ten (`python -m causal_sam_llm.bench.tci_placement`), and what it loses is mostly in-plane,
where the shape of the evidence around a voxel (an edge in the box logits, a rim in the intensities) says more than
its value."""

from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch
from scipy.ndimage import distance_transform_edt
from torch import nn
from torch.nn import functional

from causal_sam_llm.segmentation.backbone import native_bf16
from causal_sam_llm.segmentation.correction_grid import pooling_factor
from causal_sam_llm.segmentation.letterbox import Letterbox
from causal_sam_llm.segmentation.slice_threads import per_slice
from causal_sam_llm.segmentation.tci_gate import MAX_REACH_MM

FEATURES = 8  # the maps `ranker_features` stacks per slice
HIDDEN = 16
DEPTH_CAP = 4.0  # reaches: beyond this a voxel's distance from the edge says nothing more (the gate is 3 deep)
FAR_MM = 50.0  # a slice without the organ (or without background): every voxel this far from an edge
OUTPUT_SCALE = 10.0  # the learned term in logits, on the scale of the fixed sum
MEMBERS = 3
BLOCK = 2  # decoder-grid pixels per side that the learned term reads as one pixel


class RankerMember(nn.Module):
    """(slices, FEATURES, r, c) features on blocks of block × block pixels (`ranker_features`) and the fixed sum of
    evidence on the pixels → logits there: the sum, scaled, plus a learned term from a 3-layer dilated convolution
    (about 6 k parameters) on the blocks, interpolated back to the pixels: a quarter of the pixels, so the fine detail
    stays the fixed sum's. Its last layer starts at zero: the fixed sum."""

    def __init__(self) -> None:
        super().__init__()
        self.learned = nn.Sequential(
            nn.Conv2d(FEATURES, HIDDEN, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(HIDDEN, HIDDEN, 3, padding=2, dilation=2),
            nn.ReLU(),
            nn.Conv2d(HIDDEN, HIDDEN, 3, padding=4, dilation=4),
            nn.ReLU(),
            nn.Conv2d(HIDDEN, 1, 1),
        )
        nn.init.zeros_(self.learned[-1].weight)  # untrained: the fixed sum itself
        nn.init.zeros_(self.learned[-1].bias)
        self.sum_scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, features: torch.Tensor, fixed_sum: torch.Tensor, block: int = BLOCK) -> torch.Tensor:
        """`block`: pixels per side of `fixed_sum` that make one of `features`' (`block_px`)."""
        coarse = self.learned(features)
        return self.sum_scale * fixed_sum + OUTPUT_SCALE * _upsampled(coarse, block, fixed_sum.shape[-2:])


def _learned_precision(device: torch.device) -> AbstractContextManager:
    """bf16 for the learned term's convolutions where the CPU multiplies bf16 in hardware (as the encoder runs,
    backbone.native_bf16); the fixed sum it is added to stays fp32. A liver grow 0.96 s against 1.06 s with them in
    fp32 (`python -m causal_sam_llm.bench.tci`, side by side); eval-tci's table the same to 0.01 Dice."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if native_bf16(device) else nullcontext()


def _upsampled(coarse: torch.Tensor, block: int, shape: tuple[int, int]) -> torch.Tensor:
    """(slices, 1, r, c) learned term on the blocks → (slices, rows, cols) on the pixels, bilinear."""
    term = functional.interpolate(coarse, scale_factor=block, mode="bilinear", align_corners=False)
    return term[:, 0, : shape[0], : shape[1]]


class PlacementRanker(nn.Module):
    """The mean of MEMBERS rankers trained alike from different seeds: on the training domain's held-out cases one
    member's share of right voxels swung by up to 4 points with the seed (README, "TCI": `train-tci-ranker`)."""

    def __init__(self, members: list[RankerMember] | None = None) -> None:
        super().__init__()
        self.members = nn.ModuleList(members if members is not None else [RankerMember() for _ in range(MEMBERS)])

    def forward(self, features: torch.Tensor, fixed_sum: torch.Tensor, block: int = BLOCK) -> torch.Tensor:
        """The members' mean: interpolation and the scaled sum are linear, so they run once for all members (the
        members' own mean to float rounding, in less time)."""
        with _learned_precision(features.device):
            coarse = torch.stack([member.learned(features) for member in self.members]).mean(dim=0).float()
        scale = torch.stack([member.sum_scale for member in self.members]).mean()
        return scale * fixed_sum + OUTPUT_SCALE * _upsampled(coarse, block, fixed_sum.shape[-2:])


def block_px(letterbox: Letterbox) -> int:
    """Pixels per side of a correction's grid (source pixels, or pooled ones for a study finer than the decoder's)
    that make one pixel of the learned term: BLOCK pixels of the decoder's grid, the scale it was trained on."""
    return BLOCK * pooling_factor(letterbox)


def gate_span(gate: np.ndarray, block: int) -> tuple[slice, slice]:
    """The rows and columns the ranker reads for a (slices, rows, cols) gate: those the gate spans on any slice, the
    first on a block's edge (a closed gate, where nothing moves: all of them). Nothing outside them is read, so a
    correction inside its window reads what one over the whole volume reads: the window holds the gate and starts on
    a block's edge (correction_window.py), and every block lies where the whole volume's does."""
    rows = np.nonzero(gate.any(axis=(0, 2)))[0]
    if rows.size == 0:
        return slice(None), slice(None)
    cols = np.nonzero(gate.any(axis=(0, 1)))[0]
    top, left = int(rows[0]), int(cols[0])
    return slice(top - top % block, int(rows[-1]) + 1), slice(left - left % block, int(cols[-1]) + 1)


def ranker_features(
    decoder: np.ndarray,
    intensity: np.ndarray,
    box: np.ndarray | None,
    summed: np.ndarray,
    weight: np.ndarray,
    old: np.ndarray,
    growing: bool,
    strength: float,
    spacing_mm: tuple[float, float, float],
    block: int = BLOCK,
) -> np.ndarray:
    """(slices, FEATURES, ⌈rows / block⌉, ⌈cols / block⌉) float32 on blocks of block × block pixels (each map's
    mean there): each evidence map squashed to about ±1, the gate, the old probabilities, the direction (+1 grow,
    −1 shrink), the signed in-plane distance of the blocks from the organ's edge in commanded reaches (positive
    outside, capped at DEPTH_CAP) and the fixed sum (`summed`, tci_placement's PlacementEvidence.combined) squashed.
    Computed on the blocks, not the pixels: a quarter of the distance transforms' and maps' work."""
    boxed = box if box is not None else np.zeros_like(decoder)
    stacked = np.stack([decoder, intensity, boxed, weight, old, summed], axis=1).astype(np.float32, copy=False)
    pooled = functional.avg_pool2d(torch.from_numpy(stacked), block, ceil_mode=True).numpy()
    decoder, intensity, boxed, weight, old, summed = (pooled[:, k] for k in range(pooled.shape[1]))
    reach_mm = max(strength * MAX_REACH_MM, 1.0)
    block_mm = (spacing_mm[1] * block, spacing_mm[2] * block)
    depth = np.clip(signed_distance_mm(old > 0.5, block_mm) / reach_mm, -DEPTH_CAP, DEPTH_CAP) / DEPTH_CAP
    maps = [
        np.tanh(decoder / 10),
        np.tanh(intensity / 4),
        boxed / 10,
        weight,
        old,
        np.full(old.shape, 1.0 if growing else -1.0),
        depth,
        np.tanh(summed / 20),
    ]
    return np.stack(maps, axis=1).astype(np.float32)


def signed_distance_mm(member: np.ndarray, in_plane_mm: tuple[float, float]) -> np.ndarray:
    """(slices, rows, cols): per slice, mm from the organ's edge, positive outside it and negative inside (the
    slices shared out over the cores: slice_threads.py)."""

    def signed(plane: np.ndarray) -> np.ndarray | float:
        if plane.all() or not plane.any():
            return -FAR_MM if plane.all() else FAR_MM
        outside = distance_transform_edt(~plane, sampling=in_plane_mm)
        return outside - distance_transform_edt(plane, sampling=in_plane_mm)

    return per_slice(signed, member, np.float64)


@torch.inference_mode()
def ranked(ranker: PlacementRanker, features: np.ndarray, summed: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """The ranker's logits (slices, rows, cols) on `summed`'s pixels, float64 as the amount is solved in; `features`
    on its blocks (`ranker_features`). Channels-last: on 2 CPU cores half the time of the default layout for a
    100-slice liver (same logits to 1e-7)."""
    device = next(ranker.parameters()).device  # the generator carrying it may have been moved to a GPU
    stacked = torch.from_numpy(features).to(device).contiguous(memory_format=torch.channels_last)
    fixed_sum = torch.from_numpy(summed.astype(np.float32)).to(device)
    return ranker(stacked, fixed_sum, block).double().cpu().numpy()


def ranked_in_gate(
    ranker: PlacementRanker,
    features: np.ndarray,
    summed: np.ndarray,
    gate: np.ndarray,
    span: tuple[slice, slice],
    block: int = BLOCK,
) -> np.ndarray:
    """`ranked` where the gate is open, the fixed sum `summed` elsewhere (where no voxel can move): `features` are
    those of the gate's span (`gate_span`) only."""
    inside = (slice(None), *span)
    result = summed.astype(np.float64)
    scores = ranked(ranker, features, summed[inside], block)
    result[inside] = np.where(gate[inside], scores, result[inside])
    return result
