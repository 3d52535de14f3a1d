"""`SlicePane`: the current axial slice with coloured organ overlays and, under it, the organ legend with volumes in
ml. It draws whatever `SliceScene` it is shown, so the chat app (and a snapshot test) only build scenes."""

from dataclasses import dataclass, field

import numpy as np
from PIL import Image as PILImage
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.widgets import Static

from causal_sam_llm.chat.graphics import picture_widget
from causal_sam_llm.chat.slice_render import fit, half_blocks, organ_colour, overlay_rgb, rgb_slice
from causal_sam_llm.tools.volume_text import ml

# Pixels across the picture sent to graphics terminals: sharper than half blocks, small enough to redraw at once.
GRAPHICS_WIDTH_PX = 512


@dataclass(frozen=True)
class SliceScene:
    """What the pane shows: one axial plane, its masks and the study's organ volumes."""

    plane: np.ndarray  # (rows, cols) intensities
    masks: np.ndarray | None  # (organs, rows, cols) bool, None before any segmentation
    row_col_aspect: float  # row spacing / column spacing (mm / mm)
    classes: tuple[str, ...]
    index: int  # 0-based slice index
    depth: int
    volumes_ml: dict[str, float] = field(default_factory=dict)


def legend_text(scene: SliceScene) -> str:
    # numbered as commands number slices ("grow the liver on slices 10 to 20" are 0-based axial indices)
    lines = [f"slice {scene.index} of 0–{scene.depth - 1}"]
    for index, name in enumerate(scene.classes):
        r, g, b = organ_colour(index)
        volume = ml(scene.volumes_ml[name]) if name in scene.volumes_ml else "—"
        lines.append(f"[rgb({r},{g},{b})]■[/] {name.replace('_', ' ')}: {volume}")
    return "\n".join(lines)


def picture_pixels(scene: SliceScene) -> PILImage.Image:
    """The overlay at up to GRAPHICS_WIDTH_PX across, with the slice's physical aspect."""
    rows, cols = scene.plane.shape
    width = max(cols, min(GRAPHICS_WIDTH_PX, 4 * cols))
    height = max(1, round(width * rows * scene.row_col_aspect / cols))
    return PILImage.fromarray(overlay_rgb(scene.plane, scene.masks, height, width))


class SlicePane(Vertical):
    def __init__(self, graphics: str = "halfblock", **kwargs) -> None:
        super().__init__(**kwargs)
        self.graphics = graphics
        self.scene: SliceScene | None = None

    def compose(self) -> ComposeResult:
        yield picture_widget(self.graphics, "slice")
        yield Static(id="legend")

    def show(self, scene: SliceScene) -> None:
        self.scene = scene
        self._draw_picture()
        self.query_one("#legend", Static).update(legend_text(scene))

    def legend(self) -> str:
        return legend_text(self.scene) if self.scene else ""

    def on_resize(self, _event: Resize) -> None:
        if self.scene is not None and self.graphics == "halfblock":  # drawn for the pane's size in cells
            self._draw_picture()

    def _draw_picture(self) -> None:
        picture = self.query_one("#slice")
        if self.graphics != "halfblock":
            picture.image = picture_pixels(self.scene)
            return
        width, height = fit(
            self.scene.plane.shape,
            max(picture.size.width, 20),
            max(picture.size.height, 10),
            self.scene.row_col_aspect,
        )
        picture.update(half_blocks(rgb_slice(self.scene.plane, self.scene.masks, width, height)))
