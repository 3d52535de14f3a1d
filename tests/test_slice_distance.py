"""An amount said in slices, read with the study's slice spacing (agent/slice_distance.py); the assistant's reply on
a real study is checked in tests/test_assistant_session.py."""

import numpy as np
import pytest

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.slice_distance import (
    NO_STUDY_QUESTION,
    at_the_organs_end,
    ground_slice_distance,
    slice_distance_note,
    slices_said_as_distance,
    without_slice_counts,
)


def _correction(action: str, region: str) -> ParsedCall:
    return ParsedCall(tool="intervene_decoder", args={"organ": "liver", "action": action, "region": region})


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("grow the liver by 2 slices toward the head", 2),
        ("extend the spleen 3 slices further up", 3),
        ("the liver is two slices too short at the top", 2),
        ("shrink it by a slice at the bottom", 1),
        ("grow it by a couple of slices toward the feet", 2),
        # a fourth trial: each had been read as no amount
        ("shrink the liver 2 slices at the top", 2),
        ("grow it by six slices toward the head", 6),
        ("a couple of slices toward the head", 2),
        ("it needs one more slice at the top", 1),
        ("L kidney: add a slice on top", 1),
        ("the top 3 slices are wrong", None),  # a choice of slices, not a distance
        ("grow it on 2 slices", None),
        ("grow the liver on slices 2 to 5", None),  # slices named, not a distance
        ("grow the liver by 5 mm", None),
    ],
)
def test_the_number_of_slices_said_as_an_amount_is_read(text, count):
    assert slices_said_as_distance(text) == count


def test_slices_toward_the_head_or_feet_become_that_many_slice_spacings():
    """ "by 2 slices" had been asked back in mm although the study's slice spacing was known (a clinician trial)."""
    grown = ground_slice_distance(_correction("expand", "superior"), "grow the liver by 2 slices toward the head", 5.0)
    assert grown.tool == "intervene_decoder" and grown.args["strength"] == pytest.approx(10 / 30)
    assert grown.args["region"] == "superior" and grown.args["action"] == "expand"
    shrunk = ground_slice_distance(_correction("shrink", "inferior"), "shrink it by a slice at the bottom", 2.5)
    assert shrunk.args["strength"] == pytest.approx(2.5 / 30)
    note = slice_distance_note("shrink it by a slice at the bottom", shrunk, 2.5)
    assert note == " One slice read as 2.5 mm (this study's slices are 2.5 mm apart)."


def test_slices_in_another_direction_too_many_or_with_no_study_are_asked_back():
    whole = ground_slice_distance(_correction("expand", "whole"), "grow the liver by 2 slices", 5.0)
    assert whole.tool == "clarify" and "5 mm apart, so 2 slices is 10 mm" in whole.args["question"]
    assert "'toward the head by 10 mm'" in whole.args["question"]
    far = ground_slice_distance(_correction("expand", "superior"), "grow it by 8 slices toward the head", 5.0)
    assert far.tool == "clarify" and "8 slices here is 40 mm" in far.args["question"]
    # taking 5 slices off the top is no boundary move: it is done, whatever their length (a fifth trial was asked)
    trim = ground_slice_distance(_correction("shrink", "superior"), "trim 5 slices off the top", 10.0)
    assert trim.tool == "intervene_decoder" and trim.args["strength"] == 1.0
    unopened = ground_slice_distance(_correction("expand", "superior"), "grow it by 2 slices toward the head", None)
    assert unopened.args == {"question": NO_STUDY_QUESTION}
    smooth = _correction("smooth", "whole")
    assert ground_slice_distance(smooth, "smooth it over 2 slices", 5.0) == smooth  # smoothing has no amount
    measured = ParsedCall(tool="measure", args={"metric": "volume_ml", "organ": "liver"})
    assert ground_slice_distance(measured, "volume of the liver by 2 slices", 5.0) == measured


