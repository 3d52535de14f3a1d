"""The request a command asks for beside the one call made (agent/request_clauses.py), read without a model."""

import pytest

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.request_clauses import left_out_note, other_regions_note

ORGANS = ["liver", "spleen", "right_kidney", "left_kidney"]


def _correction(organ: str, action: str) -> ParsedCall:
    return ParsedCall(tool="intervene_decoder", args={"organ": organ, "action": action, "region": "whole"})


@pytest.mark.parametrize(
    ("text", "call", "left_out"),
    [
        ("shrink the spleen and the liver", _correction("spleen", "shrink"), '"shrink the liver" was'),
        ("grow the liver and the spleen a touch", _correction("liver", "expand"), '"grow the spleen a touch" was'),
        (
            "grow the spleen and the liver and the left kidney",
            _correction("spleen", "expand"),
            '"grow the liver" and "grow the left kidney" were not done; ask for them next.',
        ),
    ],
)
def test_an_organ_named_after_a_correction_shares_its_verb(text, call, left_out):
    """ "shrink the spleen and the liver" shrank the spleen and said nothing of the liver (a clinician-language
    trial): the liver's request is named, worded with the correction's verb."""
    assert left_out in left_out_note(text, call, ORGANS)


@pytest.mark.parametrize(
    "text",
    [
        "shrink the spleen, the liver is fine",
        "shrink the spleen but not the liver",
        "shrink the spleen and leave the liver",
        "shrink the spleen toward the liver",
        "shrink the spleen at the top and the front",
        "don't grow the spleen, shrink it at the top",  # a fourth trial: had been named as not done
        "grow the spleen a little, no wait, shrink it",  # a fifth trial: the withdrawn grow had been named
    ],
)
def test_an_organ_settled_spared_or_named_as_a_place_is_no_request(text):
    assert left_out_note(text, _correction("spleen", "shrink"), ORGANS) == ""


def test_a_description_of_the_error_is_no_second_request_of_the_same_way():
    """ "the liver's front is missing at the bottom, slices 9 to 11, grow it 8 mm at the front" had been told the
    description "was not done; ask for it next" (a fifth trial)."""
    text = "the liver's front is missing at the bottom, slices 9 to 11, grow it 8 mm at the front"
    assert left_out_note(text, _correction("liver", "expand"), ORGANS) == ""


def test_a_second_direction_named_is_said_not_done():
    """ "the liver bulges out at the fornt on the patient's left …, trim it a little" had trimmed the front alone
    without a word (a fifth trial): one region per correction, and the reply names the one left."""
    front = ParsedCall(tool="intervene_decoder", args={"organ": "liver", "action": "shrink", "region": "anterior"})
    text = "the liver bulges out at the fornt on the patient's left on slices 20 to 22, trim it a little"
    assert other_regions_note(text, front) == (
        " One direction per correction: this moved the edge at the front; ask for 'on the patient's left' next."
    )
    assert other_regions_note("trim the liver at the front", front) == ""
    assert other_regions_note("grow it toward the head, no wait, at the front", front) == ""  # withdrawn
    whole = ParsedCall(tool="intervene_decoder", args={**front.args, "region": "whole"})
    assert other_regions_note("shrink the liver at the front and the back", whole) == ""
