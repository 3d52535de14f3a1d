"""Wall-clock timing for the benches: seconds after the GPU has finished its queued work, medians over warm calls,
and rows timed in turn so that none pays for the process's heap still growing."""

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import numpy as np
import torch


def clock(device: str) -> float:
    """Seconds, after the GPU has finished what was queued (its kernels run asynchronously)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter()


def timed(function, device: str, repeats: int = 5) -> float:
    """Median seconds of `repeats` calls after one untimed warm-up call (first calls pay one-off allocations)."""
    function()
    times = []
    for _ in range(repeats):
        start = clock(device)
        function()
        times.append(clock(device) - start)
    return float(np.median(times))


def timed_in_turn(
    calls: list[tuple[str, Callable[[], object]]],
    device: str,
    setting: Callable[[str], AbstractContextManager],
    rounds: int = 5,
) -> list[float]:
    """Median seconds of each (note, call) over `rounds` rounds that call each once in turn, the order rotated each
    round, after one untimed call of each; each in the `setting` its note names. Timing them one after
    the other instead made the first rows pay for the process's heap still growing (the liver's grow 874 ms in one
    run, 659 ms alternated with its variant)."""
    for note, call in calls:
        with setting(note):
            call()
    times: list[list[float]] = [[] for _ in calls]
    for round_number in range(rounds):
        shift = round_number % len(calls)
        for index in [*range(shift, len(calls)), *range(shift)]:
            note, call = calls[index]
            with setting(note):
                start = clock(device)
                call()
                times[index].append(clock(device) - start)
    return [float(np.median(t)) for t in times]


def device_name(device: str) -> str:
    return f"GPU {torch.cuda.get_device_name(torch.device(device))}" if device.startswith("cuda") else "CPU"