def test_a_count_of_slices_is_no_slice_number():
    assert without_slice_counts("grow the left kidney by 1 slice toward the head").split() == [
        "grow", "the", "left", "kidney", "by", "toward", "the", "head",
    ]  # fmt: skip
    assert without_slice_counts("slices 2 to 5, the top 3 slices") == "slices 2 to 5, the top 3 slices"


def _organ_on(first: int, last: int, depth: int = 12) -> np.ndarray:
    mask = np.zeros((depth, 6, 6), bool)
    mask[first : last + 1, 1:5, 1:5] = True
    return mask


def test_a_shrink_by_slices_takes_the_organ_off_its_end_and_a_grow_goes_no_further():
    """ "trim 2 slices off the top" of a liver whose top 2 slices were wrong had cut 3600 voxels lower down, where it
    was right, and a grow by 2 slices had gone 3 past the end (a fourth trial)."""
    mask = _organ_on(3, 8)
    trim = ParsedCall(
        tool="intervene_decoder", args={"organ": "liver", "action": "shrink", "region": "superior", "slices": None}
    )
    removed, note = at_the_organs_end(trim, "trim 2 slices off the top", mask)
    assert removed.args == {"organ": "liver", "action": "remove_region", "region": "whole", "slices": [7, 8]}
    assert note == " Took the liver off its top 2 slices (slices 7–8), where it ends toward the head."
    grow = _correction("expand", "inferior")
    limited, note = at_the_organs_end(grow, "grow it by 2 slices toward the feet", mask)
    assert limited.args["slices"] == [1, 3] and limited.args["action"] == "expand"
    assert note == " Grown no further than 2 slices past its bottom slice (3): slices 1–3."
    # its end is the volume's: no slice past it to grow onto (it had grown the bottom third in-plane instead)
    edge, note = at_the_organs_end(grow, "grow it by 2 slices toward the feet", _organ_on(0, 4))
    assert edge.tool == "clarify" and note == ""
    assert edge.args["question"].startswith("The liver already reaches the study's bottom slice (0): there is no")
    named = ParsedCall(tool="intervene_decoder", args={**grow.args, "slices": [2, 6]})
    assert at_the_organs_end(named, "grow it by 2 slices toward the feet on slices 2 to 6", mask) == (named, "")
    assert at_the_organs_end(grow, "grow it by 2 slices", np.zeros((12, 6, 6), bool)) == (grow, "")
    sideways = _correction("expand", "left")
    assert at_the_organs_end(sideways, "grow it 2 slices to the left", mask) == (sideways, "")


def test_slices_said_as_too_high_or_lower_go_along_the_slices():
    """ "the liver goes 3 slices too high, cut it back" had been asked which direction (a fourth trial)."""
    high = ground_slice_distance(_correction("shrink", "whole"), "the liver goes 3 slices too high, cut it back", 10.0)
    assert high.args["region"] == "superior" and high.args["strength"] == pytest.approx(1.0)
    low = ground_slice_distance(_correction("expand", "whole"), "it should reach 2 slices lower", 10.0)
    assert low.args["region"] == "inferior"
    said = ground_slice_distance(_correction("expand", "inferior"), "it stops a slice too high at the bottom", 10.0)
    assert said.args["region"] == "inferior"  # a region named: as said


def test_a_speck_apart_from_the_organ_is_no_end_of_it():
    """A shrink by slices had taken the organ's last occupied slice as its end, so a speck far above the liver was
    trimmed and the liver's top left as it was (a fourth trial). The end is the main body's; specks past it go too."""
    mask = _organ_on(3, 8)
    mask[11, 2, 2] = True  # a speck three slices above the liver
    trim = _correction("shrink", "superior")
    removed, note = at_the_organs_end(trim, "trim 2 slices off the top", mask)
    assert removed.args["slices"] == [7, 11] and removed.args["action"] == "remove_region"
    assert note == (
        " Took the liver off its top 2 slices (slices 7–8), where it ends toward the head, and off slice 11 past them,"
        " which it held apart from the rest."
    )
    limited, note = at_the_organs_end(_correction("expand", "superior"), "grow it by 1 slice toward the head", mask)
    assert limited.args["slices"] == [8, 9] and "past its top slice (8)" in note
