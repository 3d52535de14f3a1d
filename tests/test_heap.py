"""Freed memory kept for reuse (causal_sam_llm/heap.py): a volume-sized block freed stays in the process for the
next one instead of going back to the system, so the next correction's arrays need no fresh pages."""

import subprocess
import sys

from causal_sam_llm.heap import keep_freed_memory

ALLOCATE_AND_FREE = """
import sys
import threading
import numpy as np
from causal_sam_llm.heap import keep_freed_memory
if sys.argv[1] == "kept":
    assert keep_freed_memory()
def resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096
def volume_sized() -> None:
    block = np.ones(200 * 2**20, np.uint8)  # touched: 200 MiB resident
    del block
def slice_sized() -> None:  # as per-slice work on a worker thread allocates
    blocks = [np.ones(2**20, np.uint8) for _ in range(200)]
    del blocks
before = resident()
if sys.argv[2] == "main":
    volume_sized()
else:
    worker = threading.Thread(target=slice_sized)
    worker.start()
    worker.join()
print(resident() - before)
"""


def _kept_after_free(setting: str, where: str = "main") -> int:
    command = [sys.executable, "-c", ALLOCATE_AND_FREE, setting, where]
    return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()[-1])


def test_a_freed_volume_sized_block_stays_for_the_next_one_only_when_kept():
    if not sys.platform.startswith("linux"):  # glibc's allocator settings exist on Linux only: nothing is asked
        assert not keep_freed_memory()
        return
    assert _kept_after_free("default") < 50 * 2**20  # handed back to the system
    assert _kept_after_free("kept") > 190 * 2**20


def test_what_a_worker_thread_frees_stays_too_when_kept():
    if not sys.platform.startswith("linux"):
        assert not keep_freed_memory()
        return
    assert _kept_after_free("default", "thread") < 50 * 2**20
    assert _kept_after_free("kept", "thread") > 190 * 2**20  # a thread heap of its own kept 126 of 200 MiB
