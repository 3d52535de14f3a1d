"""An overlay PNG of the current masks on one axial slice (for replay reports): organ contours in fixed colours."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"]


def busiest_slice(masks: np.ndarray, organ: int | None = None) -> int:
    """The axial slice with the most foreground (of `organ`, or of all organs)."""
    selected = masks[:, organ] if organ is not None else masks.any(axis=1)
    return int(selected.reshape(len(selected), -1).sum(axis=1).argmax())


def write_overlay(
    image: np.ndarray, masks: np.ndarray, classes: list[str], slice_index: int, title: str, path: Path
) -> None:
    """image: (Z, rows, cols) axial; masks: (Z, C, rows, cols) bool."""
    plane = image[slice_index].astype(np.float32)
    low, high = np.percentile(plane, [1, 99])
    figure, axis = plt.subplots(figsize=(4, 4))
    axis.imshow(np.clip((plane - low) / max(high - low, 1e-6), 0, 1), cmap="gray")
    for index, name in enumerate(classes):
        if masks[slice_index, index].any():
            axis.contour(masks[slice_index, index], levels=[0.5], colors=[COLOURS[index % len(COLOURS)]], linewidths=1)
            axis.plot([], [], color=COLOURS[index % len(COLOURS)], label=name.replace("_", " "))
    axis.set_title(f"{title} (slice {slice_index})", fontsize=8)
    axis.axis("off")
    if axis.get_legend_handles_labels()[0]:
        axis.legend(loc="lower right", fontsize=6)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
