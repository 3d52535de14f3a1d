"""A PNG montage of one anatomy across styles, with coloured label overlays, for a radiologist to check at a glance."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from causal_sam_llm.datasets.case import Case

# Conventional-looking colours per unified class value (abdomen: liver, spleen, right kidney, left kidney).
COLOURS = {1: (0.85, 0.35, 0.2), 2: (0.3, 0.5, 0.95), 3: (0.95, 0.85, 0.2), 4: (0.3, 0.85, 0.4)}


def display_window(case: Case, image: np.ndarray) -> np.ndarray:
    """0..1 grey for display: abdominal window for CT, 1–99 percentiles for MR."""
    if case.modality == "CT":
        return np.clip((image + 160.0) / 400.0, 0, 1)
    low, high = np.percentile(case.image, (1, 99))
    return np.clip((image - low) / max(high - low, 1e-6), 0, 1)


def busiest_slice(case: Case) -> int:
    """The axial slice with the most labelled voxels."""
    return int(np.argmax((case.axial_labels() > 0).sum(axis=(1, 2))))


def overlay(grey: np.ndarray, labels: np.ndarray, alpha: float = 0.35) -> np.ndarray:
    rgb = np.repeat(grey[..., None], 3, axis=2)
    for value, colour in COLOURS.items():
        inside = labels == value
        rgb[inside] = (1 - alpha) * rgb[inside] + alpha * np.array(colour)
    return rgb


def write_montage(cases: list[Case], out: Path, slice_index: int | None = None) -> Path:
    """Top row: each case's image; bottom row: with labels. All cases should share one anatomy."""
    index = busiest_slice(cases[0]) if slice_index is None else slice_index
    figure, axes = plt.subplots(2, len(cases), figsize=(3.2 * len(cases), 6.6), squeeze=False)
    for column, case in enumerate(cases):
        grey = display_window(case, case.axial_image()[index])
        axes[0, column].imshow(grey, cmap="gray", vmin=0, vmax=1)
        axes[0, column].set_title(f"{case.metadata.get('style', case.sequence)} ({case.modality})", fontsize=10)
        axes[1, column].imshow(overlay(grey, case.axial_labels()[index]))
        for axis in axes[:, column]:
            axis.set_axis_off()
    figure.suptitle(f"{cases[0].anatomy_key}, axial slice {index}\npatient's right on the left", fontsize=9)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    plt.close(figure)
    return out
