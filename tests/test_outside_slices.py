"""Slices said as the ones to keep (agent/outside_slices.py), a version asked for one organ
(agent/one_organ_reset.py), both asked back, and a kidney named by its side alone (agent/side_one.py): a sixth
clinician-language trial."""

import pytest

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.one_organ_reset import ground_one_organ_reset
from causal_sam_llm.agent.outside_slices import ground_outside_slices
from causal_sam_llm.agent.side_one import ground_side_one

CLASSES = ["liver", "spleen", "right_kidney", "left_kidney"]
REMOVAL = ParsedCall(
    tool="intervene_decoder",
    args={"organ": "spleen", "action": "remove_region", "region": "whole", "slices": [10, 19]},
)


@pytest.mark.parametrize(
    "text",
    [
        "keep only slices 10 to 19 of the spleen",
        "spleen: wipe everything outside slices 10 to 19",  # had deleted the real spleen on 10-19 (Dice 38.4 → 0)
        "remove the spleen except on slices 10-19",
    ],
)
def test_slices_to_keep_are_asked_back_as_the_removals_on_either_side(text):
    asked = ground_outside_slices(REMOVAL, text)
    assert asked.tool == "clarify"
    assert "'remove the spleen below slice 10', then 'remove the spleen above slice 19'" in asked.args["question"]
    segmented = ground_outside_slices(ParsedCall(tool="segment", args={"organ": "spleen", "slices": [10, 19]}), text)
    assert segmented.tool == "clarify"


def test_slices_to_change_are_not_slices_to_keep():
    assert ground_outside_slices(REMOVAL, "remove the spleen on slices 10 to 19") == REMOVAL
    measured = ParsedCall(tool="measure", args={"organ": "spleen"})
    assert ground_outside_slices(measured, "the spleen's volume outside slices 10 to 19") == measured


def test_a_version_asked_for_one_organ_is_asked_back():
    start = ParsedCall(tool="go_to_version", args={"version": 0})
    asked = ground_one_organ_reset(start, "spleen - go back to how it was at the start", CLASSES)
    assert asked.tool == "clarify" and "'segment the spleen' to redo the spleen alone" in asked.args["question"]
    # a version named is done as said (eval_sessions/cross_scanner_lowdose.yaml); no organ named, likewise
    assert ground_one_organ_reset(start, "go back to version 0, before the spleen was redone", CLASSES) == start
    assert ground_one_organ_reset(start, "go back to the start", CLASSES) == start
    assert ground_one_organ_reset(start, "the spleen and the liver as at the start", CLASSES) == start


def test_a_kidney_named_by_its_side_alone_after_a_kidney_correction_is_that_kidney():
    """ "the left one needs the same" after a right-kidney grow had grown the right kidney again (a sixth trial)."""
    grown = ParsedCall(
        tool="intervene_decoder",
        args={"organ": "right_kidney", "action": "expand", "region": "whole", "strength": 0.2},
    )
    same = ground_side_one(grown, "the left one needs the same", grown, CLASSES)
    assert same.args == {**grown.args, "organ": "left_kidney"}
    front = ground_side_one(grown, "and anteriorly on the left one, 2 mm", grown, CLASSES)
    assert front.args["organ"] == "left_kidney" and front.args["region"] == "anterior"
    spleen = ParsedCall(tool="intervene_decoder", args={**grown.args, "organ": "spleen"})
    assert ground_side_one(grown, "the left one needs the same", spleen, CLASSES) == grown  # after no kidney
    assert ground_side_one(grown, "grow the liver, the left one", grown, CLASSES) == grown  # an organ named
