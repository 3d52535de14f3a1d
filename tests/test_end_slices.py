"""An organ's end slices said to be missing or to go (agent/end_slices.py): read as that many slices along the slices
toward the end named; the real model's parse is checked in tests/test_agent.py and the assistant's edit in
tests/test_assistant_session.py."""

import pytest

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.end_slices import end_slices_said, ground_end_slices
from causal_sam_llm.agent.said_error_rails import ground_slice_words
from causal_sam_llm.agent.slice_distance import slices_said_as_distance, without_slice_counts


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("the spleen is missing its lowest slice", (1, "inferior", "expand")),  # a fifth trial: grown all over
        ("the liver is missing its top slice", (1, "superior", "expand")),  # had been asked which slices
        ("the spleen is missing its highest two slices", (2, "superior", "expand")),
        ("the left kidney lacks the bottom slice", (1, "inferior", "expand")),
        ("add back the top slice of the spleen", (1, "superior", "expand")),
        ("its top slice is missing", (1, "superior", "expand")),
        ("the spleen's bottom 2 slices are missing, add them", (2, "inferior", "expand")),
        ("the liver's lowest slice is wrong, remove it", (1, "inferior", "remove_region")),  # had been no slices
        ("remove the top 2 slices of the liver", (2, "superior", "remove_region")),
        ("delete the spleen on its bottom slice", (1, "inferior", "remove_region")),
        ("the bottom slice of the spleen shouldn't be there", (1, "inferior", "remove_region")),
        ("the top slice of the liver is extra", (1, "superior", "remove_region")),
        ("the liver's bottom couple of slices doesn't belong", (2, "inferior", "remove_region")),
        # a part of the end slice, slices to change in-plane, or an end cut short: not the end slices themselves
        ("the spleen's top slice is missing a bit at the front", None),
        ("the spleen's top slice has an extra blob at the back", None),
        ("remove the blob on the top slice of the spleen", None),
        ("grow the liver on its top 3 slices", None),
        ("its top slice is cut off", None),
        ("the liver is missing on slices 3 to 5", None),
        ("the liver stops one slice short at the bottom", None),
    ],
)
def test_end_slices_said_missing_or_to_go(text, said):
    assert end_slices_said(text) == said


def test_end_slices_are_a_distance_along_the_slices_not_slice_numbers():
    assert slices_said_as_distance("the spleen is missing its lowest slice") == 1
    assert slices_said_as_distance("remove the top 2 slices of the liver") == 2
    assert slices_said_as_distance("grow the liver on its top 3 slices") is None  # a choice of slices
    assert "2" not in without_slice_counts("remove the top 2 slices of the liver")  # no slice 2 named
    assert without_slice_counts("grow the liver on its top 3 slices") == "grow the liver on its top 3 slices"


def test_the_end_named_sets_the_action_and_region_whatever_the_model_chose():
    added = ParsedCall(tool="intervene_decoder", args={"organ": "spleen", "action": "add_region", "region": "whole"})
    grown = ground_end_slices(added, "the spleen is missing its lowest slice")
    assert grown.args == {"organ": "spleen", "action": "expand", "region": "inferior", "slices": None}
    named = ParsedCall(tool="intervene_decoder", args={**added.args, "action": "remove_region", "slices": [3, 9]})
    taken = ground_end_slices(named, "the liver's lowest slice is wrong, remove it")
    assert taken.args["action"] == "remove_region" and taken.args["region"] == "inferior"
    assert taken.args["slices"] is None  # the assistant aims it at the organ's end (slice_distance.at_the_organs_end)
    assert ground_end_slices(added, "grow the spleen") == added
    # the slices are no longer asked back by number: the end names them
    assert ground_slice_words(grown, "the liver is missing its top slice") == grown
    measured = ParsedCall(tool="measure", args={"organ": "liver"})
    assert ground_end_slices(measured, "the liver is missing its top slice") == measured
