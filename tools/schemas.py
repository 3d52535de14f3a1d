"""What every tool shares: the organ names a model may have and the result a tool returns."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from causal_sam_llm.segmentation.intervention import Intervention

# Every class any shipped label set has; a call naming one the loaded model lacks is rejected by the tool.
OrganName = Literal["liver", "spleen", "right_kidney", "left_kidney", "whole_tumour", "tumour_core", "enhancing_tumour"]


class ToolResult(BaseModel):
    tool: str
    message: str  # what the assistant tells the clinician
    data: dict[str, Any] = Field(default_factory=dict)
    version: int | None = None  # the mask version current after the call
    elapsed_ms: float = 0.0


class InterventionArgs(Intervention):
    """The `Intervention`, with the organ spelled out as a closed list so a constrained LLM can only pick a real one."""

    organ: OrganName  # type: ignore[assignment]
