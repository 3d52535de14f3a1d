"""Intensity windows and SAM's letterbox geometry, with exact hand-made examples."""

import numpy as np
import torch

from causal_sam_llm.segmentation.intensity import normalize_mr, to_unit_range, window_ct
from causal_sam_llm.segmentation.letterbox import Letterbox


def test_abdomen_window_maps_its_edges_to_zero_and_one():
    hu = np.array([[-160.0, 40.0, 240.0, 1000.0]])
    np.testing.assert_allclose(window_ct(hu, "abdomen"), [[0.0, 0.5, 1.0, 1.0]])


def test_brain_window_is_narrow():
    hu = np.array([[0.0, 40.0, 80.0]])
    np.testing.assert_allclose(window_ct(hu, "brain"), [[0.0, 0.5, 1.0]])


def test_mr_percentiles_ignore_a_hot_outlier():
    signal = np.tile(np.linspace(0, 100, 1000), (10, 1))
    signal[0, 0] = 1e6
    unit = normalize_mr(signal)
    assert unit.min() == 0.0 and unit.max() == 1.0
    assert 0.45 < np.median(unit) < 0.55


def test_constant_mr_image_maps_to_zeros_not_nan():
    assert not to_unit_range(np.full((4, 4), 7.0), "MR").any()


def test_letterbox_keeps_aspect_and_pads_bottom_right():
    box = Letterbox(rows=128, cols=64, size=256)
    assert box.inner_shape == (256, 128)
    batch = box.image_to_input(np.ones((128, 64), np.float32))
    assert batch.shape == (1, 3, 256, 256)
    assert batch[0, 0, :, :128].min() == 1.0
    assert batch[0, 0, :, 128:].max() == 0.0


def test_mask_round_trip_through_letterbox_is_exact():
    mask = np.zeros((6, 4), np.uint8)
    mask[1:3, 1:3] = 1
    mask[4, 0] = 2
    mask[5, 3] = 3
    box = Letterbox(rows=6, cols=4, size=12)  # scale 2: every source pixel becomes a 2×2 block
    on_input = box.mask_to_input(mask)
    assert on_input.shape == (12, 12)
    assert (on_input[:, 8:] == 0).all()
    np.testing.assert_array_equal(on_input[2:6, 2:6], 1)
    np.testing.assert_array_equal(box.mask_to_source(on_input), mask)


def test_logits_map_back_to_source_shape_and_place():
    box = Letterbox(rows=100, cols=50, size=256)
    logits = torch.full((1, 256, 256), -10.0)
    logits[0, :128, :64] = 10.0  # the top-left quarter of the source, on the input grid
    restored = box.logits_to_source(logits)
    assert restored.shape == (1, 100, 50)
    positive = restored[0] > 0
    assert positive[:49, :24].all() and not positive[51:].any() and not positive[:, 26:].any()
