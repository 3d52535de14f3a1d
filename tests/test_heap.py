"""Freed memory kept for reuse (causal_sam_llm/heap.py): a volume-sized block freed stays in the process for the
next one instead of going back to the system, so the next correction's arrays need no fresh pages."""

import subprocess
import sys

from causal_sam_llm.heap import keep_freed_memory

ALLOCATE_AND_FREE = """
import sys
import numpy as np
from causal_sam_llm.heap import keep_freed_memory
if sys.argv[1] == "kept":
    assert keep_freed_memory()
def resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096
before = resident()
block = np.ones(200 * 2**20, np.uint8)  # touched: 200 MiB resident
del block
print(resident() - before)
"""


def _kept_after_free(setting: str) -> int:
    run = subprocess.run([sys.executable, "-c", ALLOCATE_AND_FREE, setting], capture_output=True, text=True, check=True)
    return int(run.stdout.split()[-1])


def test_a_freed_volume_sized_block_stays_for_the_next_one_only_when_kept():
    if not sys.platform.startswith("linux"):  # glibc's allocator settings exist on Linux only: nothing is asked
        assert not keep_freed_memory()
        return
    assert _kept_after_free("default") < 50 * 2**20  # handed back to the system
    assert _kept_after_free("kept") > 190 * 2**20
