"""What a correction's reply says: how much changed, the amount chosen when none was said, where another organ was
next most likely, a correction that moved nothing, an organ's new first or last slice, slices that hold none of it,
and whether a removal deleted separate pieces or cut the organ back."""

import re

import numpy as np
import pytest

from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.piece_removal import deleted_whole
from causal_sam_llm.segmentation.tci_amount import unsaid_strength
from causal_sam_llm.tools.intervene_decoder import (
    end_beyond_note,
    large_change_note,
    no_change_reason,
    removal_note,
    span_change_note,
)
from causal_sam_llm.tools.organ_extent import holds_none_of, main_body_slices, occupied_slices, slices_said, span_text
from causal_sam_llm.tools.registry import run_tool
from causal_sam_llm.tools.workbench import Workbench

CASE = "benchmark:mr_t2-0001"


def test_a_correction_reports_every_other_region_it_changed():
    from causal_sam_llm.tools.intervene_decoder import also_changed

    before = {"whole_tumour": 10.0, "tumour_core": 4.0, "enhancing_tumour": 1.0}
    after = {"whole_tumour": 10.6, "tumour_core": 4.6, "enhancing_tumour": 1.6}
    assert also_changed(before, after, "enhancing_tumour") == (
        " Also changed: whole tumour 10.0 → 10.6 ml, tumour core 4.0 → 4.6 ml."
    )
    assert also_changed(before, before, "enhancing_tumour") == ""


def test_a_correction_that_changed_most_of_the_organ_says_so(bench):
    """A whole-organ shrink at full strength (30 mm) leaves a kidney a fraction of its size: the reply says by how
    much, and how to ask for less; a small one says nothing of it."""
    assert large_change_note(100.0, 40.0, 1.0) == (
        " That changed the organ by -60 %: if you meant less, say 'undo' and a smaller amount ('a touch', '15 mm')."
    )
    assert large_change_note(100.0, 260.0, 0.5).startswith(" That changed the organ by +160 %")
    assert large_change_note(100.0, 60.0, 1.0) == large_change_note(0.0, 5.0, 1.0) == ""
    # what it suggests is less than what was applied: after "3 mm" not "3 mm" again (nor "a touch", also 3 mm)
    assert large_change_note(24.0, 40.0, 0.1).endswith("a smaller amount ('2 mm').")
    args = {"organ": "left_kidney", "action": "shrink", "region": "whole", "strength": 1.0}
    result = run_tool(bench, "intervene_decoder", args)
    before, after = result.data["volume_ml"]
    assert ("That changed the organ by" in result.message) == (abs(after - before) > 0.5 * before)
    assert after < 0.5 * before  # this case's kidney is under 60 mm thick: 30 mm from every side leaves little
    run_tool(bench, "undo", {"steps": 1})


def test_a_grow_or_shrink_with_no_amount_is_sized_to_the_organ_and_says_so(bench):
    """A grow the call gives no strength (the guard rails leave it out when the words state none) moves the organ's
    edge by the reach `unsaid_strength` sizes to it, and the reply says how far and how to ask for another amount;
    a stated strength, and any other action left without one, are done as before."""
    kidney = bench.classes.index("left_kidney")
    mask, spacing = bench.masks()[:, kidney].copy(), bench.require_case().axial_spacing_mm()
    sized = unsaid_strength(mask, Intervention(organ="left_kidney", action="expand"), spacing)
    grown = run_tool(bench, "intervene_decoder", {"organ": "left_kidney", "action": "expand"})
    assert grown.data["intervention"]["strength"] == pytest.approx(sized) and sized < 0.5
    assert f"No amount was said, so it was given a reach of {round(sized * 30)} mm" in grown.message
    before, after = grown.data["volume_ml"]
    run_tool(bench, "undo", {"steps": 1})
    stated = run_tool(bench, "intervene_decoder", {"organ": "left_kidney", "action": "expand", "strength": 0.5})
    assert stated.data["intervention"]["strength"] == 0.5 and "No amount was said" not in stated.message
    assert after - before < stated.data["volume_ml"][1] - before  # the 15 mm of the old default moved more
    run_tool(bench, "undo", {"steps": 1})
    added = run_tool(bench, "intervene_decoder", {"organ": "left_kidney", "action": "add_region"})
    assert added.data["intervention"]["strength"] == 0.5 and "No amount was said" not in added.message
    run_tool(bench, "undo", {"steps": 1})


