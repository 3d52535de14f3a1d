"""The request a command asks for beside the one call made (agent/request_clauses.py), read without a model."""

import pytest

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.request_clauses import left_out_note

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
    ],
)
def test_an_organ_settled_spared_or_named_as_a_place_is_no_request(text):
    assert left_out_note(text, _correction("spleen", "shrink"), ORGANS) == ""
