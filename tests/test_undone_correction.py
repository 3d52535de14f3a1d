"""A correction undone, then carried over to another organ ("undo", "now the spleen"): agent/undone_correction.py;
the real model's parse is checked in tests/test_agent.py."""

import pytest

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.undone_correction import correction_to_follow

CLASSES = ["liver", "spleen", "right_kidney", "left_kidney"]
GROWN = ParsedCall(
    tool="intervene_decoder", args={"organ": "liver", "action": "expand", "region": "inferior", "strength": 0.25}
)
UNDO = ParsedCall(tool="undo", args={"steps": 1})


@pytest.mark.parametrize("text", ["now the spleen", "the spleen instead", "try the spleen", "do the spleen then"])
def test_an_undone_correction_is_followed_where_the_text_only_names_another_organ(text):
    assert correction_to_follow([("grow the liver a little", GROWN), ("undo", UNDO)], text, CLASSES) == GROWN


@pytest.mark.parametrize(
    "text",
    [
        "segment the spleen",  # an action of its own
        "shrink the spleen",
        "now the liver",  # the undone correction's own organ
        "the spleen and the liver",  # two organs
        "undo",
    ],
)
def test_otherwise_the_undo_is_what_a_follow_up_continues(text):
    assert correction_to_follow([("grow the liver a little", GROWN), ("undo", UNDO)], text, CLASSES) == UNDO


def test_only_a_single_undo_right_after_a_correction_is_looked_past():
    two_steps = ParsedCall(tool="undo", args={"steps": 2})
    assert correction_to_follow([("grow", GROWN), ("undo 2", two_steps)], "now the spleen", CLASSES) == two_steps
    history = [("grow", GROWN), ("undo", UNDO), ("undo", UNDO)]
    assert correction_to_follow(history, "now the spleen", CLASSES) == UNDO
    assert correction_to_follow([("undo", UNDO)], "now the spleen", CLASSES) == UNDO
    assert correction_to_follow([("grow", GROWN)], "now the spleen", CLASSES) == GROWN
    assert correction_to_follow([], "now the spleen", CLASSES) is None
