"""Tool `list_versions`: which mask version is current and what made it — the steps from the first segmentation, what
an undo left to redo, and any other kept version (a branch a later edit left), each by the number `go_to_version`
takes. Answers "which version are we on?" and "what have we changed so far?"; reads, never changes."""

from pydantic import BaseModel, ConfigDict

from causal_sam_llm.tools.mask_history import MaskVersion
from causal_sam_llm.tools.schemas import ToolResult
from causal_sam_llm.tools.workbench import Workbench

DESCRIPTION = (
    "List the mask versions: which one is current and the changes that made it (e.g. 'which version are we on?', "
    "'what have we changed so far?', 'show the history')."
)


class ListVersionsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


def list_versions(bench: Workbench, _args: ListVersionsArgs) -> ToolResult:
    history = bench.require_history()
    steps = history.lineage()
    on_branch = {version.number for version in steps}
    undone = history.undone()
    elsewhere = [v for v in history.versions if v.number not in on_branch and v not in undone]
    message = f"At version {history.current}. Its steps: {_listed(steps)}."
    if undone:
        message += f" Undone (redo brings back): {_listed(undone)}."
    if elsewhere:
        message += f" Also kept (go to one by its number): {_listed(elsewhere)}."
    data = {
        "current": history.current,
        "steps": [v.number for v in steps],
        "undone": [v.number for v in undone],
        "elsewhere": [v.number for v in elsewhere],
    }
    return ToolResult(tool="list_versions", message=message, data=data)


def _listed(versions: list[MaskVersion]) -> str:
    return "; ".join(f"{version.number} {version.note}" for version in versions)
