"""Tool `intervene_decoder`: a clinician's correction as an `Intervention` that sets FiLM modulation on the
decoder features of one organ (learned TCI); re-decoded from cached features, a new mask version."""

import math
import time

import numpy as np
from scipy.ndimage import label as connected_components

from causal_sam_llm.segmentation.intervention import GROWING, Intervention, parse_intervention
from causal_sam_llm.segmentation.piece_removal import deletes_named_slices
from causal_sam_llm.segmentation.tci_apply import Evidence, correct
from causal_sam_llm.segmentation.tci_gate import MAX_REACH_MM
from causal_sam_llm.tools.mask_patch import Box
from causal_sam_llm.tools.organ_extent import (
    held_slices,
    holds_none_of,
    main_body_slices,
    occupied_slices,
    slices_said,
    span_text,
)
from causal_sam_llm.tools.schemas import InterventionArgs, ToolResult
from causal_sam_llm.tools.unsaid_amount import sized_to_the_organ, unsaid_amount_note, with_unsaid_amount
from causal_sam_llm.tools.version_masks import kept_change
from causal_sam_llm.tools.volume_text import ml, ml_change
from causal_sam_llm.tools.workbench import Workbench

DESCRIPTION = (
    "Correct one organ's mask as the clinician says: action expand|shrink|remove_region|add_region|smooth; region in "
    "patient directions (superior = toward the head, inferior = toward the feet, anterior = front, posterior = back, "
    "left/right = the patient's); strength 0..1 (a little 0.25, moderately 0.5, a lot 0.8); optional slices."
)


def intervene_decoder(bench: Workbench, args: InterventionArgs) -> ToolResult:
    case = bench.require_case()
    history = bench.require_history()
    intervention = parse_intervention(args.model_dump(), bench.classes, bench.depth)
    volumes_before, masks_before = bench.organ_volumes_ml(), bench.masks()
    before, index = volumes_before[intervention.organ], bench.classes.index(intervention.organ)
    sized = sized_to_the_organ(args)
    if sized:
        intervention = with_unsaid_amount(intervention, masks_before[:, index], case.axial_spacing_mm())
    waited = bench.wait_for_box_evidence(index)
    failure = bench.box_evidence_failure  # said once, by the first correction that keeps a version
    start = time.perf_counter()
    parent = history.probabilities()
    with bench.foreground():  # the pass goes on with the other organs afterwards
        evidence = Evidence(bench.segmenter, bench.generator, case.label_set)
        image, spacing = bench.axial_image(), case.axial_spacing_mm()
        pooled_image = bench.pooled_axial_image()  # None for a study on the decoder's grid
        pooled_parent = bench.pooled_probabilities()
        corrected = correct(evidence, bench.decoded, parent, intervention, spacing, image, pooled_image, pooled_parent)
    updated, within = corrected.probabilities, corrected.changed_within
    elapsed = 1000 * (time.perf_counter() - start)
    change = kept_change(parent, updated, masks_before, case.label_set, bench.classes, within)
    if change is None:  # no voxel crossed an edge: not kept, so that an 'undo' undoes what the clinician saw
        reason = no_change_reason(intervention, masks_before[:, index], bench)
        raise ValueError(f"nothing changed, so no version was kept: {reason}.")
    version = history.add(updated, correction_note(intervention), edited=(intervention.organ,), changed=change.box)
    bench.box_evidence_failure = None
    bench.keep_masks(change.masks, change.box)
    bench.keep_pooled_change(change.box)
    volumes_after = bench.organ_volumes_ml()
    edited = edited_organs(volumes_before, volumes_after, intervention.organ)
    if edited != [intervention.organ]:  # a nested region grown past its enclosing regions grew them too
        history.mark_edited(version.number, edited)
    after = volumes_after[intervention.organ]
    organ = intervention.organ.replace("_", " ")
    return ToolResult(
        tool="intervene_decoder",
        message=f"{intervention.action.replace('_', ' ').capitalize()} {organ} ({intervention.region}): "
        f"{ml_change(before, after)}, re-decoded in {elapsed:.0f} ms."
        + (unsaid_amount_note(intervention) if sized else "")
        + large_change_note(before, after, intervention.strength)
        + span_change_note(masks_before[:, index], bench.masks()[:, index])
        + empty_slices_note(intervention, masks_before[:, index])
        + end_beyond_note(intervention, masks_before[:, index])
        + removal_note(intervention, corrected.deleted_pieces, spacing)
        + also_changed(volumes_before, volumes_after, intervention.organ)
        + second_opinion_note(bench, masks_before, version.parent, intervention.organ, change.box)
        + waiting_note(waited, failure),
        data={
            "intervention": intervention.model_dump(mode="json"),
            "volume_ml": [round(before, 1), round(after, 1)],
            "waited_ms": round(1000 * waited),
        },
        version=version.number,
        elapsed_ms=elapsed,
    )