def test_a_shrink_says_where_another_organ_was_next_most_likely(home_benchmark, tmp_path):
    """What the liver gives up where the spleen was also above 0.5 stays background (no other organ's mask changes),
    and the reply says so with the spleen's volume there, so that the model's second opinion is not dropped
    silently."""
    session = Workbench.create(tmp_path / "second")
    run_tool(session, "load_study", {"study": CASE})
    run_tool(session, "segment", {"organ": "all"})
    liver, spleen = session.classes.index("liver"), session.classes.index("spleen")
    probabilities = session.probabilities().copy()
    inside = session.masks()[:, liver]
    probabilities[:, spleen][inside] = np.maximum(probabilities[:, spleen][inside], 0.7)  # second inside the liver
    session.history.add(probabilities, "the spleen second most likely inside the liver (test)")
    spleen_before = session.masks()[:, spleen].copy()
    result = run_tool(session, "intervene_decoder", {"organ": "liver", "action": "shrink", "strength": 0.8})
    np.testing.assert_array_equal(session.masks()[:, spleen], spleen_before)
    assert "Left as background where another organ was next most likely: " in result.message
    assert re.search(r"most likely: [\d.]+ ml of spleen\.", result.message), result.message
    assert "Also changed" not in result.message
    quiet = run_tool(session, "intervene_decoder", {"organ": "right_kidney", "action": "shrink", "strength": 0.5})
    assert "next most likely" not in quiet.message  # nobody else was above 0.5 where the kidney gave voxels up


def test_span_text_of_one_slice_and_of_none():
    mask = np.zeros((6, 4, 4), bool)
    assert span_text(mask, 5.0) == "no slice" and occupied_slices(mask) is None
    mask[3, 1, 1] = True
    assert span_text(mask, 5.0) == "slice 3 (1 slice, 5 mm)"
    mask[4:6, 2, 2] = True
    assert span_text(mask, 5.0) == "slices 3–5 (3 slices, 15 mm)"
    mask[0, 0, 0] = True  # a speck two slices away: the gap is said, and no length that would count it
    assert span_text(mask, 5.0) == "slices 0 and 3–5 (4 slices)"
    mask[0, 0, 0] = mask[4:6] = False
    assert holds_none_of(mask, (0, 2)) and holds_none_of(mask, (4, 5)) and not holds_none_of(mask, (2, 3))


def test_a_correction_that_moves_nothing_keeps_no_version_and_says_where_the_organ_is(bench):
    """A shrink on slices the organ is not on changes no mask: no version is kept (so an 'undo' after it undoes
    the last change the clinician saw), and the error names the slices the organ lies on."""
    spleen = bench.classes.index("spleen")
    first, last = (int(z) for z in np.nonzero(bench.masks()[:, spleen].any(axis=(1, 2)))[0][[0, -1]])
    away = (0, first - 3) if first >= 3 else (last + 3, bench.depth - 1)
    assert away[0] <= away[1], "the case's spleen leaves no slices 3 away from it"
    start, count = bench.history.current, len(bench.history.versions)
    args = {"organ": "spleen", "action": "shrink", "region": "whole", "strength": 0.3, "slices": list(away)}
    with pytest.raises(
        ValueError,
        match=rf"nothing changed, so no version was kept: the spleen lies on slices "
        rf"{first}–{last} \(.*\), and slices {away[0]}–{away[1]} hold none of it",
    ):
        run_tool(bench, "intervene_decoder", args)
    assert (bench.history.current, len(bench.history.versions)) == (start, count)
    # a grow there: the clinician may be saying that the organ is missing there, so the reason says how to look
    with pytest.raises(
        ValueError,
        match=rf"too far from slices {away[0]}–{away[1]} for a grow to reach; to look for "
        rf"it there, segment the spleen on slices {away[0]}–{away[1]}",
    ):
        run_tool(bench, "intervene_decoder", {**args, "action": "add_region", "strength": 0.1})
    assert (bench.history.current, len(bench.history.versions)) == (start, count)
    assert "a larger amount moves more" in no_change_reason(
        Intervention(organ="spleen", action="shrink", strength=0.0), bench.masks()[:, spleen], bench
    )


