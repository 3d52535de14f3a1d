"""Tool `load_study`: open a study (a path, a DICOM folder, benchmark:<id> or sample:<name>) and embed it."""

from pydantic import BaseModel, ConfigDict, Field

from causal_sam_llm.tools.schemas import ToolResult
from causal_sam_llm.tools.workbench import Workbench

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
    return ToolResult(
        tool="load_study",
        message=(
            f"Loaded {case.case_id} ({kind}, {x}×{y}×{z}, "
            f"{'with' if case.has_labels else 'without'} reference labels). Say 'segment' to start."
        ),
        data={"case_id": case.case_id, "modality": case.modality, "shape": [x, y, z], "labels": case.has_labels},
    )
