"""The on-disk embedding cache on its own: keys, hits, misses, corruption, atomic writes and the size limit."""

import numpy as np

from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache, embedding_key


def _array(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((4, 8, 8)).astype(np.float16)


def test_miss_then_hit_returns_the_stored_array(cache_dir):
    cache = EmbeddingCache(cache_dir)
    assert cache.get("ab" * 32) is None
    cache.put("ab" * 32, _array(0))
    np.testing.assert_array_equal(cache.get("ab" * 32), _array(0))
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)


def test_key_depends_on_pixels_encoder_and_weights():
    pixels = np.zeros((3, 8, 8), np.float32)
    base = embedding_key(pixels, "litemedsam", "sha-a")
    assert base == embedding_key(pixels.copy(), "litemedsam", "sha-a")
    assert base != embedding_key(pixels, "mobilesam", "sha-a")
    assert base != embedding_key(pixels, "litemedsam", "sha-b")
    changed = pixels.copy()
    changed[0, 0, 0] = 1e-6
    assert base != embedding_key(changed, "litemedsam", "sha-a")


def test_truncated_entry_is_a_miss_and_removed(cache_dir):
    cache = EmbeddingCache(cache_dir)
    cache.put("cd" * 32, _array(1))
    path = cache.path_for("cd" * 32)
    path.write_bytes(path.read_bytes()[:20])
    assert cache.get("cd" * 32) is None
    assert cache.stats.corrupt == 1
    assert not path.exists()


def test_writes_leave_no_temporary_files(cache_dir):
    cache = EmbeddingCache(cache_dir)
    for seed in range(3):
        cache.put(f"{seed:02d}" * 32, _array(seed))
    assert not list(cache_dir.rglob("*.tmp"))
    assert len(cache.entries()) == 3


def test_size_limit_evicts_least_recently_used(cache_dir):
    cache = EmbeddingCache(cache_dir, max_bytes=10**9)
    cache.put("aa" * 32, _array(0))
    entry_size = cache.total_bytes()
    cache.max_bytes = 2 * entry_size
    cache.put("bb" * 32, _array(1))
    cache.get("aa" * 32)  # touch: "bb" is now the least recently used
    cache.put("cc" * 32, _array(2))
    assert cache.get("bb" * 32) is None
    assert cache.get("aa" * 32) is not None
    assert cache.get("cc" * 32) is not None
    assert cache.stats.evicted == 1


def test_clear_removes_every_entry(cache_dir):
    cache = EmbeddingCache(cache_dir)
    cache.put("aa" * 32, _array(0))
    cache.put("bb" * 32, _array(1))
    assert cache.clear() == 2
    assert cache.entries() == []


def test_an_entry_another_process_removed_meanwhile_is_skipped(cache_dir):
    """Two processes share one cache: an entry listed, then evicted by the other before it is stat-ed or touched."""
    cache = EmbeddingCache(cache_dir, max_bytes=10**9)
    cache.put("aa" * 32, np.zeros((4, 4), np.float16))
    cache.put("bb" * 32, np.ones((4, 4), np.float16))
    listed = cache.entries()
    listed[0].unlink()
    cache.entries = lambda: listed  # this process still holds the listing made before the removal
    cache.put("cc" * 32, np.ones((4, 4), np.float16))
    assert cache.total_bytes() > 0
