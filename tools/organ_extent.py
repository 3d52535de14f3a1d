"""Which axial slices an organ's mask lies on, as the tools say it: the numbers a clinician scrolls to and names in a
correction ("on slices 9 to 14"), and how long that is along the body's axis."""

import numpy as np


def held_slices(mask: np.ndarray) -> list[int]:
    """The slices of a (Z, rows, cols) mask that hold any voxel, in order."""
    return [int(z) for z in np.nonzero(mask.reshape(len(mask), -1).any(axis=1))[0]]


def main_body_slices(organ_mask: np.ndarray) -> list[int]:
    """The slices of an organ's (Z, rows, cols) mask without the specks a segmenter leaves on slices apart from it:
    of the runs of consecutive slices it lies on, the one holding the most voxels (a fourth trial's "trim 2 slices
    off the top" had cut a speck far above the liver and left the liver's top as it was). Empty for an empty mask."""
    areas = organ_mask.reshape(len(organ_mask), -1).sum(axis=1)
    runs = consecutive_runs([int(z) for z in np.flatnonzero(areas)])
    return max(runs, key=lambda run: int(areas[run].sum()), default=[])


def consecutive_runs(slices: list[int]) -> list[list[int]]:
    """[3, 4, 5, 9] → [[3, 4, 5], [9]] (`slices` in order)."""
    runs: list[list[int]] = []
    for z in slices:
        if runs and z == runs[-1][-1] + 1:
            runs[-1].append(z)
        else:
            runs.append([z])
    return runs


def occupied_slices(mask: np.ndarray) -> tuple[int, int] | None:
    """(first, last) slice of a (Z, rows, cols) mask that holds any voxel; None for an empty mask."""
    held = held_slices(mask)
    return (held[0], held[-1]) if held else None


def span_text(mask: np.ndarray, slice_mm: float) -> str:
    """'slices 3–21 (19 slices, 190 mm)', 'slices 2 and 8–23 (17 slices)' where it has gaps (a segmenter's specks on
    far slices), 'slice 7 (1 slice, 4 mm)' or 'no slice'."""
    held = held_slices(mask)
    if not held:
        return "no slice"
    count = len(held)
    amount = f"{count} slice{'s' if count > 1 else ''}"
    if held[-1] - held[0] + 1 != count:  # gaps: a length from first to last would count slices it is not on
        return f"{slices_said(held)} ({amount})"
    return f"{slices_said(held)} ({amount}, {count * slice_mm:.0f} mm)"


def holds_none_of(mask: np.ndarray, slices: tuple[int, int]) -> bool:
    """Whether the inclusive slice range holds no voxel of the (Z, rows, cols) mask."""
    first, last = slices
    return not mask[first : last + 1].any()


def slices_said(slices: list[int]) -> str:
    """[3, 4, 5, 9] → 'slices 3–5 and 9'; [7] → 'slice 7'."""
    parts = [f"{run[0]}" if len(run) == 1 else f"{run[0]}–{run[-1]}" for run in consecutive_runs(slices)]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" and {parts[-1]}"
    return f"slice{'s' if len(slices) > 1 else ''} {listed}"
