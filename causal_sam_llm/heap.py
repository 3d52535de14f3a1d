"""Keeping freed memory for reuse. A correction makes a new mask version and scratch arrays of the volume's size
(420 MB of probabilities on a 512² study of 100 slices); glibc hands blocks that large to the system when they are
freed and takes fresh pages for the next one, and touching fresh pages is slow: on the development machine a 512²
correction's tool call took 4.94 / 4.85 s the first time and 2.03 / 2.80 s (median) after, against 1.37 / 1.34 s and
1.61 / 1.57 s with freed memory kept (two processes each, `python -m causal_sam_llm.bench.tool_latency`). The
`causal-sam-llm` command and the bench parts keep it; an application embedding the agent decides for its own process
(README, "Python API")."""

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_MAX = -4
M_ARENA_MAX = -8
KEEP_BYTES = 2**31 - 1  # free memory at the heap's top handed back only beyond this (the largest the int holds)
_kept = False


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to serve every block from its heap (no block of its own mapped and unmapped), every
    thread's too, and to keep freed memory there for the next block, so that the process's resident size stays at
    its peak rather than falling between corrections. Threads share the one heap because glibc gives a thread a heap
    of its own that hands freed memory back regardless: a correction's per-slice work runs on worker threads
    (segmentation/slice_threads.py), and each 512² shrink faulted in about 100 MB afresh (a throw-away count: 24839
    minor faults per shrink, 6 with one heap). Call it before threads start. Returns whether it applied (False off
    Linux or without glibc's mallopt)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    global _kept
    _kept = all([mallopt(M_MMAP_MAX, 0), mallopt(M_TRIM_THRESHOLD, KEEP_BYTES), mallopt(M_ARENA_MAX, 1)])
    return _kept


def freed_memory_kept() -> bool:
    """Whether `keep_freed_memory` applied in this process (benchmark reports say so)."""
    return _kept
