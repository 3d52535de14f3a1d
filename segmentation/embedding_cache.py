"""Content-addressed on-disk cache of image embeddings.

Key = sha256(preprocessed encoder input pixels, encoder name, encoder weights sha256), so a changed window, encoder
or checkpoint never returns a stale embedding. Each entry is `MAGIC + sha256(payload) + payload` (payload = .npy of
float16), written to a temporary file and renamed, so a reader sees a whole entry or none; a digest mismatch marks a
corrupt entry, which is deleted and recomputed. Least recently used entries are evicted past `max_bytes`.
"""

import contextlib
import hashlib
import io
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from causal_sam_llm.errors import CacheError

MAGIC = b"CSLEMB1\n"
_DIGEST = 32
DEFAULT_MAX_BYTES = 20 * 1024**3


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    evicted: int = 0


def embedding_key(pixels: np.ndarray, encoder_name: str, weights_sha256: str) -> str:
    digest = hashlib.sha256()
    digest.update(f"{encoder_name}|{weights_sha256}|{pixels.dtype}|{pixels.shape}|".encode())
    digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.hexdigest()


class EmbeddingCache:
    """Disk cache of float16 embeddings keyed by `embedding_key`."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cannot create cache folder {self.root}: {exc}. Set CAUSAL_SAM_LLM_HOME.") from exc

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.emb"

    def get(self, key: str) -> np.ndarray | None:
        """The stored array, or None on a miss or a corrupt entry (which is removed)."""
        path = self.path_for(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            self.stats.misses += 1
            return None
        array = _decode(blob)
        if array is None:
            self.stats.corrupt += 1
            self.stats.misses += 1
            path.unlink(missing_ok=True)
            return None
        _touch(path)
        self.stats.hits += 1
        return array

    def put(self, key: str, array: np.ndarray) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = _encode(array)
        handle, tmp_name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as tmp:
                tmp.write(blob)
            os.replace(tmp_name, path)
            _touch(path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        self._evict_beyond_limit()

    def entries(self) -> list[Path]:
        return sorted(self.root.glob("*/*.emb"))

    def total_bytes(self) -> int:
        return sum(size for _, size, _ in self._stats_of_entries())

    def clear(self) -> int:
        """Remove every entry; returns how many were removed."""
        removed = 0
        for path in self.entries():
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def _stats_of_entries(self) -> list[tuple[int, int, Path]]:
        """(last use, size, path) of every entry; one another process removed meanwhile is simply not there."""
        found = []
        for path in self.entries():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            found.append((stat.st_mtime_ns, stat.st_size, path))
        return found

    def _evict_beyond_limit(self) -> None:
        entries = self._stats_of_entries()
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            self.stats.evicted += 1


def _touch(path: Path) -> None:
    # Explicit nanosecond stamps: the file system's own clock is too coarse to order quick successive uses (LRU).
    now = time.time_ns()
    with contextlib.suppress(FileNotFoundError):  # another process sharing the cache evicted it just now
        os.utime(path, ns=(now, now))


def _encode(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=np.float16), allow_pickle=False)
    payload = buffer.getvalue()
    return MAGIC + hashlib.sha256(payload).digest() + payload


def _decode(blob: bytes) -> np.ndarray | None:
    head = len(MAGIC) + _DIGEST
    if len(blob) < head or not blob.startswith(MAGIC):
        return None
    payload = blob[head:]
    if hashlib.sha256(payload).digest() != blob[len(MAGIC) : head]:
        return None
    try:
        return np.load(io.BytesIO(payload), allow_pickle=False)
    except ValueError:
        return None
