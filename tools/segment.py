"""Tool `segment`: decode organ masks for the loaded study from cached embeddings (all organs or one)."""

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from causal_sam_llm.segmentation.intervention import SliceRange
from causal_sam_llm.tools.organ_extent import slices_said
from causal_sam_llm.tools.schemas import OrganName, ToolResult, organ_of_loaded_model
from causal_sam_llm.tools.volume_text import ml
from causal_sam_llm.tools.workbench import Workbench

# a version's probabilities are kept in half precision: a fresh decode equal to them differs by up to 2^-12
STORAGE_PRECISION = 1e-3
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
    earlier = bench.history is not None and bench.history.current is not None
    if earlier:
        probabilities = bench.probabilities().copy()
        before = bench.masks()
        unchanged = np.abs(probabilities[np.ix_(slices, organs)] - fresh).max() <= STORAGE_PRECISION
    else:
        probabilities = np.zeros((depth, len(bench.classes), *fresh.shape[2:]), np.float32)
    probabilities[np.ix_(slices, organs)] = fresh
    named = bench.classes if args.organ == "all" else [args.organ]
    where = slices_said(list(range(first, last + 1)))
    if earlier and unchanged:
        return ToolResult(  # "segment the liver on slices 5-10" twice: no second, identical version
            tool="segment",
            message=f"Segmented {args.organ} on {where}: the masks are already the segmenter's own there, so nothing "
            "changed and no version was kept.",
            data={"volumes_ml": {n: round(v, 1) for n, v in bench.organ_volumes_ml().items() if n in named}},
            version=bench.history.current,
        )
    every_slice = first == 0 and last == depth - 1  # the organs' masks are automatic again (tools/provenance.py)
    segmented = tuple(bench.classes[o] for o in organs) if every_slice else ()
    version = bench.history.add(probabilities, f"segment {args.organ} slices {first}-{last}", segmented)
    bench.keep_box_evidence(organs)  # what corrections of these organs will weigh, decoded in the background
    bench.pooled_probabilities()  # on a study finer than the decoder's grid: pooled here, not by the first correction
    volumes = bench.organ_volumes_ml()
    summary = ", ".join(f"{name.replace('_', ' ')} {ml(volumes[name])}" for name in named)
    replaced = _replaced_note(bench, before, organs, slices, every_slice) if earlier else ""
    return ToolResult(
        tool="segment",
        message=f"Segmented {args.organ} on {where}: {summary}{' in all' if not every_slice else ''}.{replaced}",
        data={"volumes_ml": {n: round(volumes[n], 1) for n in named}},
        version=version.number,
    )


def _replaced_note(bench: Workbench, before: np.ndarray, organs: list[int], slices: np.ndarray, whole: bool) -> str:
    """What a new segmentation replaced on its slices: the earlier version's masks there (corrections included), and
    how to get them back. A re-segmentation of a few slices had stated the whole organ's volume as if it were theirs,
    and dropped earlier corrections there without a word (a clinician-language trial, 2026-12-07)."""
    voxel_ml = bench.voxel_ml()
    after = bench.masks()
    changes = []
    for organ in organs:
        was, now = before[slices, organ].sum() * voxel_ml, after[slices, organ].sum() * voxel_ml
        if not np.array_equal(before[slices, organ], after[slices, organ]):
            name = bench.classes[organ].replace("_", " ")
            changes.append(f"{name} {ml(was)} → {ml(now)}")
    if not changes:
        return ""
    there = "" if whole else f" on {slices_said([int(z) for z in slices])}"
    return (
        f" It replaced the earlier masks{there}, with any corrections made there: {', '.join(changes)}. "
        "'undo' brings them back."
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
