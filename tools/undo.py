"""Tools `undo` and `redo`: step back to the previous mask version, or forward again. Nothing is deleted."""

from pydantic import BaseModel, ConfigDict

from causal_sam_llm.tools.schemas import ToolResult
from causal_sam_llm.tools.workbench import Workbench

UNDO_DESCRIPTION = "Undo the last change to the masks (go back one version)."
REDO_DESCRIPTION = "Redo the change that was just undone."


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


def undo(bench: Workbench, _args: NoArgs) -> ToolResult:
    version = bench.require_history().undo()
    return ToolResult(
        tool="undo", message=f"Back to version {version.number} ({version.note}).", version=version.number
    )


def redo(bench: Workbench, _args: NoArgs) -> ToolResult:
    version = bench.require_history().redo()
    return ToolResult(
        tool="redo", message=f"Forward to version {version.number} ({version.note}).", version=version.number
    )
