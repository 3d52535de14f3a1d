"""In-plane work on a stack of slices, split across the CPU's cores. scipy.ndimage's distance transforms and filters
release Python's lock while they run, so a correction's per-slice distance transforms (most of its gate's time) run
on every core at once instead of one; each slice's result is the same as computed alone."""

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_pool: ThreadPoolExecutor | None = None
_pool_made = threading.Lock()


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def per_slice(work: Callable[[np.ndarray], np.ndarray], stack: np.ndarray, dtype: type) -> np.ndarray:
    """`work` on each (rows, cols) plane of `stack` (Z, rows, cols), its results stacked as `dtype`; the slices are
    shared out in contiguous runs, one per core."""
    result = np.empty(stack.shape, dtype)

    def run(run_of_slices: range) -> None:
        for z in run_of_slices:
            result[z] = work(stack[z])

    runs = [r for r in np.array_split(np.arange(len(stack)), cores()) if r.size]
    if len(runs) <= 1:
        run(range(len(stack)))
        return result
    for finished in _shared_pool().map(run, [range(r[0], r[-1] + 1) for r in runs]):
        del finished  # map re-raises a worker's error here
    return result


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_made:
        if _pool is None:
            _pool = ThreadPoolExecutor(cores(), thread_name_prefix="slices")
        return _pool
