"""How much a command asks to change: the organ's surface facing the named region moved by the commanded reach
(strength × 30 mm). Shared by the learned response, which spends exactly this amount where the image evidence points,
and the simulated clinician, who words what it sees in the same terms."""

import numpy as np

from causal_sam_llm.segmentation.intervention import Intervention
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
    area_mm2 = facing_area_mm2(surface, intervention.region, spacing_mm, intervention.slices)
    by_area = round(area_mm2 * reach_mm / float(np.prod(spacing_mm)))
    return min(by_area, int((moved != mask).sum()))


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
