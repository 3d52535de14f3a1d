"""A grow or shrink whose words state no amount ("the liver is cut short toward the head, grow it"): the agent's guard
rails leave the strength out rather than guess one, and the correction sizes it to the organ
(segmentation/tci_amount.unsaid_strength) and says so, with how to ask for another amount. Any caller of the tool
that leaves the strength out gets the same, so that a session file or another app means what the chat means."""

import numpy as np

from causal_sam_llm.segmentation.intervention import SIZED_WHEN_UNSAID, Intervention
from causal_sam_llm.segmentation.tci_amount import UNSAID_REACH_MM, UNSAID_SHARE, unsaid_strength
from causal_sam_llm.segmentation.tci_gate import MAX_REACH_MM
from causal_sam_llm.tools.schemas import InterventionArgs


def sized_to_the_organ(args: InterventionArgs) -> bool:
    """Whether the call left the strength out of a grow or shrink (pydantic's set fields: a default is not said)."""
    return "strength" not in args.model_fields_set and args.action in SIZED_WHEN_UNSAID


def with_unsaid_amount(
    intervention: Intervention, organ_mask: np.ndarray, spacing_mm: tuple[float, float, float]
) -> Intervention:
    """`intervention` with the strength sized to the organ's (Z, rows, cols) `organ_mask`."""
    return intervention.model_copy(update={"strength": unsaid_strength(organ_mask, intervention, spacing_mm)})


def unsaid_amount_note(intervention: Intervention) -> str:
    """Said after a correction whose strength was sized to the organ: the reach it was given (the voxels that cross
    are then placed by the evidence), and how to ask for more or less."""
    mm = round(intervention.strength * MAX_REACH_MM)
    organ, (low, high) = intervention.organ.replace("_", " "), UNSAID_REACH_MM
    return (
        f" No amount was said, so it was given a reach of {mm} mm, sized to the {organ} (about "
        f"{round(100 * UNSAID_SHARE)} % of what it moves, {low} to {high} mm); for another amount say one ('a touch', "
        "'a lot', '10 mm')."
    )
