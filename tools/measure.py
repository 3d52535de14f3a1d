"""Tool `measure`: organ volume in ml, the slices an organ lies on, or Dice (%) and HD95 (mm) against the loaded
reference labels (MONAI)."""

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from causal_sam_llm.segmentation.metrics import dice_hd95
from causal_sam_llm.tools.organ_extent import occupied_slices, span_text
from causal_sam_llm.tools.schemas import OrganName, ToolResult, organ_of_loaded_model
from causal_sam_llm.tools.segment import organ_index
from causal_sam_llm.tools.volume_text import ml
from causal_sam_llm.tools.workbench import Workbench

DESCRIPTION = (
    "Measure the current masks: volume_ml; extent (the slices each organ lies on, e.g. 'which slices is the liver "
    "on?', 'how many slices does it span?'); or dice / hd95 against the study's reference labels."
)


class MeasureArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: Literal["volume_ml", "extent", "dice", "hd95"] = "volume_ml"
    organ: OrganName | Literal["all"] = "all"

    _organ_of_loaded_model = field_validator("organ", mode="before")(organ_of_loaded_model)


def measure(bench: Workbench, args: MeasureArgs) -> ToolResult:
    names = bench.classes if args.organ == "all" else [bench.classes[organ_index(bench, args.organ)]]
    if args.metric == "volume_ml":
        volumes = bench.organ_volumes_ml()
        values = {n: round(volumes[n], 1) for n in names}
        text = ", ".join(f"{n.replace('_', ' ')} {ml(v)}" for n, v in values.items())
        return ToolResult(tool="measure", message=f"Volumes: {text}.", data={"volume_ml": values})
    if args.metric == "extent":
        return _extent(bench, names)
    reference = bench.reference()
    if reference is None:
        raise ValueError("this study has no reference labels, so Dice/HD95 cannot be measured; volumes can.")
    masks, spacing = bench.masks(), bench.require_case().axial_spacing_mm()
    scores = {}
    for name in names:
        index = bench.classes.index(name)
        dice, hd95 = dice_hd95(masks[:, index], reference[:, index], spacing)
        scores[name] = {"dice": _round(100 * dice), "hd95_mm": _round(hd95)}
    key, unit = ("dice", "%") if args.metric == "dice" else ("hd95_mm", " mm")
    text = ", ".join(f"{n.replace('_', ' ')} {s[key]}{unit}" for n, s in scores.items())
    return ToolResult(tool="measure", message=f"{args.metric.upper()}: {text}.", data=scores)


def _extent(bench: Workbench, names: list[str]) -> ToolResult:
    """The slices each organ's current mask lies on, numbered as corrections name them."""
    masks, slice_mm = bench.masks(), bench.require_case().axial_spacing_mm()[0]
    organ_masks = {name: masks[:, bench.classes.index(name)] for name in names}
    text = "; ".join(f"{name.replace('_', ' ')} on {span_text(mask, slice_mm)}" for name, mask in organ_masks.items())
    spans = {name: occupied_slices(mask) for name, mask in organ_masks.items()}
    data = {"slices": {name: None if span is None else list(span) for name, span in spans.items()}}
    return ToolResult(tool="measure", message=f"Of slices 0–{bench.depth - 1}: {text}.", data=data)


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)
