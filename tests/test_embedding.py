"""Embedding the real abdominal CT slice from pydicom-data: shape, finiteness, determinism, cache behaviour."""

import numpy as np

from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache


def test_real_ct_slice_loads_in_hounsfield_units(real_ct_slice):
    assert real_ct_slice.modality == "CT"
    assert real_ct_slice.pixels.shape == (512, 512)
    assert real_ct_slice.pixels.min() == -1024  # air outside the body
    assert 0 < np.median(real_ct_slice.pixels[200:300, 200:300]) < 200  # soft tissue in the abdomen


def test_real_ct_embedding_is_finite_right_shape_and_repeatable(litemedsam, real_ct_slice):
    embedder = SliceEmbedder(litemedsam, cache=None)
    first = embedder.embed(real_ct_slice.pixels, "CT").embeddings
    second = embedder.embed(real_ct_slice.pixels, "CT").embeddings
    assert first.shape == (1, 256, 64, 64)
    assert first.dtype == np.float32
    assert np.isfinite(first).all()
    assert first.std() > 0.01
    np.testing.assert_array_equal(first, second)
    assert embedder.encoder_calls == 2


def test_second_pass_over_a_volume_makes_zero_encoder_calls(litemedsam, real_ct_slice, cache_dir):
    volume = np.stack([real_ct_slice.pixels, real_ct_slice.pixels[::-1].copy()])
    embedder = SliceEmbedder(litemedsam, EmbeddingCache(cache_dir))
    computed = embedder.embed(volume, "CT").embeddings
    assert embedder.encoder_calls == 2
    cached = embedder.embed(volume, "CT").embeddings
    assert embedder.encoder_calls == 2
    np.testing.assert_array_equal(computed, cached)


def test_other_window_is_a_different_cache_entry(litemedsam, real_ct_slice, cache_dir):
    embedder = SliceEmbedder(litemedsam, EmbeddingCache(cache_dir))
    abdomen = embedder.embed(real_ct_slice.pixels, "CT", window="abdomen").embeddings
    bone = embedder.embed(real_ct_slice.pixels, "CT", window="bone").embeddings
    assert embedder.encoder_calls == 2
    assert not np.array_equal(abdomen, bone)


def test_corrupt_cache_entry_is_detected_and_recomputed(litemedsam, real_ct_slice, cache_dir):
    cache = EmbeddingCache(cache_dir)
    embedder = SliceEmbedder(litemedsam, cache)
    good = embedder.embed(real_ct_slice.pixels, "CT").embeddings
    (entry,) = cache.entries()
    blob = bytearray(entry.read_bytes())
    blob[-100] ^= 0xFF  # flip bits inside the stored array
    entry.write_bytes(bytes(blob))
    again = embedder.embed(real_ct_slice.pixels, "CT").embeddings
    assert cache.stats.corrupt == 1
    assert embedder.encoder_calls == 2
    np.testing.assert_array_equal(good, again)
