"""How much a command asks to change: the organ's surface facing the named region moved by the commanded reach
(strength × 30 mm). Shared by the learned response, which spends exactly this amount where the image evidence points,
and the simulated clinician, who words what it sees in the same terms."""

import numpy as np

from causal_sam_llm.segmentation.intervention import GROWING, Intervention
from causal_sam_llm.segmentation.tci_blind import apply_blind
from causal_sam_llm.segmentation.tci_gate import MAX_REACH_MM, TOWARD, moved_part

# (axis, step) of the faces a region's boundary moves through (tci_gate.TOWARD)
FACING = {region: [toward] for region, toward in TOWARD.items()} | {
    "whole": [(axis, step) for axis in range(3) for step in (1, -1)]
}


def commanded_change(
    mask: np.ndarray,
    intervention: Intervention,
    spacing_mm: tuple[float, float, float],
    gate: np.ndarray | None = None,
    moved_body: np.ndarray | None = None,
) -> int:
    """How many voxels the command asks to change: the boundary facing its region moved by strength × 30 mm, i.e.
    that part of the surface's area × the reach, but never more than a uniform morphological move by the reach
    changes inside the gate (the area × reach estimate overshoots when the reach nears the organ's own size).
    `gate`: the command's `intervention_gate`, and `moved_body`: what it moves (`moved_part`), when the caller has
    them already."""
    uniform = {"add_region": "expand", "remove_region": "shrink"}.get(intervention.action, intervention.action)
    same_gate = None if intervention.action == "remove_region" else gate  # its gate is the whole organ, a shrink's not
    command = intervention.model_copy(update={"action": uniform})
    moved = apply_blind(mask[:, None], 0, command, spacing_mm, same_gate)[:, 0]
    reach_mm = intervention.strength * MAX_REACH_MM
    surface = moved_part(intervention, mask) if moved_body is None else moved_body
    area_mm2 = facing_area_mm2(surface, intervention.region, spacing_mm, facing_slices(intervention))
    by_area = round(area_mm2 * reach_mm / float(np.prod(spacing_mm)))
    return min(by_area, int((moved != mask).sum()))


def facing_slices(intervention: Intervention) -> tuple[int, int] | None:
    """The slices whose faces a command moves: its own, and for a grow toward the head (feet) on named slices also
    the slice below (above) them, whose faces it moves onto theirs. Measured reason: "the spleen is missing its lowest
    slice" (a grow toward the feet on slices 8-9) counted only the 9 faces of its tapering end slice 9 and added 9
    voxels; the 131 faces of slice 10 that look down onto slice 9 were left out."""
    if intervention.slices is None or intervention.action not in GROWING:
        return intervention.slices
    first, last = intervention.slices
    if intervention.region == "superior":
        return max(first - 1, 0), last
    if intervention.region == "inferior":
        return first, last + 1  # past the volume's last slice selects nothing more
    return intervention.slices


def facing_area_mm2(
    mask: np.ndarray,
    region: str,
    spacing_mm: tuple[float, float, float],
    slices: tuple[int, int] | None = None,
) -> float:
    """Area of the organ's surface that faces `region` (on `slices` only, inclusive, when given). Exposed voxel faces
    overcount a smooth surface by about 1.5× (exactly so for a sphere seen from all six sides), so the whole-organ
    area is divided by that."""
    on = np.zeros(mask.shape[0], bool)
    on[slice(None) if slices is None else slice(slices[0], slices[1] + 1)] = True
    area_mm2 = 0.0
    for axis, step in FACING[region]:
        beyond = np.roll(mask, -step, axis=axis)
        edge = [slice(None)] * 3
        edge[axis] = -1 if step == 1 else 0
        beyond[tuple(edge)] = False  # the volume's edge is open
        face_mm2 = float(np.prod([s for a, s in enumerate(spacing_mm) if a != axis]))
        area_mm2 += int((mask & ~beyond)[on].sum()) * face_mm2
    return area_mm2 / 1.5 if region == "whole" else area_mm2


# A grow or shrink whose words state no amount moves the organ's facing surface by the reach that changes about this
# share of it, in whole millimetres from 3 to 7: a fixed 15 mm (the earlier default) made an MR kidney grown all
# around 2.8 times its volume (eval_sessions/ct_to_mr_t1_kidneys.yaml). The cap was 15 mm until a clinician-language
# trial: "the liver is too big toward the feet" got 10 mm and lost 5.7 Dice, while 83 % of the simulated
# clinician's requests ask 7.5 mm ("a little") or less (bench/clinician_amounts.py); an unsaid amount is now never
# more than that.
UNSAID_SHARE = 0.2
UNSAID_REACH_MM = (3, 7)


def unsaid_strength(mask: np.ndarray, intervention: Intervention, spacing_mm: tuple[float, float, float]) -> float:
    """The strength of `intervention` (an expand or shrink of the organ in the (Z, rows, cols) `mask`) when its words
    stated no amount: its reach changes about UNSAID_SHARE of what the command moves (on its slices, when it names
    them), by the same facing area × reach that `commanded_change` counts."""
    moved = moved_part(intervention, mask)
    area_mm2 = facing_area_mm2(moved, intervention.region, spacing_mm, facing_slices(intervention))
    low, high = UNSAID_REACH_MM
    if area_mm2 <= 0:
        return high / MAX_REACH_MM
    first, last = (0, len(mask) - 1) if intervention.slices is None else intervention.slices
    reach_mm = UNSAID_SHARE * int(moved[first : last + 1].sum()) * float(np.prod(spacing_mm)) / area_mm2
    return min(max(round(reach_mm), low), high) / MAX_REACH_MM
