"""An axial slice with coloured mask overlays, as pixels (for terminal graphics) or as terminal text: each cell is
'▀' with the upper pixel as foreground and the lower as background colour, so it works in any terminal with true
colour (two pixels per cell)."""

import numpy as np
from rich.style import Style
from rich.text import Text

ORGAN_RGB = [(230, 25, 75), (60, 180, 75), (67, 99, 216), (245, 130, 49), (145, 30, 180), (66, 212, 244)]


def organ_colour(index: int) -> tuple[int, int, int]:
    return ORGAN_RGB[index % len(ORGAN_RGB)]


def _grey(plane: np.ndarray) -> np.ndarray:
    low, high = np.percentile(plane, [1, 99])
    return np.clip((plane - low) / max(float(high - low), 1e-6), 0, 1)


def _resample(array: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Nearest-neighbour resize (masks stay binary)."""
    r = np.linspace(0, array.shape[0] - 1, rows).round().astype(int)
    c = np.linspace(0, array.shape[1] - 1, cols).round().astype(int)
    return array[np.ix_(r, c)]


def overlay_rgb(plane: np.ndarray, masks: np.ndarray | None, rows: int, cols: int) -> np.ndarray:
    """(rows, cols, 3) uint8: the grey slice with organs blended at 45% opacity; aspect kept by the caller."""
    grey = _resample(_grey(plane.astype(np.float32)), rows, cols)
    rgb = np.repeat(grey[..., None] * 255, 3, axis=2)
    if masks is not None:
        for index in range(masks.shape[0]):
            mask = _resample(masks[index], rows, cols)
            rgb[mask] = 0.55 * rgb[mask] + 0.45 * np.array(organ_colour(index))
    return rgb.astype(np.uint8)


def rgb_slice(plane: np.ndarray, masks: np.ndarray | None, width: int, height: int) -> np.ndarray:
    """(2·height, width, 3) uint8 pixels for `width` × `height` half-block cells."""
    return overlay_rgb(plane, masks, 2 * height, width)


def half_blocks(rgb: np.ndarray) -> Text:
    """(2·H, W, 3) pixels → H lines of W half-block cells."""
    text = Text()
    for row in range(0, rgb.shape[0] - 1, 2):
        for upper, lower in zip(rgb[row], rgb[row + 1], strict=True):
            text.append(
                "▀",
                Style(color=f"rgb({upper[0]},{upper[1]},{upper[2]})", bgcolor=f"rgb({lower[0]},{lower[1]},{lower[2]})"),
            )
        text.append("\n")
    return text


def fit(shape: tuple[int, int], max_width: int, max_height: int, aspect: float = 1.0) -> tuple[int, int]:
    """Cells (width, height) that fit the pane and keep the slice's shape (`aspect`: row/col spacing ratio)."""
    rows, cols = shape[0] * aspect, shape[1]
    width = max(8, min(max_width, int(2 * max_height * cols / rows)))
    height = max(4, int(width * rows / cols / 2))
    return width, height
