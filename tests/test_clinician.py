"""The simulated clinician: it asks for the correction a perfect edit gains most from, in the amount, direction and
slices that fix most, deletes what is not the organ, credits no edit against the command's direction or another
organ's voxels, and says it in varied plain words."""

import numpy as np
from toy_organs import SPACING, liver_with_blobs, organ_masks

from causal_sam_llm.agent.keyword_parser import keyword_parse
from causal_sam_llm.segmentation.clinician import (
    _candidate_corrections,
    _gain_if_done_perfectly,
    choose_intervention,
    perfect_edit,
)
from causal_sam_llm.segmentation.clinician_words import said_strength, say
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.tci_amount import commanded_change, facing_area_mm2
from causal_sam_llm.segmentation.tci_blind import apply_blind
from causal_sam_llm.segmentation.tci_evaluation import apply_oracle
from causal_sam_llm.segmentation.tci_gate import held_by_other_organs


def _what_is_asked(command: Intervention) -> tuple:
    return command.organ, command.action, command.region, command.slices


def test_simulated_clinician_asks_to_delete_a_detached_piece_that_is_not_the_organ():
    """A piece of "liver" in front of the liver, away from it: no shrink of the liver can take it without taking
    liver too, so the clinician says what a radiologist would — that blob at the front is not liver, delete it — and
    the agent's keyword parser reads that back."""
    reference = organ_masks()
    prediction, _front, back = liver_with_blobs()
    prediction[:, 0] &= ~back  # only the front piece
    classes = ["liver", "spleen"]
    command = choose_intervention(prediction, reference, classes, SPACING)
    assert _what_is_asked(command) == ("liver", "remove_region", "anterior", None)
    np.testing.assert_array_equal(perfect_edit(command, prediction[:, 0], reference[:, 0], SPACING), reference[:, 0])
    for seed in range(5):
        text = say(command, np.random.default_rng(seed))
        parsed = keyword_parse(text, classes, None).args
        assert (parsed["action"], parsed["region"]) == ("remove_region", "anterior"), text


def test_simulated_clinician_deletes_an_organ_painted_on_slices_where_it_is_not():
    """On MR the segmenter painted liver on slices above the dome. No shrink of the liver's top takes those slices
    cleanly, so the clinician says what a radiologist scrolling through would: there is no liver on slices 7 to 8,
    delete it; every strategy deletes all of it there, and the agent's keyword parser reads it back."""
    reference = organ_masks()
    prediction = reference.copy()
    prediction[7:9, 0, 14:26, 12:24] = True  # the liver (slices 3..6) painted on slices 7 and 8 too
    classes = ["liver", "spleen"]
    command = choose_intervention(prediction, reference, classes, SPACING)
    assert _what_is_asked(command) == ("liver", "remove_region", "whole", (7, 8))
    np.testing.assert_array_equal(perfect_edit(command, prediction[:, 0], reference[:, 0], SPACING), reference[:, 0])
    np.testing.assert_array_equal(apply_blind(prediction, 0, command, SPACING), reference)
    for seed in range(6):
        text = say(command, np.random.default_rng(seed))
        parsed = keyword_parse(text, classes, None).args
        assert (parsed["action"], parsed["region"], parsed["slices"]) == ("remove_region", "whole", [7, 8]), text


def test_simulated_clinician_asks_to_grow_a_liver_cut_short_toward_the_head():
    reference = organ_masks()
    prediction = reference.copy()
    prediction[6, 0] = False  # the top slice of organ 0 is missing
    command = choose_intervention(prediction, reference, ["liver", "spleen"], SPACING)
    assert (command.organ, command.action, command.region) == ("liver", "expand", "superior")
    assert choose_intervention(reference, reference, ["liver", "spleen"], SPACING) is None
    # the same request again means the last one was not enough: asked at least twice as strongly
    again = choose_intervention(prediction, reference, ["liver", "spleen"], SPACING, previous=command)
    assert (again.organ, again.action, again.region) == ("liver", "expand", "superior")
    assert again.strength == said_strength("expand", min(1.0, 2 * command.strength))  # as said: the words carry it
    other = command.model_copy(update={"region": "inferior"})
    assert choose_intervention(prediction, reference, ["liver", "spleen"], SPACING, previous=other) == command
    # ... but not when the organ is already as large as the reference: the last request moved enough, partly in the
    # wrong place, so it is asked again as measured
    prediction[2, 0, 12:28, 10:26] = True  # as much again below the organ
    command = choose_intervention(prediction, reference, ["liver", "spleen"], SPACING)
    assert (command.action, command.region) == ("expand", "superior")
    assert choose_intervention(prediction, reference, ["liver", "spleen"], SPACING, previous=command) == command


