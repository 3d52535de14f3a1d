"""The settings a TCI speed row may be timed in, named by the row's note: each puts back, for the one call, how a
correction was computed before one of the changes that made it faster or kept other organs' masks, so the bench times
both side by side in one run (bench/tci.py; bench/tci_grid.py reads `at_source_resolution`)."""

from contextlib import contextmanager, nullcontext

from causal_sam_llm.segmentation import slice_threads, tci_apply, tci_ranker
from causal_sam_llm.segmentation.correction_window import whole_volume
from causal_sam_llm.segmentation.letterbox import Letterbox


@contextmanager
def over_the_whole_volume():
    """Corrections computed over the whole volume, as before the correction window (segmentation/correction_window.py):
    the same result, for timing side by side."""

    def whole(_command, candidates, _spacing, _block=0):
        return whole_volume(candidates.shape)

    windowed, tci_apply.correction_window = tci_apply.correction_window, whole
    try:
        yield
    finally:
        tci_apply.correction_window = windowed


@contextmanager
def at_source_resolution():
    """Corrections computed on the source's own pixels, as before the pooled grid (segmentation/correction_grid.py),
    for timing side by side on a study finer than the decoder's grid."""
    pooling, tci_apply.pooling_factor = tci_apply.pooling_factor, lambda _letterbox: 1
    try:
        yield
    finally:
        tci_apply.pooling_factor = pooling


@contextmanager
def other_organs_not_kept():
    """Corrections that let another organ's mask change (before `tci_apply.keep_other_organs`), for its cost side by
    side."""
    keep, tci_apply.keep_other_organs = tci_apply.keep_other_organs, lambda *_arguments: None
    try:
        yield
    finally:
        tci_apply.keep_other_organs = keep


@contextmanager
def on_one_core():
    """Per-slice in-plane work (the gate's distance transforms and blur) on one core, as before it was shared across
    the cores (segmentation/slice_threads.py), for its gain side by side."""
    cores, slice_threads.cores = slice_threads.cores, lambda: 1
    try:
        yield
    finally:
        slice_threads.cores = cores


@contextmanager
def whole_slices_read():
    """The FiLM-modulated logits read from the whole slices' features and cut to the correction's window, as before
    a study on the decoder's grid read only the window's (decoded_volume.organ_logits): the same logits."""
    on_grid, Letterbox.is_mask_grid = Letterbox.is_mask_grid, lambda _letterbox: False
    try:
        yield
    finally:
        Letterbox.is_mask_grid = on_grid


@contextmanager
def ranker_in_fp32():
    """The learned ranker's convolutions in fp32, as before they ran in bf16 on CPUs with bf16 in hardware
    (tci_ranker._learned_precision), for what bf16 gives side by side."""
    native, tci_ranker.native_bf16 = tci_ranker.native_bf16, lambda _device: False
    try:
        yield
    finally:
        tci_ranker.native_bf16 = native


def setting_of(note: str):
    """The context a correction row of the bench is timed in, from its note."""
    if "one core" in note:
        return on_one_core()
    if "ranker in fp32" in note:
        return ranker_in_fp32()
    if "whole slices" in note:
        return whole_slices_read()
    if "whole volume" in note:
        return over_the_whole_volume()
    if "not kept" in note:
        return other_organs_not_kept()
    return at_source_resolution() if "source resolution" in note else nullcontext()
