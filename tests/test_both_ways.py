"""A command asking to grow and to shrink one organ in one place is asked back (a fourth clinician-language trial's
"grow the liver a little but also shrink it" had been grown, with no word of the shrink); two requests in different
places or of different organs, a text that corrects itself and a comparison are left as they were."""

import pytest

from causal_sam_llm.agent.both_ways import ground_both_ways
from causal_sam_llm.agent.call_schema import ParsedCall

ORGANS = ["liver", "spleen", "right_kidney", "left_kidney"]
GROW = ParsedCall(tool="intervene_decoder", args={"organ": "liver", "action": "expand", "region": "whole"})


@pytest.mark.parametrize(
    "text",
    [
        "grow the liver a little but also shrink it",
        "make the liver bigger and smaller",
        "grow the liver at the top, then shrink it at the top",
        "enlarge the liver and reduce the liver",
    ],
)
def test_grow_and_shrink_of_one_organ_in_one_place_is_asked_which(text):
    asked = ground_both_ways(GROW, text, ORGANS)
    assert asked.tool == "clarify" and asked.args["question"].startswith("Grow or shrink the liver?")


@pytest.mark.parametrize(
    "text",
    [
        "grow the liver at the top and shrink it at the bottom",
        "grow the liver and shrink the spleen",
        "grow the liver, no wait, shrink it",
        "don't shrink the liver, grow it",
        "it is smaller than before, grow it",
        "the last shrink went too far, grow the liver a touch",
        "grow the liver a little",
        "grow the liver rather than shrink it",
    ],
)
def test_two_places_two_organs_a_withdrawn_verb_or_a_comparison_are_no_contradiction(text):
    assert ground_both_ways(GROW, text, ORGANS) == GROW