def test_simulated_clinician_asks_for_the_correction_that_could_fix_most():
    """The liver misses more voxels (192: 3 rows at the front, a 19 % miss: Dice 0.90), the spleen a larger share of
    itself (36: 2 rows at the front, 33 %: Dice 0.80); fixing the spleen raises the mean Dice most, so the clinician
    asks for it: grow the spleen at the front by its missing 3.9 mm (strength 0.13), said as "a touch" (0.1, 3 mm:
    within a millimetre, `said_strength`)."""
    reference = organ_masks()
    prediction = reference.copy()
    prediction[3:7, 0, 12:15] = False  # liver cut short at the front
    prediction[2:5, 1, 30:32] = False  # spleen cut short at the front
    classes = ["liver", "spleen"]
    command = choose_intervention(prediction, reference, classes, SPACING)
    assert (command.organ, command.action, command.region, command.strength) == ("spleen", "expand", "anterior", 0.1)
    candidates = _candidate_corrections(prediction, reference, classes, SPACING)
    liver_front = next(c for c in candidates if (c.organ, c.region) == ("liver", "anterior"))  # considered
    assert _gain_if_done_perfectly(liver_front, prediction, reference, classes, SPACING) < _gain_if_done_perfectly(
        command, prediction, reference, classes, SPACING
    )


def test_a_perfect_edit_moves_only_the_commanded_way_and_exactly_the_commanded_amount():
    """The oracle and the clinician's choice credit a command only with what an edit in its direction and of its
    amount can do: a grow never gets credit for trimming an over-segmented rim that its gate's soft edge reaches, and
    a command asking for more than is wrong moves right voxels too."""
    reference = organ_masks()[:, 0]  # rows 12..27 on slices 3..6
    prediction = reference.copy()
    prediction[3:7, 12:16] = False  # cut short at the front: 256 voxels
    prediction[3:7, 28, 10:26] = True  # one row too many at the back: 64 voxels
    grow = Intervention(organ="liver", action="expand", region="anterior", strength=0.2)
    grown = perfect_edit(grow, prediction, reference, SPACING)
    added = grown & ~prediction
    assert (grown >= prediction).all() and added.sum() == commanded_change(prediction, grow, SPACING) < 256
    assert reference[added].all() and grown[3:7, 28, 10:26].all()  # only missing voxels added; the extra row kept
    assert _gain_if_done_perfectly(grow, prediction[:, None], reference[:, None], ["liver"], SPACING) > 0
    shrink = Intervention(organ="liver", action="shrink", region="posterior", strength=0.05)
    trimmed = perfect_edit(shrink, prediction, reference, SPACING)
    removed = prediction & ~trimmed
    assert (trimmed <= prediction).all() and removed.sum() == commanded_change(prediction, shrink, SPACING) < 64
    assert not reference[removed].any()  # only the extra row's voxels taken
    too_much = grow.model_copy(update={"region": "whole"})  # asks for 744 voxels where 256 are missing
    assert (perfect_edit(too_much, prediction, reference, SPACING) & ~prediction).sum() == 744
    assert _gain_if_done_perfectly(too_much, prediction[:, None], reference[:, None], ["liver"], SPACING) < 0


def test_in_an_exclusive_set_no_edit_or_credit_takes_voxels_another_organ_holds():
    """The command touches only the organ it names: where another organ's prediction covers the missing part, the
    oracle and the blind edit grow around it (as the learned response, whose gate leaves it out), and the clinician
    does not credit the grow with it; nested regions (exclusive=False) may overlap as before."""
    reference = np.zeros((10, 2, 40, 40), bool)
    reference[3:7, 0, 12:28, 10:26] = True  # the liver
    prediction = reference.copy()
    prediction[3:7, 0, 12:16] = False  # cut short at the front ...
    prediction[3:7, 1, 12:16, 10:18] = True  # ... where the spleen's prediction covers half of what is missing
    held = held_by_other_organs(prediction, 0)
    assert held.sum() == 4 * 4 * 8 and not held[prediction[:, 0]].any()
    grow = Intervention(organ="liver", action="expand", region="anterior", strength=0.2)
    oracle = apply_oracle(prediction, reference, 0, grow, SPACING)
    blind = apply_blind(prediction, 0, grow, SPACING, exclusive=True)
    for edited in (oracle, blind):
        assert not (edited[:, 0] & held).any() and (edited[:, 0] & ~prediction[:, 0]).any()
        np.testing.assert_array_equal(edited[:, 1], prediction[:, 1])
    overlapping = apply_oracle(prediction, reference, 0, grow, SPACING, exclusive=False)
    assert (overlapping[:, 0] & held).any()
    classes = ["liver", "spleen"]
    credited = _gain_if_done_perfectly(grow, prediction, reference, classes, SPACING, exclusive=False)
    assert 0 < _gain_if_done_perfectly(grow, prediction, reference, classes, SPACING) < credited


