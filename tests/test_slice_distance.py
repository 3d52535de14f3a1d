"""An amount said in slices, read with the study's slice spacing (agent/slice_distance.py); the assistant's reply on
a real study is checked in tests/test_assistant_session.py."""

import pytest

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.slice_distance import (
    NO_STUDY_QUESTION,
    ground_slice_distance,
    slice_distance_note,
    slices_said_as_distance,
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
    unopened = ground_slice_distance(_correction("expand", "superior"), "grow it by 2 slices toward the head", None)
    assert unopened.args == {"question": NO_STUDY_QUESTION}
    smooth = _correction("smooth", "whole")
    assert ground_slice_distance(smooth, "smooth it over 2 slices", 5.0) == smooth  # smoothing has no amount
    measured = ParsedCall(tool="measure", args={"metric": "volume_ml", "organ": "liver"})
    assert ground_slice_distance(measured, "volume of the liver by 2 slices", 5.0) == measured
