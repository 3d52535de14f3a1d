"""How the slice pane draws its picture: half blocks work in every true-colour terminal; Sixel and the kitty terminal
graphics protocol (TGP) draw at pixel resolution where the terminal supports them. `auto` lets textual-image ask the
terminal, which it does once, on import, and only while Textual has not yet taken the terminal over: resolve the
mode before the app runs."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.widget import Widget

GRAPHICS_MODES = ("auto", "halfblock", "sixel", "tgp")


def resolve_graphics(requested: str) -> str:
    """`auto` → the best mode this terminal answers to (`halfblock` when stdout is not a terminal)."""
    if requested not in GRAPHICS_MODES:
        raise ValueError(f"unknown graphics mode {requested!r}; choose one of {', '.join(GRAPHICS_MODES)}")
    if requested != "auto":
        return requested
    from textual_image.renderable import Image, SixelImage, TGPImage

    return {SixelImage: "sixel", TGPImage: "tgp"}.get(Image, "halfblock")


def picture_widget(mode: str, widget_id: str) -> "Widget":
    """The widget that shows the slice: a `Static` of half blocks, or a textual-image widget fed PIL images."""
    from textual.widgets import Static

    if mode == "halfblock":
        return Static(id=widget_id)
    from textual_image.widget import SixelImage, TGPImage

    widgets = {"sixel": SixelImage, "tgp": TGPImage}
    if mode not in widgets:
        raise ValueError(f"unknown graphics mode {mode!r}; resolve 'auto' with resolve_graphics() first")
    return widgets[mode](id=widget_id, classes="graphics")