LARGE_CHANGE = 0.5  # a correction that took or added more than this share of the organ is said so
# what the smallest amount word, "a touch" (strength 0.1), moves: suggested only where it is less than half of what
# was applied
TOUCH_MM = 3.0


def large_change_note(before_ml: float, after_ml: float, strength: float) -> str:
    """Said when one correction changed most of the organ (a whole-organ shrink by the default 15 mm leaves a kidney
    a tenth of its size): the clinician may have meant less, and should not have to find out from the image. The
    smaller amount it suggests is half the one applied (`strength`), never the same again."""
    if before_ml <= 0 or abs(after_ml - before_ml) <= LARGE_CHANGE * before_ml:
        return ""
    share = round(100 * (after_ml - before_ml) / before_ml)
    smaller = max(1, round(reach_mm(strength) / 2))
    words = f"'a touch', '{smaller} mm'" if smaller > TOUCH_MM else f"'{smaller} mm'"
    advice = f"if you meant less, say 'undo' and a smaller amount ({words})"
    return f" That changed the organ by {share:+d} %: {advice}."


def reach_mm(strength: float) -> float:
    """How far a strength moves a boundary, to 0.1 mm."""
    return round(strength * MAX_REACH_MM, 1)


def no_change_reason(intervention: Intervention, organ_mask: np.ndarray, bench: Workbench) -> str:
    """Why a correction moved nothing, in the terms the clinician can act on: where the organ is, or the amount."""
    organ = intervention.organ.replace("_", " ")
    if not organ_mask.any():
        return f"there is no {organ} mask to {intervention.action.replace('_', ' ')}; segment it first"
    if intervention.slices is not None and holds_none_of(organ_mask, intervention.slices):
        first, last = intervention.slices
        where = span_text(organ_mask, bench.require_case().axial_spacing_mm()[0])
        named = slices_said(list(range(first, last + 1)))
        if intervention.action in GROWING:  # the clinician may be saying exactly that it is missing there
            return (
                f"the {organ} lies on {where}, too far from {named} for a grow to reach; to look for it there, "
                f"segment the {organ} on {named}"
            )
        return f"the {organ} lies on {where}, and {named} hold{'s' if first == last else ''} none of it"
    return f"the command moved no voxel across the {organ}'s edge; a larger amount moves more"


def span_change_note(before: np.ndarray, after: np.ndarray) -> str:
    """Said when a correction moved the first or last slice the organ's (Z, rows, cols) mask lies on: the numbers a
    clinician scrolls to and names in the next command."""
    was, now = occupied_slices(before), occupied_slices(after)
    if was == now or was is None or now is None:
        return ""
    # with its gaps: "slices 4–6 and 9–23" (a range from first to last had hidden slices it is not on)
    return f" Now on {slices_said(held_slices(after))} (was {slices_said(held_slices(before))})."


def empty_slices_note(intervention: Intervention, organ_mask: np.ndarray) -> str:
    """Said when a shrink, removal or smooth names slices of which some hold none of the organ: they could not
    change (a grow may reach into them from the organ's end), and the clinician may have meant other numbers."""
    if intervention.slices is None or intervention.action in GROWING:
        return ""
    first, last = intervention.slices
    empty = sorted(set(range(first, last + 1)) - set(held_slices(organ_mask)))
    if not empty:
        return ""
    organ = intervention.organ.replace("_", " ")
    return f" Of the command's slices, {slices_said(empty)} hold{'s' if len(empty) == 1 else ''} none of the {organ}."


def end_beyond_note(intervention: Intervention, organ_mask: np.ndarray) -> str:
    """Said when a command toward the head or feet names slices the organ goes on past that way: it moved the edges
    on those slices that face there, not the organ's end, which the clinician may have meant ("grow the liver a lot
    toward the feet on slices 2 to 8" added 2 of 1544 ml where the liver reaches slice 1)."""
    body = main_body_slices(organ_mask)  # a speck past a gap is no end (a fifth trial: "to slice 2", one voxel)
    if intervention.slices is None or intervention.region not in ("superior", "inferior") or not body:
        return ""
    if intervention.action not in (*GROWING, "shrink"):
        return ""
    first, last = intervention.slices
    end = body[0] if intervention.region == "inferior" else body[-1]
    if not (end < first if intervention.region == "inferior" else end > last):
        return ""  # its end lies among the slices named (or the organ lies beyond them all)
    organ, toward = intervention.organ.replace("_", " "), TOWARD_WORDS[intervention.region]
    named = slices_said(list(range(first, last + 1)))
    return (
        f" The {organ} goes on {toward} past the slices named, to slice {end}: this moved its edges on {named} "
        f"that face {toward.removeprefix('toward ')}, not its end; to move its end, name slices that hold it "
        f"(slice {end}) or none."
    )


