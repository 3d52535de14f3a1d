"""Where one organ's mask meets another's (tools/organ_border.py), and a correction said as one organ running into
another aimed there (agent/border_request.py); on the real segmented study in tests/test_assistant_session.py."""

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from causal_sam_llm.agent.border_request import Leak, aimed_at_the_border, leak_named
from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall
from causal_sam_llm.tools.organ_border import CONTACT_MM, border_with, contact_mm, gap_mm

ORGANS = ["liver", "spleen", "right_kidney", "left_kidney"]
SPACING = (5.0, 2.0, 2.0)  # slice, row, column (mm)


def _masks() -> np.ndarray:
    """(Z, 4, rows, cols): a left kidney (columns 20–29, slices 2–11) whose upper slices 8–11 touch the spleen lying
    beside it on the patient's left (columns 30–39, slices 8–15); a liver far off on the right."""
    masks = np.zeros((18, 4, 40, 50), bool)
    masks[8:16, 1, 10:30, 30:40] = True  # spleen
    masks[2:12, 3, 10:30, 20:30] = True  # left kidney
    masks[2:16, 0, 5:35, 0:8] = True  # liver, 24 mm from the kidney
    return masks


def test_the_border_is_the_side_and_the_slices_where_the_masks_meet():
    masks = _masks()
    kidney, spleen = masks[:, 3], masks[:, 1]
    border = border_with(kidney, spleen, SPACING)
    # the spleen lies on the kidney's left (columns grow toward the patient's left), on the slices both hold (the
    # kidney's slice 7 is 5.4 mm from the spleen's corner on slice 8: beyond CONTACT_MM)
    assert border.region == "left" and border.slices == (8, 11)
    band = kidney & (distance_transform_edt(~spleen, sampling=SPACING) <= CONTACT_MM)
    assert border.voxels == int(band.sum())  # the cropped distance gives the whole volume's band
    assert border_with(kidney, masks[:, 0], SPACING) is None  # the liver is further than CONTACT_MM
    assert border_with(kidney, np.zeros_like(kidney), SPACING) is None
    assert gap_mm(kidney, masks[:, 0], SPACING) == pytest.approx(2.0 * (20 - 7))
    assert gap_mm(kidney, np.zeros_like(kidney), SPACING) is None


def test_masks_that_touch_on_a_coarse_grid_meet_and_a_voxel_apart_do_not():
    """On a 7.3 mm grid the centres of touching voxels are 7.3 mm apart: more than 5 mm, yet the masks meet."""
    coarse = (20.0, 7.3, 7.3)
    organ, neighbour = np.zeros((6, 12, 12), bool), np.zeros((6, 12, 12), bool)
    organ[1:4, 2:8, 2:6], neighbour[2:5, 2:8, 6:9] = True, True
    assert contact_mm(coarse) == pytest.approx(10.95) and contact_mm(SPACING) == CONTACT_MM
    border = border_with(organ, neighbour, coarse)
    assert border.region == "left" and border.slices == (2, 3) and border.voxels == 2 * 6
    neighbour[:] = False
    neighbour[2:5, 2:8, 7:9] = True
    assert border_with(organ, neighbour, coarse) is None and gap_mm(organ, neighbour, coarse) == pytest.approx(14.6)


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("the left kidney bleeds into the spleen", Leak("left_kidney", ["spleen"], None)),
        ("the liver leaks into the right kidney", Leak("liver", ["right_kidney"], None)),
        ("The right kidney mask bleeds up into the liver cranially", Leak("right_kidney", ["liver"], None)),
        ("the spleen overlaps the left kidney", Leak("spleen", ["left_kidney"], None)),
        ("the liver bleeds into the kidney at the back", Leak("liver", ["right_kidney", "left_kidney"], None)),
        ("the left kidney is bleeding into the kidney", Leak("left_kidney", ["right_kidney"], None)),
        ("the spleen runs into the pancreas", Leak("spleen", [], "pancreas")),  # an organ this model lacks
        ("liver leaks into the stomach on the patient's right side", Leak("liver", [], "stomach")),
        ("the liver goes over into the fossa", Leak("liver", [], "")),
        ("extend the spleen into the gap by the left kidney", None),  # an imperative asks for a grow
        ("the liver goes too far at the back", None),  # into nothing
        ("the right kidney spills over a touch, shrink it", None),  # too big, not into anything
        ("the spleen spills over the stomach", Leak("spleen", [], "stomach")),
        ("shrink the liver", None),
        ("the spleen and the liver overlap", None),  # which runs into which is not said
    ],
)
def test_the_organ_said_to_run_into_another_is_read_with_the_organs_it_may_run_into(text, leak):
    assert leak_named(text, ORGANS) == leak


def _shrink(organ: str, **args) -> ParsedCall:
    return ParsedCall(tool="intervene_decoder", args={"organ": organ, "action": "shrink", "region": "whole", **args})


