"""What every tool shares: the organ names a model may have and the result a tool returns."""

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from causal_sam_llm.segmentation.intervention import Intervention

# Every class any shipped label set has; a call naming one the loaded model lacks is rejected by the tool.
OrganName = Literal["liver", "spleen", "right_kidney", "left_kidney", "whole_tumour", "tumour_core", "enhancing_tumour"]


def organ_of_loaded_model(organ: Any, info: ValidationInfo) -> Any:
    """A before-validator: the schema's closed list is every organ any shipped model has (the LLM's choice); one the
    loaded model lacks (validation context "classes") is refused naming the model's own organs, other fields still
    checked."""
    classes = (info.context or {}).get("classes")
    if classes is not None and isinstance(organ, str) and organ != "all" and organ not in classes:
        raise ValueError(f"this model segments {', '.join(classes)}")
    return organ


class ToolResult(BaseModel):
    tool: str
    message: str  # what the assistant tells the clinician
    data: dict[str, Any] = Field(default_factory=dict)
    version: int | None = None  # the mask version current after the call
    elapsed_ms: float = 0.0


class InterventionArgs(Intervention):
    """The `Intervention`, with the organ spelled out as a closed list so a constrained LLM can only pick a real one."""

    organ: OrganName  # type: ignore[assignment]

    _organ_of_loaded_model = field_validator("organ", mode="before")(organ_of_loaded_model)
