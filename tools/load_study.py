"""Tool `load_study`: open a study (a path, a DICOM folder, benchmark:<id> or sample:<name>) and embed it."""

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from causal_sam_llm.datasets.body_width import body_width_mm
from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.dicom_series import ASSUMED_DEPTH_MM
from causal_sam_llm.datasets.label_maps import anatomy_by_width, claims_body_part, label_set, within_body_width
from causal_sam_llm.tools.schemas import ToolResult
from causal_sam_llm.tools.workbench import Workbench, with_article

DESCRIPTION = (
    "Open a new study to work on. Use only when the user names a study to open: a NIfTI or DICOM path, "
    "benchmark:<case id> or sample:<name>."
)


class LoadStudyArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    study: str = Field(min_length=1, max_length=500, description="path, benchmark:<case id> or sample:<name>")
    labels: str | None = Field(default=None, max_length=500, description="optional reference label NIfTI")


def load_study(bench: Workbench, args: LoadStudyArgs) -> ToolResult:
    case = bench.load(args.study, args.labels)
    x, y, z = case.image.shape
    kind = case.modality if case.sequence == case.modality else f"{case.modality} {case.sequence}"  # not "CT CT"
    width = _unnamed_anatomy_width(case, bench.axial_image(), bench.label_set_name)
    return ToolResult(
        tool="load_study",
        message=(
            f"Loaded {case.case_id} ({kind}, {x}×{y}×{z}, "
            f"{'with' if case.has_labels else 'without'} reference labels). Say 'segment' to start."
            + width_note(width, bench.label_set_name, bench.classes)
            + depth_note(case)
        ),
        data={
            "case_id": case.case_id,
            "modality": case.modality,
            "shape": [x, y, z],
            "labels": case.has_labels,
            "body_width_mm": None if width is None else round(width),
        },
    )


def _unnamed_anatomy_width(case: Case, axial: np.ndarray, model_set: str) -> float | None:
    """The body's width (mm) of a study whose anatomy nothing names: a NIfTI file, or a DICOM study whose header
    names no body part the model's label set claims (those another set claims are refused at load). None for the
    others (a benchmark or data set case knows its label set) and where no body shows."""
    body_part = str(case.metadata.get("header", {}).get("BodyPartExamined", ""))
    if case.source not in ("nifti", "dicom") or claims_body_part(label_set(model_set), body_part):
        return None
    return body_width_mm(axial, case.axial_spacing_mm(), case.modality)


def width_note(width_mm: float | None, model_set: str, classes: list[str]) -> str:
    """Said when the body is not as wide as the model's anatomy (a brain NIfTI given to the abdominal model would get
    a "765 ml liver"): a warning, not a refusal, since a child's abdomen or a cropped volume may be narrower."""
    if width_mm is None or within_body_width(label_set(model_set), width_mm) is not False:
        return ""
    low, high = label_set(model_set).body_width_mm
    other = anatomy_by_width(width_mm, model_set)
    looks = f", as wide as {with_article(_spaced(other))} study" if other else ""
    return (
        f" Note: the body here is {width_mm:.0f} mm across, where {_spaced(model_set)} studies measure "
        f"{low:.0f}–{high:.0f} mm{looks}. This model segments {', '.join(c.replace('_', ' ') for c in classes)}: "
        "if that is not what this study shows, load it with a matching checkpoint."
    )


def depth_note(case: Case) -> str:
    """Said when a lone DICOM slice's header gives no depth: volumes in ml then count an assumed depth, and the
    clinician should know it before reading them."""
    if not case.metadata.get("depth_assumed"):
        return ""
    return (
        f" Note: its header gives no slice thickness, so each slice is taken as {ASSUMED_DEPTH_MM:g} mm deep: "
        "volumes in ml are area × that depth."
    )


def _spaced(name: str) -> str:
    return name.replace("_", " ")