def test_a_correction_says_when_the_organ_now_starts_or_ends_on_another_slice(bench):
    """Said exactly when the first or last slice of the organ moved; a full-strength shrink of one end moves it."""
    liver = bench.classes.index("liver")
    moved = []
    for region in ("inferior", "superior"):
        held_before = [int(z) for z in np.nonzero(bench.masks()[:, liver].any(axis=(1, 2)))[0]]
        args = {"organ": "liver", "action": "shrink", "region": region, "strength": 1.0}
        result = run_tool(bench, "intervene_decoder", args)
        held_after = [int(z) for z in np.nonzero(bench.masks()[:, liver].any(axis=(1, 2)))[0]]
        before, after = (held_before[0], held_before[-1]), (held_after[0], held_after[-1])
        # with the gaps the liver has here (its specks on a far slice): "slices 0 and 2–10"
        note = f"Now on {slices_said(held_after)} (was {slices_said(held_before)})."
        assert (note in result.message) == (after != before) and ("Now on slices" in result.message) == (
            after != before
        )
        moved.append(after != before)
        run_tool(bench, "undo", {})
    assert any(moved), "a full-strength shrink of an end of the liver moves its first or last slice"
    mask = np.zeros((5, 3, 3), bool)
    mask[1:3] = True
    assert span_change_note(mask, mask) == span_change_note(mask, np.zeros_like(mask)) == ""
    grown = mask.copy()
    grown[4] = True  # a piece two slices away: the range 1–4 would hide that slice 3 holds none
    assert span_change_note(mask, grown) == " Now on slices 1–2 and 4 (was slices 1–2)."


def test_a_shrink_on_slices_partly_without_the_organ_says_which_hold_none(bench):
    spleen = bench.classes.index("spleen")
    first = int(np.nonzero(bench.masks()[:, spleen].any(axis=(1, 2)))[0][0])
    assert first >= 2, "the case's spleen starts on slice 2 or later"
    args = {"organ": "spleen", "action": "shrink", "region": "whole", "strength": 0.5, "slices": [first - 2, first + 1]}
    result = run_tool(bench, "intervene_decoder", args)
    assert f"Of the command's slices, slices {first - 2}–{first - 1} hold none of the spleen." in result.message
    run_tool(bench, "undo", {})
    grown = run_tool(bench, "intervene_decoder", {**args, "action": "expand"})  # a grow may reach into them
    assert "hold none" not in grown.message
    run_tool(bench, "undo", {})
    assert slices_said([3, 4, 5, 9]) == "slices 3–5 and 9" and slices_said([7]) == "slice 7"
    assert slices_said([1, 3, 5]) == "slices 1, 3 and 5"


def test_a_grow_toward_the_feet_on_slices_the_organ_goes_on_past_says_it_moved_edges_not_the_end(bench):
    liver = bench.classes.index("liver")
    body = main_body_slices(bench.masks()[:, liver])  # its end: specks apart from it are none (a fifth trial)
    first, last = body[0], body[-1]
    assert last - first >= 5, "the case's liver spans at least 6 slices"
    args = {"organ": "liver", "action": "expand", "region": "inferior", "strength": 0.8}
    inside = run_tool(bench, "intervene_decoder", {**args, "slices": [first + 2, last]})
    assert f"The liver goes on toward the feet past the slices named, to slice {first}: this moved its edges on " in (
        inside.message
    )
    assert f"not its end; to move its end, name slices that hold it (slice {first}) or none." in inside.message
    run_tool(bench, "undo", {})
    at_the_end = run_tool(bench, "intervene_decoder", {**args, "slices": [first, last]})  # its end among them
    toward_the_head = run_tool(bench, "intervene_decoder", {**args, "region": "superior", "slices": [first, last - 2]})
    assert "goes on" not in at_the_end.message
    assert "The liver goes on toward the head past the slices named" in toward_the_head.message
    run_tool(bench, "undo", {"steps": 2})


def test_a_speck_past_a_gap_is_not_said_to_be_where_the_organ_goes_on_to():
    """A fifth trial: "extend it down by 2 slices" was told the liver "goes on toward the feet … to slice 2", where one
    stray voxel lay, and in the same reply "Grown no further than 2 slices past its bottom slice (8)"."""
    mask = np.zeros((12, 6, 6), bool)
    mask[8:11, 1:5, 1:5] = True
    mask[2, 3, 3] = True
    grow = Intervention(organ="liver", action="expand", region="inferior", strength=0.5, slices=[6, 8])
    assert end_beyond_note(grow, mask) == ""
    inside = Intervention(organ="liver", action="expand", region="inferior", strength=0.5, slices=[9, 10])
    assert "to slice 8:" in end_beyond_note(inside, mask)


