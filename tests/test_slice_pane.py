"""The chat's image pane: a fixed slice with two organ masks renders to the stored SVG snapshot (half blocks), the
legend lists volumes in ml, and the graphics modes (Sixel, kitty TGP) get the same overlay as a pixel picture."""

import asyncio

import numpy as np
import pytest
from textual.app import App, ComposeResult

from causal_sam_llm.chat.graphics import picture_widget, resolve_graphics
from causal_sam_llm.chat.slice_pane import SlicePane, SliceScene
from causal_sam_llm.chat.slice_render import organ_colour

CLASSES = ("liver", "spleen", "right_kidney", "left_kidney")


def _ellipse(shape: tuple[int, int], centre: tuple[float, float], radii: tuple[float, float]) -> np.ndarray:
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    return ((rows - centre[0]) / radii[0]) ** 2 + ((cols - centre[1]) / radii[1]) ** 2 <= 1


def _scene() -> SliceScene:
    """A 40 × 56 abdomen-like slice: body ellipse, a brighter liver on the image left (patient's right), a spleen."""
    shape = (40, 56)
    body = _ellipse(shape, (20, 28), (17, 26))
    liver = _ellipse(shape, (18, 16), (9, 10))
    spleen = _ellipse(shape, (16, 44), (5, 4))
    plane = np.where(body, 40.0, -1000.0) + 30.0 * liver + 15.0 * spleen
    masks = np.zeros((4, *shape), dtype=bool)
    masks[0], masks[1] = liver, spleen
    return SliceScene(plane, masks, 1.0, CLASSES, index=6, depth=12, volumes_ml={"liver": 1520.4, "spleen": 180.0})


class PaneApp(App):
    CSS = "SlicePane { width: 1fr; } #slice { height: 1fr; } #legend { height: auto; }"

    def __init__(self, graphics: str) -> None:
        super().__init__()
        self.graphics = graphics

    def compose(self) -> ComposeResult:
        yield SlicePane(self.graphics)

    def on_mount(self) -> None:
        self.query_one(SlicePane).show(_scene())


async def _render(graphics: str) -> tuple[str, str, object]:
    """(SVG screenshot, legend text, the picture widget) of the pane showing the fixed scene."""
    app = PaneApp(graphics)
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        return app.export_screenshot(), app.query_one(SlicePane).legend(), app.query_one("#slice")


def test_half_block_pane_matches_its_svg_snapshot(svg_snapshot):
    svg, legend, _picture = asyncio.run(_render("halfblock"))
    svg_snapshot("slice_pane_halfblock", svg)
    assert "slice 6 of 0–11" in legend and "liver: 1520 ml" in legend and "spleen: 180 ml" in legend
    assert "right kidney: —" in legend


@pytest.mark.parametrize("mode", ["sixel", "tgp"])
def test_graphics_modes_get_the_overlay_as_pixels(mode):
    _svg, _legend, widget = asyncio.run(_render(mode))
    picture = widget.image
    assert picture.size == (224, 160)  # 4× the 56 × 40 pixels (at most 512 across), aspect kept
    liver_centre = np.asarray(picture)[int(18 / 40 * 160), int(16 / 56 * 224)]
    red = organ_colour(0)[0]
    assert liver_centre[0] > liver_centre[1] + 40 and abs(int(liver_centre[0]) - red) < 120


def test_an_unknown_graphics_mode_is_refused_by_name():
    with pytest.raises(ValueError, match="halfblock"):
        resolve_graphics("ascii-art")
    with pytest.raises(ValueError, match="resolve_graphics"):
        picture_widget("auto", "slice")