def test_a_correction_said_as_running_into_a_neighbour_is_aimed_at_the_border():
    masks = _masks()
    # the model's whole-organ shrink of the kidney (in a trial: -87 %) becomes a shrink of its side by the spleen
    call, note = aimed_at_the_border(
        _shrink("left_kidney"), "the left kidney bleeds into the spleen", masks, ORGANS, SPACING
    )
    assert call.args == {
        "organ": "left_kidney",
        "action": "shrink",
        "region": "left",
        "slices": [8, 11],
        "strength": round(5 / 30, 4),
    }  # no amount said: the border's width, 5 mm, not a share of the organ (15 mm had cut 19 % of a spleen)
    assert note.startswith(" Aimed at where the left kidney meets the spleen (") and "on the patient's left" in note
    assert note.endswith(
        "it moved 5 mm, the width of the border; for another amount say one ('a touch', 'a lot', '10 mm')."
    )
    # the model's organ or action mistaken, the text's own side and slices, and its amount kept
    removed = ParsedCall(tool="intervene_decoder", args={**_shrink("spleen").args, "action": "remove_region"})
    removed.args["strength"] = 0.5  # the default a removal gets when no amount is said: not 15 mm at a border
    call, _ = aimed_at_the_border(removed, "the left kidney bleeds into the spleen", masks, ORGANS, SPACING)
    assert call.args["action"] == "shrink" and call.args["strength"] == round(5 / 30, 4)
    grown = ParsedCall(tool="intervene_decoder", args={**_shrink("spleen").args, "action": "expand", "strength": 0.8})
    call, _ = aimed_at_the_border(grown, "the left kidney bleeds into the spleen, a lot", masks, ORGANS, SPACING)
    assert call.args == {
        "organ": "left_kidney",
        "action": "shrink",
        "region": "left",
        "strength": 0.8,
        "slices": [8, 11],
    }
    said = _shrink("left_kidney", region="superior", slices=[9, 10])
    call, _ = aimed_at_the_border(
        said, "the left kidney runs into the spleen at the top, slices 9 to 10", masks, ORGANS, SPACING
    )
    assert call.args["region"] == "superior" and call.args["slices"] == [9, 10]
    # "kidney" without a side: the kidney whose mask the organ meets
    masks[8:16, 2, 10:30, 40:50] = True  # a right kidney beside the spleen (a toy, not anatomy)
    call, note = aimed_at_the_border(_shrink("spleen"), "the spleen leaks into the kidney", masks, ORGANS, SPACING)
    assert call.args["region"] == "left" and "meets the right kidney" in note


def test_masks_that_do_not_meet_are_asked_about_and_other_calls_pass_unchanged():
    masks = _masks()
    call, note = aimed_at_the_border(_shrink("liver"), "the liver runs into the left kidney", masks, ORGANS, SPACING)
    assert call.tool == CLARIFY and note == ""
    assert call.args["question"].startswith("Nothing was changed: the liver and left kidney masks are 26 mm apart")
    masks[:, 3] = False
    call, _ = aimed_at_the_border(_shrink("liver"), "the liver runs into the left kidney", masks, ORGANS, SPACING)
    assert "there is no left kidney mask to meet" in call.args["question"]
    measure = ParsedCall(tool="measure", args={"metric": "dice", "organ": "liver"})
    assert aimed_at_the_border(measure, "the liver runs into the spleen", masks, ORGANS, SPACING) == (measure, "")
    plain = _shrink("spleen")
    assert aimed_at_the_border(plain, "shrink the spleen", masks, ORGANS, SPACING) == (plain, "")


def test_a_border_at_two_places_is_cut_back_at_the_larger_only():
    """A spleen touching a kidney at both poles: one range over both had cut the spleen on the slices between, where
    it touches nothing (a third clinician-language trial: slices 11-18 changed, touching on 9, 10, 17 and 18)."""
    organ, neighbour = np.zeros((20, 12, 12), bool), np.zeros((20, 12, 12), bool)
    organ[2:18, 2:8, 2:6] = True
    neighbour[2:5, 2:8, 6:9] = neighbour[12:18, 2:8, 6:9] = True  # two contacts; the upper one holds more
    assert border_with(organ, neighbour, SPACING).slices == (12, 17)


def test_an_organ_run_into_something_this_model_does_not_segment_is_asked_where_unless_said():
    """ "the spleen runs into the pancreas" had shrunk the whole spleen (35 ml in a third trial) and said nothing of
    the pancreas; a side or slices said are done as said."""
    masks, text = _masks(), "the spleen runs into the pancreas"
    call, note = aimed_at_the_border(_shrink("spleen"), text, masks, ORGANS, SPACING)
    assert call.tool == CLARIFY and note == ""
    assert call.args["question"].startswith("Nothing was changed: the pancreas is not one of the organs this model")
    said = _shrink("spleen", region="anterior")
    assert aimed_at_the_border(said, text + " at the front", masks, ORGANS, SPACING) == (said, "")
    call, _ = aimed_at_the_border(_shrink("liver"), "the liver goes over into the fossa", masks, ORGANS, SPACING)
    assert call.args["question"].startswith("Nothing was changed: what it runs into is not one of the organs")
