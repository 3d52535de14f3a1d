"""Per-slice work shared across the cores (segmentation/slice_threads.py) gives each slice what it gives alone, in
order, and a failing slice fails the call."""

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from causal_sam_llm.segmentation import slice_threads
from causal_sam_llm.segmentation.slice_threads import per_slice


@pytest.mark.parametrize("cores", [1, 2, 3])
def test_each_slice_gets_what_it_gets_alone(monkeypatch, cores):
    monkeypatch.setattr(slice_threads, "cores", lambda: cores)
    masks = np.random.default_rng(5).random((7, 30, 40)) > 0.6
    shared = per_slice(lambda m: distance_transform_edt(m, sampling=(1.5, 0.8)), masks, np.float64)
    alone = np.stack([distance_transform_edt(m, sampling=(1.5, 0.8)) for m in masks])
    np.testing.assert_array_equal(shared, alone)


def test_a_failing_slice_fails_the_call(monkeypatch):
    monkeypatch.setattr(slice_threads, "cores", lambda: 2)

    def fails_on_the_last(plane: np.ndarray) -> np.ndarray:
        if plane[0, 0] == 5:
            raise ValueError("slice 5 is bad")
        return plane

    with pytest.raises(ValueError, match="slice 5 is bad"):
        per_slice(fails_on_the_last, np.arange(6, dtype=np.float32)[:, None, None] * np.ones((6, 2, 2)), np.float32)
