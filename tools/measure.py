"""Tool `measure`: organ volume in ml, or Dice (%) and HD95 (mm) against the loaded reference labels (MONAI)."""

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from causal_sam_llm.segmentation.metrics import dice_hd95
from causal_sam_llm.tools.schemas import OrganName, ToolResult, organ_of_loaded_model
from causal_sam_llm.tools.segment import organ_index
from causal_sam_llm.tools.volume_text import ml
from causal_sam_llm.tools.workbench import Workbench

DESCRIPTION = "Measure the current masks: volume_ml, or dice / hd95 against the study's reference labels."


class MeasureArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: Literal["volume_ml", "dice", "hd95"] = "volume_ml"
    organ: OrganName | Literal["all"] = "all"

    _organ_of_loaded_model = field_validator("organ", mode="before")(organ_of_loaded_model)


def measure(bench: Workbench, args: MeasureArgs) -> ToolResult:
    names = bench.classes if args.organ == "all" else [bench.classes[organ_index(bench, args.organ)]]
    if args.metric == "volume_ml":
        volumes = bench.organ_volumes_ml()
        values = {n: round(volumes[n], 1) for n in names}
        text = ", ".join(f"{n.replace('_', ' ')} {ml(v)}" for n, v in values.items())
        return ToolResult(tool="measure", message=f"Volumes: {text}.", data={"volume_ml": values})
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


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)