def test_simulated_clinician_asks_for_as_much_as_is_missing():
    """The strength the clinician says is the missing slab's thickness over the full reach, so that the command asks
    the system to change as many voxels as are missing (the surface it measures is the one the command moves)."""
    reference = organ_masks()
    prediction = reference.copy()
    prediction[3:7, 0, 12:18] = False  # liver cut short at the front by 6 rows of 2 mm = 12 mm
    command = choose_intervention(prediction, reference, ["liver", "spleen"], SPACING)
    assert (command.organ, command.action, command.region) == ("liver", "expand", "anterior")
    assert command.strength == round(12 / 30, 2)
    missing = int((reference[:, 0] & ~prediction[:, 0]).sum())
    assert commanded_change(prediction[:, 0], command, SPACING) == missing


def test_simulated_clinician_asks_for_the_amount_a_perfect_edit_gains_most_from():
    """A narrow, deep cut at the front (4 of 16 columns missing 12 rows deep): its mean thickness over the front face
    asks for 6 mm along the whole face, which even a perfect edit spends partly on voxels that were right; half of it
    gains more, and that is what the clinician says (OTHER_AMOUNTS)."""
    reference = organ_masks()
    prediction = reference.copy()
    prediction[3:7, 0, 12:24, 16:20] = False
    command = choose_intervention(prediction, reference, ["liver", "spleen"], SPACING)
    missing_mm3 = (reference[:, 0] & ~prediction[:, 0]).sum() * np.prod(SPACING)
    measured = round(missing_mm3 / facing_area_mm2(prediction[:, 0], "anterior", SPACING) / 30, 2)
    assert (command.organ, command.action, command.region) == ("liver", "expand", "anterior")
    assert measured == 0.2 and command.strength == 0.1

    def dice_after(strength: float) -> float:
        edited = perfect_edit(
            command.model_copy(update={"strength": strength}), prediction[:, 0], reference[:, 0], SPACING
        )
        return 2 * (edited & reference[:, 0]).sum() / (edited.sum() + reference[:, 0].sum())

    assert dice_after(0.1) > dice_after(measured) > dice_after(0.4)


def test_simulated_clinician_names_the_slices_where_the_error_lies():
    """The liver misses 3 front rows on its bottom slice only. Asked for the whole organ's front, the least amount
    (a touch, 3 mm over 4 slices: 96 voxels) would move as many right voxels as the 48 missing ones; limited to that
    slice, 6 mm moves exactly the 48. The clinician names the slice, and the agent's keyword parser reads it back."""
    reference = organ_masks()
    prediction = reference.copy()
    prediction[3, 0, 12:15] = False
    classes = ["liver", "spleen"]
    command = choose_intervention(prediction, reference, classes, SPACING)
    assert (command.organ, command.action, command.region, command.slices) == ("liver", "expand", "anterior", (3, 3))
    assert command.strength == 0.2 and commanded_change(prediction[:, 0], command, SPACING) == 48
    everywhere = command.model_copy(update={"slices": None, "strength": 0.1})
    assert commanded_change(prediction[:, 0], everywhere, SPACING) == 96
    for seed in range(5):
        text = say(command, np.random.default_rng(seed))
        assert keyword_parse(text, classes, None).args["slices"] == [3, 3], text
    wider = command.model_copy(update={"slices": (3, 5)})
    assert keyword_parse(say(wider, np.random.default_rng(0)), classes, None).args["slices"] == [3, 5]


def test_simulated_clinician_phrasings_vary_and_use_lay_words():
    command = Intervention(organ="right_kidney", action="expand", region="posterior", strength=0.8)
    phrases = {say(command, np.random.default_rng(seed)) for seed in range(30)}
    assert len(phrases) > 5
    assert any("at the back" in p or "toward the spine" in p for p in phrases)
    assert all("kidney" in p for p in phrases)
