"""Tool `measure`: organ volume in ml, the slices an organ lies on, or Dice (%) and HD95 (mm) against the loaded
reference labels (MONAI) — of the whole volume or of the slices named ("the liver's volume on slices 12 to 14")."""

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from causal_sam_llm.segmentation.intervention import SliceRange
from causal_sam_llm.segmentation.metrics import dice_hd95
from causal_sam_llm.tools.earlier_masks import parent_masks
from causal_sam_llm.tools.organ_extent import occupied_slices, span_text
from causal_sam_llm.tools.schemas import OrganName, ToolResult, organ_of_loaded_model
from causal_sam_llm.tools.segment import check_slices, organ_index
from causal_sam_llm.tools.volume_text import ml
from causal_sam_llm.tools.workbench import Workbench

DESCRIPTION = (
    "Measure the current masks: volume_ml; extent (the slices each organ lies on, e.g. 'which slices is the liver "
    "on?', 'how many slices does it span?'); or dice / hd95 against the study's reference labels; optional slices: "
    "measure only there."
)


class MeasureArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: Literal["volume_ml", "extent", "dice", "hd95"] = "volume_ml"
    organ: OrganName | Literal["all"] = "all"
    slices: SliceRange | None = Field(default=None, description="inclusive [first, last] axial slice indices")

    _organ_of_loaded_model = field_validator("organ", mode="before")(organ_of_loaded_model)


def measure(bench: Workbench, args: MeasureArgs) -> ToolResult:
    names = bench.classes if args.organ == "all" else [bench.classes[organ_index(bench, args.organ)]]
    first, last = check_slices(args.slices, bench.depth)  # a range outside the volume is refused before measuring
    slab = slice(first, last + 1)
    on = "" if args.slices is None else f" on slices {first}–{last}"
    if args.metric == "volume_ml":
        volumes = bench.organ_volumes_ml() if args.slices is None else _volumes_on(bench, names, slab)
        values = {n: round(volumes[n], 1) for n in names}
        text = ", ".join(f"{n.replace('_', ' ')} {ml(v)}" for n, v in values.items())
        return ToolResult(tool="measure", message=f"Volumes{on}: {text}.", data={"volume_ml": values})
    if args.metric == "extent":
        return _extent(bench, names, first, last)
    reference = bench.reference()
    if reference is None:
        raise ValueError("this study has no reference labels, so Dice/HD95 cannot be measured; volumes can.")
    masks, spacing = bench.masks()[slab], bench.require_case().axial_spacing_mm()
    scores = {name: _scores(masks, reference[slab], bench.classes.index(name), spacing) for name in names}
    earlier = _earlier_scores(bench, names, reference[slab], slab, spacing)
    key, unit = ("dice", "%") if args.metric == "dice" else ("hd95_mm", " mm")
    text = ", ".join(
        f"{n.replace('_', ' ')} {_score_text(s[key], unit)}{_earlier_text(earlier, n, key, unit)}"
        for n, s in scores.items()
    )
    message = f"{METRIC_NAMES[args.metric]}{on}: {text}.{_worst_text(scores, key, unit)}"
    data = {name: {**s, **({"before": earlier[name]} if name in earlier else {})} for name, s in scores.items()}
    return ToolResult(tool="measure", message=message, data=data)


def _scores(masks: np.ndarray, reference: np.ndarray, index: int, spacing: tuple[float, ...]) -> dict:
    dice, hd95 = dice_hd95(masks[:, index], reference[:, index], spacing)
    return {"dice": _round(100 * dice), "hd95_mm": _round(hd95)}


def _earlier_scores(
    bench: Workbench, names: list[str], reference: np.ndarray, slab: slice, spacing: tuple[float, ...]
) -> dict[str, dict]:
    """The scores, in the version the current one was made from, of the named organs whose masks it changed (with
    that version's number): "is the liver better now?" is answered before → after."""
    earlier = parent_masks(bench)
    if earlier is None:
        return {}
    now, before = bench.masks()[slab], earlier.masks[slab]
    indices = {name: bench.classes.index(name) for name in names}
    changed = [n for n, i in indices.items() if not np.array_equal(now[:, i], before[:, i])]
    return {n: {"version": earlier.version, **_scores(before, reference, indices[n], spacing)} for n in changed}


def _earlier_text(earlier: dict[str, dict], name: str, key: str, unit: str) -> str:
    """' (was 82.6% in version 2)' for an organ the current version changed, else nothing."""
    if name not in earlier:
        return ""
    return f" (was {_score_text(earlier[name][key], unit)} in version {earlier[name]['version']})"


METRIC_NAMES = {"dice": "Dice", "hd95": "HD95"}
# an organ neither the mask nor the reference holds (there, or on the slices named) has no score, not "None%"
NOT_SCORED = "not scored (in neither the mask nor the reference)"


def _worst_text(scores: dict[str, dict], key: str, unit: str) -> str:
    """Which scored organ is segmented worst, when several are: the lowest Dice, the largest HD95 (a clinician asking
    "which organ is worst?" had been given every Dice and left to compare them)."""
    scored = {name: s[key] for name, s in scores.items() if s[key] is not None}
    if len(scored) < 2:
        return ""
    pick, word = (min, "Lowest") if key == "dice" else (max, "Largest")
    worst = pick(scored, key=scored.__getitem__)
    return f" {word}: {worst.replace('_', ' ')} ({scored[worst]}{unit})."


def _score_text(value: float | None, unit: str) -> str:
    return NOT_SCORED if value is None else f"{value}{unit}"


def _volumes_on(bench: Workbench, names: list[str], slab: slice) -> dict[str, float]:
    """Each named organ's volume (ml) on the slices of `slab` only."""
    voxel_ml = bench.voxel_ml()
    masks = bench.masks()
    return {name: float(np.count_nonzero(masks[slab, bench.classes.index(name)]) * voxel_ml) for name in names}


def _extent(bench: Workbench, names: list[str], first: int, last: int) -> ToolResult:
    """The slices each organ's current mask lies on, among slices `first`–`last`, numbered as corrections name them."""
    masks, slice_mm = bench.masks(), bench.require_case().axial_spacing_mm()[0]
    organ_masks = {name: _on_slices(masks[:, bench.classes.index(name)], first, last) for name in names}
    text = "; ".join(f"{name.replace('_', ' ')} on {span_text(mask, slice_mm)}" for name, mask in organ_masks.items())
    spans = {name: occupied_slices(mask) for name, mask in organ_masks.items()}
    data = {"slices": {name: None if span is None else list(span) for name, span in spans.items()}}
    return ToolResult(tool="measure", message=f"Of slices {first}–{last}: {text}.", data=data)


def _on_slices(mask: np.ndarray, first: int, last: int) -> np.ndarray:
    """A (Z, rows, cols) mask with nothing outside slices `first`–`last`: slice numbers stay the volume's."""
    if first == 0 and last == len(mask) - 1:
        return mask
    kept = np.zeros_like(mask)
    kept[first : last + 1] = mask[first : last + 1]
    return kept


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)
