"""Tool `segment`: decode organ masks for the loaded study from cached embeddings (all organs or one)."""

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from causal_sam_llm.segmentation.intervention import SliceRange
from causal_sam_llm.tools.organ_extent import slices_said
from causal_sam_llm.tools.schemas import OrganName, ToolResult, organ_of_loaded_model
from causal_sam_llm.tools.volume_text import ml
from causal_sam_llm.tools.workbench import Workbench

DESCRIPTION = (
    "Segment (outline, contour) the loaded study: every organ ('all') or one organ, optionally only slices "
    "[first, last]."
)


class SegmentArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organ: OrganName | Literal["all"] = "all"

    _organ_of_loaded_model = field_validator("organ", mode="before")(organ_of_loaded_model)
    slices: SliceRange | None = Field(default=None, description="inclusive [first, last] axial slice indices")


def segment(bench: Workbench, args: SegmentArgs) -> ToolResult:
    depth = bench.depth
    organs = list(range(len(bench.classes))) if args.organ == "all" else [organ_index(bench, args.organ)]
    first, last = check_slices(args.slices, depth)
    slices = np.arange(first, last + 1)
    fresh = bench.decode(organs, slices)
    if bench.history is not None and bench.history.current is not None:
        probabilities = bench.probabilities().copy()
    else:
        probabilities = np.zeros((depth, len(bench.classes), *fresh.shape[2:]), np.float32)
    probabilities[np.ix_(slices, organs)] = fresh
    every_slice = first == 0 and last == depth - 1  # the organs' masks are automatic again (tools/provenance.py)
    segmented = tuple(bench.classes[o] for o in organs) if every_slice else ()
    version = bench.history.add(probabilities, f"segment {args.organ} slices {first}-{last}", segmented)
    bench.keep_box_evidence(organs)  # what corrections of these organs will weigh, decoded in the background
    bench.pooled_probabilities()  # on a study finer than the decoder's grid: pooled here, not by the first correction
    volumes = bench.organ_volumes_ml()
    named = bench.classes if args.organ == "all" else [args.organ]
    summary = ", ".join(f"{name.replace('_', ' ')} {ml(volumes[name])}" for name in named)
    return ToolResult(
        tool="segment",
        message=f"Segmented {args.organ} on {slices_said(list(range(first, last + 1)))}: {summary}.",
        data={"volumes_ml": {n: round(volumes[n], 1) for n in named}},
        version=version.number,
    )


def organ_index(bench: Workbench, organ: str) -> int:
    if organ not in bench.classes:
        raise ValueError(f"this model does not segment {organ!r}; it segments {', '.join(bench.classes)}.")
    return bench.classes.index(organ)


def check_slices(slices: tuple[int, int] | None, depth: int) -> tuple[int, int]:
    if slices is None:
        return 0, depth - 1
    first, last = slices
    if first > last or first < 0 or last >= depth:
        raise ValueError(f"slices [{first}, {last}] do not fit this volume; allowed 0..{depth - 1}, first <= last.")
    return first, last
