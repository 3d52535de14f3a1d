"""Tools `undo`, `redo` and `go_to_version`: step back or forward along the mask versions, or return to any kept
version by its number. Nothing is deleted; a request that reaches beyond the history changes nothing."""

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from causal_sam_llm.tools.schemas import ToolResult
from causal_sam_llm.tools.workbench import Workbench

UNDO_DESCRIPTION = "Undo the last change(s) to the masks: go back `steps` versions (1 unless a count is said)."
REDO_DESCRIPTION = "Redo change(s) that were just undone: `steps` versions forward (1 unless a count is said)."
GO_TO_DESCRIPTION = "Make a kept mask version current again, by the version number the legend shows."
MAX_STEPS = 20


class StepsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: StrictInt = Field(default=1, ge=1, le=MAX_STEPS)


class VersionArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: StrictInt = Field(ge=0)


def undo(bench: Workbench, args: StepsArgs) -> ToolResult:
    version = bench.require_history().undo(args.steps)
    return ToolResult(
        tool="undo", message=f"Back to version {version.number} ({version.note}).", version=version.number
    )


def redo(bench: Workbench, args: StepsArgs) -> ToolResult:
    history = bench.require_history()
    left = history.current
    version = history.redo(args.steps)
    if args.steps == 1 and version.parent != left:  # the way back from a jump to another branch (MaskHistory.go_to)
        message = f"Back to version {version.number} ({version.note}), the version left for version {left}."
    else:
        message = f"Forward to version {version.number} ({version.note})."
    return ToolResult(tool="redo", message=message, version=version.number)


def go_to_version(bench: Workbench, args: VersionArgs) -> ToolResult:
    version = bench.require_history().go_to(args.version)
    return ToolResult(
        tool="go_to_version", message=f"Now at version {version.number} ({version.note}).", version=version.number
    )