def test_remove_region_deletes_the_detached_piece_it_is_aimed_at_and_nothing_else(bench):
    """ "That blob at the front is not spleen, delete it": `remove_region` takes the spleen's detached piece toward the
    front whole (piece_removal.detached_pieces) — not a slice of the spleen's own front — and no other voxel of any
    organ changes. "Delete the spleen on slice m" takes all of it there and nothing elsewhere."""
    from causal_sam_llm.segmentation.inference import masks_from_probabilities
    from causal_sam_llm.segmentation.tci_apply import Evidence, apply_learned, correct

    bench.wait_for_box_evidence()
    case, probabilities, masks = bench.require_case(), bench.probabilities().copy(), bench.masks()
    spleen = bench.classes.index("spleen")
    slices, rows, cols = np.nonzero(masks[:, spleen])
    middle, column = int(np.median(slices)), int(np.median(cols))
    blob = np.zeros(masks[:, spleen].shape, bool)
    blob[middle - 1 : middle + 2, rows.min() - 12 : rows.min() - 7, column - 3 : column + 3] = True
    assert not (masks.any(axis=1) & blob).any()  # planted where no organ is
    spleen_values = probabilities[:, spleen]  # a view
    spleen_values[blob] = 0.9
    command = Intervention(organ="spleen", action="remove_region", region="anterior")
    inputs = (bench.decoded, probabilities, command, case.label_set, case.axial_spacing_mm(), case.axial_image())
    after = apply_learned(bench.segmenter, bench.generator, *inputs)
    assert after[:, spleen][blob].max() < 0.5
    np.testing.assert_array_equal(after[:, spleen][~blob], probabilities[:, spleen][~blob])
    np.testing.assert_array_equal(np.delete(after, spleen, axis=1), np.delete(probabilities, spleen, axis=1))
    evidence = Evidence(bench.segmenter, bench.generator, case.label_set)
    corrected = correct(evidence, bench.decoded, probabilities, command, case.axial_spacing_mm(), case.axial_image())
    np.testing.assert_array_equal(corrected.deleted_pieces, blob)  # what the reply's note counts and measures
    on_slice = Intervention(organ="spleen", action="remove_region", region="whole", slices=(middle, middle))
    gone = apply_learned(bench.segmenter, bench.generator, bench.decoded, after, on_slice, *inputs[3:])
    shown = masks_from_probabilities(after, case.label_set, bench.classes)[:, spleen]
    assert shown[middle].any() and gone[middle, spleen][shown[middle]].max() < 0.5  # "delete the spleen on slice m"
    np.testing.assert_array_equal(np.delete(gone, middle, axis=0), np.delete(after, middle, axis=0))


def test_a_removal_says_whether_it_deleted_separate_pieces_or_cut_the_organ_back():
    """`remove_region` means different edits (piece_removal.deleted_whole); the reply says which one applied."""
    organ = np.zeros((6, 30, 30), bool)
    organ[1:5, 10:20, 10:20] = True
    organ[2:4, 2:5, 12:15] = True  # a separate piece at the front (rows run front to back)
    command = Intervention(organ="left_kidney", action="remove_region", region="anterior")
    spacing = (5.0, 10.0, 10.0)  # 0.5 ml a voxel
    deleted = " Deleted 1 separate piece of the left kidney (9.0 ml) at the front."

    def note(said: Intervention) -> str:  # the pieces as the correction finds them (tci_apply.Correction)
        return removal_note(said, deleted_whole(said, organ, spacing), spacing)

    assert note(command) == deleted
    behind = command.model_copy(update={"region": "posterior"})
    assert note(behind) == (
        " No separate piece of the left kidney lay at the back, so the left kidney itself was cut back there."
    )
    on_slices = command.model_copy(update={"region": "whole", "slices": (2, 3)})
    assert note(on_slices) == " Deleted the left kidney on slices 2–3 (109 ml)."  # its body and the piece there
    assert (
        note(on_slices.model_copy(update={"slices": (5, 5)}))
        == " The left kidney did not reach slice 5: nothing was deleted."
    )
    assert note(command.model_copy(update={"action": "shrink"})) == ""
