"""MONAI Dice and HD95 on hand-made masks equal the values computed by hand."""

import math

import numpy as np
import pytest

from causal_sam_llm.segmentation.metrics import dice_hd95


def test_identical_masks():
    mask = np.zeros((8, 8, 4), bool)
    mask[2:5, 2:6, 1:3] = True
    assert dice_hd95(mask, mask, (1.0, 1.0, 1.0)) == (1.0, 0.0)


def test_half_overlap_dice_by_hand():
    a = np.zeros((10, 10, 3), bool)
    a[2:6, 2:6, 1] = True  # 16 voxels
    b = np.zeros((10, 10, 3), bool)
    b[2:6, 4:8, 1] = True  # 16 voxels, 8 shared → Dice = 2·8 / 32
    dice, _ = dice_hd95(a, b, (1.0, 1.0, 1.0))
    assert dice == pytest.approx(0.5)


def test_hd95_of_two_points_is_their_distance_in_mm():
    a = np.zeros((10, 10, 5), bool)
    b = np.zeros((10, 10, 5), bool)
    a[1, 1, 1] = True
    b[4, 5, 1] = True  # 3 voxels along x (0.5 mm), 4 along y (2 mm): sqrt(1.5² + 8²)
    dice, hd95 = dice_hd95(a, b, (0.5, 2.0, 3.0))
    assert dice == 0.0
    assert hd95 == pytest.approx(math.hypot(1.5, 8.0), rel=1e-5)


def test_empty_cases_follow_the_documented_rule():
    empty = np.zeros((4, 5, 6), bool)
    full = empty.copy()
    full[1, 1, 1] = True
    both = dice_hd95(empty, empty, (1.0, 1.0, 1.0))
    assert math.isnan(both[0]) and math.isnan(both[1])
    assert dice_hd95(empty, full, (1.0, 2.0, 2.0)) == (0.0, pytest.approx(math.sqrt(4**2 + 10**2 + 12**2)))