# how a removal's reply names where it looked, in the words the clinician reads
TOWARD_WORDS = {
    "whole": "apart from its main body",
    "superior": "toward the head",
    "inferior": "toward the feet",
    "anterior": "at the front",
    "posterior": "at the back",
    "left": "on the patient's left",
    "right": "on the patient's right",
}


def removal_note(
    intervention: Intervention, deleted_pieces: np.ndarray | None, spacing_mm: tuple[float, float, float]
) -> str:
    """Which of `remove_region`'s meanings applied (piece_removal.py): the organ on the slices named deleted, its
    separate pieces toward the region deleted whole (`deleted_pieces`, as the correction found them:
    tci_apply.Correction), or the organ itself cut back there — different edits the clinician should not have to
    tell apart from the image."""
    if intervention.action != "remove_region":
        return ""
    organ, where = intervention.organ.replace("_", " "), TOWARD_WORDS[intervention.region]
    deleted = deleted_pieces is not None and deleted_pieces.any()
    if deletes_named_slices(intervention):
        first, last = intervention.slices
        named = slices_said(list(range(first, last + 1)))
        if not deleted:
            return f" The {organ} did not reach {named}: nothing was deleted."
        return f" Deleted the {organ} on {named} ({ml(deleted_pieces.sum() * math.prod(spacing_mm) / 1000.0)})."
    if not deleted:
        around = "all around" if intervention.region == "whole" else "there"
        return f" No separate piece of the {organ} lay {where}, so the {organ} itself was cut back {around}."
    count = connected_components(deleted_pieces)[1]
    volume = ml(deleted_pieces.sum() * math.prod(spacing_mm) / 1000.0)
    return f" Deleted {count} separate piece{'s' if count > 1 else ''} of the {organ} ({volume}) {where}."


def correction_note(intervention: Intervention) -> str:
    """How the version is named in the history, the legend and an export's steps: the amount in mm, as the clinician
    says it ("5 mm", not strength 0.166667); a smooth has none."""
    note = f"{intervention.action} {intervention.organ} {intervention.region}"
    if intervention.action != "smooth":
        note += f" {reach_mm(intervention.strength):g} mm"
    return note + (f" slices {intervention.slices[0]}-{intervention.slices[1]}" if intervention.slices else "")


def edited_organs(before: dict[str, float], after: dict[str, float], organ: str) -> list[str]:
    """The organ the command named and every other whose volume the correction changed (a tumour region grown past
    its enclosing regions grows them)."""
    return [name for name in before if name == organ or after[name] != before[name]]


def second_opinion_note(
    bench: Workbench, masks_before: np.ndarray, parent: int | None, organ: str, changed: Box | None = None
) -> str:
    """Where the organ's mask lost voxels that another organ was also above 0.5 on (the next most likely), they were
    left as background (tci_apply.keep_other_organs); said, so that the model's second opinion is not dropped
    silently: the clinician may give them to that organ. `changed`: the box the version's values changed in (only
    there can the organ have lost voxels)."""
    history, index = bench.require_history(), bench.classes.index(organ)
    region = (slice(None),) * 3 if changed is None else (changed[0], *changed[2:])
    lost = np.nonzero(masks_before[:, index][region] & ~bench.masks()[:, index][region])
    if parent is None or lost[0].size == 0:
        return ""
    was, now = history.probabilities(parent), history.probabilities()
    voxel_ml = bench.voxel_ml()
    z, rows, cols = (where + (span.start or 0) for where, span in zip(lost, region, strict=True))
    seconds = []
    for other, name in enumerate(bench.classes):
        if other == index:
            continue
        held_ml = float(((was[z, other, rows, cols] > 0.5) & (now[z, other, rows, cols] == 0.5)).sum()) * voxel_ml
        if held_ml >= 0.05:  # held at 0.5 by keep_other_organs: it was above 0.5 there
            seconds.append(f"{ml(held_ml)} of {name.replace('_', ' ')}")
    return f" Left as background where another organ was next most likely: {', '.join(seconds)}." if seconds else ""


def waiting_note(waited_s: float, failure: str | None = None) -> str:
    """Said when the correction had to wait for the box evidence still being decoded after segmentation (so that the
    wait is not mistaken for the correction's own time), or when that pass failed and the correction decoded its
    own."""
    if failure:
        return f" The box evidence pass after segmentation failed ({failure}); this correction decoded its own."
    if waited_s < 0.05:
        return ""
    return f" Waited {1000 * waited_s:.0f} ms for the box evidence decoded after segmentation."


def also_changed(before: dict[str, float], after: dict[str, float], organ: str) -> str:
    """Other regions the correction changed, so that no change goes unreported: a tumour region grown past its
    enclosing regions grows them; an organ grown into a neighbour's voxels takes them from it."""
    moved = [
        f"{name.replace('_', ' ')} {ml_change(before[name], after[name], least_digits=1)}"
        for name in before
        if name != organ and abs(after[name] - before[name]) >= 0.05
    ]
    return f" Also changed: {', '.join(moved)}." if moved else ""
