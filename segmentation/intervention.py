"""`Intervention`: a clinician's correction as a validated structure. Sessions, the agent and other apps rely on
exactly these fields. Organ names and slice ranges are checked against the loaded model and volume (pass them as
validation context); a bad value raises an error that says what is allowed, before any state changes."""

from typing import Literal, get_args

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from causal_sam_llm.errors import CausalSamError, validation_problems

Action = Literal["expand", "shrink", "remove_region", "add_region", "smooth"]
Region = Literal["whole", "superior", "inferior", "anterior", "posterior", "left", "right"]
ACTIONS: tuple[str, ...] = get_args(Action)
REGIONS: tuple[str, ...] = get_args(Region)
GROWING: tuple[str, ...] = ("expand", "add_region")  # may only add to the organ
SHRINKING: tuple[str, ...] = ("shrink", "remove_region")  # may only take from it (smooth may do both)
# an expand or shrink whose words state no amount is sized to the organ (tools/unsaid_amount.py); the other actions
# keep the default strength
SIZED_WHEN_UNSAID: tuple[str, ...] = ("expand", "shrink")
# Inclusive [first, last] axial indices. Strict: `true` or "3" is a malformed call, not slice 1 or 3.
SliceRange = tuple[StrictInt, StrictInt]


def in_commanded_direction(action: str, old: np.ndarray, proposed: np.ndarray) -> np.ndarray:
    """`proposed` (probabilities or a boolean mask) limited to the way the command moves the organ from `old`: a
    grow never removes and a shrink never adds — evidence decides how far, the command which way."""
    if action in GROWING:
        return np.maximum(old, proposed)
    if action in SHRINKING:
        return np.minimum(old, proposed)
    return proposed


THROUGH_PLANE = ("superior", "inferior")  # the regions that lie on other slices


class InterventionError(CausalSamError, ValueError):
    """A correction that cannot be applied as given."""


class Intervention(BaseModel):
    """organ: a class of the loaded model; action; region in patient directions (left = the patient's left,
    superior = toward the head); strength in [0, 1]; slices: inclusive [first, last] axial indices, or None for all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organ: str
    action: Action
    region: Region = "whole"
    strength: float = Field(default=0.5, ge=0.0, le=1.0, strict=True)  # `true` is not the full 30 mm move
    slices: SliceRange | None = None

    @field_validator("organ")
    @classmethod
    def _organ_in_model(cls, organ: str, info: ValidationInfo) -> str:
        classes = (info.context or {}).get("classes")
        if classes is not None and organ not in classes:
            raise ValueError(f"organ {organ!r} is not segmented by this model; allowed: {', '.join(classes)}")
        return organ

    @model_validator(mode="after")
    def _slices_in_volume(self, info: ValidationInfo) -> "Intervention":
        if self.region in THROUGH_PLANE and (info.context or {}).get("depth") == 1:
            # on one slice a move toward the head or feet has nowhere to go but in-plane, which is not what was asked
            raise ValueError(
                f"region {self.region!r} (toward the {'head' if self.region == 'superior' else 'feet'}) needs more "
                "than the one slice this study has; use whole, anterior, posterior, left or right"
            )
        if self.slices is None:
            return self
        first, last = self.slices
        if first > last:
            raise ValueError(f"slices [{first}, {last}] are reversed; give [first, last] with first <= last")
        depth = (info.context or {}).get("depth")
        if first < 0 or (depth is not None and last >= depth):
            limit = f"0..{depth - 1}" if depth is not None else "0 or more"
            raise ValueError(f"slices [{first}, {last}] lie outside the volume; allowed indices: {limit}")
        return self


def parse_intervention(data: dict, classes: list[str], depth: int) -> Intervention:
    """Validate raw fields (from the LLM, a session file or another app) against the model's organs and the volume."""
    try:
        return Intervention.model_validate(data, context={"classes": classes, "depth": depth})
    except ValidationError as exc:
        raise InterventionError(
            f"invalid intervention ({validation_problems(exc)}). Allowed actions: {', '.join(ACTIONS)}; "
            f"regions: {', '.join(REGIONS)}; strength 0..1; organs: {', '.join(classes)}."
        ) from exc
