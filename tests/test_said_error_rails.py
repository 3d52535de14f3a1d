"""What a clinician says about a mask's error, read without a model (agent/said_error_rails.py); the real LLM's
answers to the same words are checked in tests/test_agent.py."""

import pytest

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.organ_words import organs_mentioned
from causal_sam_llm.agent.said_error_rails import (
    DISTANCE_NOT_FACTOR,
    STEP_BACK,
    WHICH_SLICES,
    ground_bare_organ,
    ground_distance_words,
    ground_said_direction,
    ground_self_correction,
    ground_signed_amount,
    ground_slice_words,
    ground_too_far,
    ground_undo,
    ground_zero_amount,
    previous_correction,
)


def _correction(action: str, organ: str = "spleen") -> ParsedCall:
    return ParsedCall(tool="intervene_decoder", args={"organ": organ, "action": action, "region": "whole"})


@pytest.mark.parametrize(
    ("text", "model_action", "action"),
    [
        ("spleen too small", "shrink", "expand"),  # the model shrank these (a clinician-language trial)
        ("the left kidney is undersegmented", "shrink", "expand"),
        ("the liver is too short at the top", "shrink", "expand"),
        ("the liver is underestimated", "remove_region", "expand"),
        ("the spleen is over-segmented", "expand", "shrink"),
        ("right kdiney is too big", "expand", "shrink"),
        ("the enhancing rim is too thick", "add_region", "shrink"),
        ("the spleen is too small, add the missing part", "add_region", "add_region"),  # already that way
        ("too small at the top but too big at the bottom", "shrink", "shrink"),  # both said: the model's
        ("it looks too small to me but shrink it", "shrink", "shrink"),  # a verb of its own: the model's
        ("the spleen is too small", "smooth", "smooth"),
        # a fourth trial: each had been shrunk
        ("the left kidney is one slice short at the top", "shrink", "expand"),
        ("the left kidney stops one slice too early at the top", "shrink", "expand"),
        ("the spleen stops a slice too high at the bottom", "shrink", "expand"),
        ("the spleen looks a bit thin at the back", "shrink", "expand"),
        ("the liver goes 2 slices too high at the top", "expand", "shrink"),
        ("the liver stops too low at the bottom", "expand", "shrink"),
    ],
)
def test_a_complaint_that_the_organ_is_too_small_grows_it_and_too_big_shrinks_it(text, model_action, action):
    assert ground_said_direction(_correction(model_action), text).args["action"] == action


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("grow the liver on the top 3 slices", True),  # had grown the whole liver
        ("shrink the spleen on the last slice", True),
        ("grow the liver above slice 15", True),  # had been slice 15 alone
        ("grow the liver from slice 20 to the end", True),
        ("remove the spleen on slices below 5", True),
        ("grow the liver on slice -1", True),
        ("shrink the right kidney at the top on slices 4 to 7", False),
        ("grow the liver to the top", False),
        ("the upper pole of the kidney is missing", False),
    ],
)
def test_slices_said_relative_to_an_end_or_a_slice_are_asked_by_number(text, asked):
    grounded = ground_slice_words(_correction("expand", "liver"), text)
    assert (grounded.tool == "clarify" and grounded.args["question"] == WHICH_SLICES) == asked


def test_a_removal_past_a_slice_or_an_end_slice_with_its_number_is_not_asked_back():
    """A fifth trial: "get rid of the bits of spleen above slice 18" and "too thin on its top slice, slice 11, grow it
    there" had been asked which slices by number."""
    removal = _correction("remove_region")
    assert ground_slice_words(removal, "get rid of the bits of spleen above slice 18") == removal
    grow = _correction("expand", "right_kidney")
    assert ground_slice_words(grow, "the right kidney is too thin on its top slice, slice 11, grow it there") == grow
    assert ground_slice_words(grow, "grow the right kidney on its top slice").args == {"question": WHICH_SLICES}


def test_too_much_is_answered_with_how_to_step_back_and_zero_is_asked():
    grow = _correction("expand")
    for text in ("too much, halfway back", "that's too much", "no, way too much"):
        assert ground_too_far(grow, text).args == {"question": STEP_BACK}
    assert ground_too_far(grow, "the spleen is too big") == grow
    assert ground_too_far(grow, "too much liver at the front, trim it") == grow  # a complaint of its own
    undo = ParsedCall(tool="undo", args={"steps": 1})
    assert ground_too_far(undo, "too much, undo it") == undo
    for text in ("shrink the liver by 0 mm", "grow the spleen by 0%", "shrink the spleen by 0"):
        assert ground_zero_amount(grow, text).tool == "clarify"
    assert ground_zero_amount(grow, "shrink the liver by 0.5 cm") == grow


def test_undo_everything_goes_to_the_start_and_an_undo_for_another_organ_is_asked():
    classes = ["liver", "spleen", "right_kidney", "left_kidney"]
    undo = ParsedCall(tool="undo", args={"steps": 1})
    assert ground_undo(undo, "undo everything", [], "liver") == ParsedCall(tool="go_to_version", args={"version": 0})
    assert ground_undo(undo, "undo all the changes", [], None).tool == "go_to_version"
    text = "undo the last change to the spleen"  # the last change was the liver's: it had been undone
    question = ground_undo(undo, text, organs_mentioned(text, classes), "liver")
    assert question.tool == "clarify" and "the last was to the liver" in question.args["question"]
    assert ground_undo(undo, "undo the liver change", ["liver"], "liver") == undo
    assert ground_undo(undo, "undo", [], "liver") == undo


def test_abbreviations_name_their_organ_for_its_own_model_only():
    abdomen = ["liver", "spleen", "right_kidney", "left_kidney"]
    brain = ["whole_tumour", "tumour_core", "enhancing_tumour"]
    assert organs_mentioned("RK too small", abdomen) == ["right_kidney"]
    assert organs_mentioned("the LK is too big", abdomen) == ["left_kidney"]
    assert organs_mentioned("shrink the ET", brain) == ["enhancing_tumour"]  # had shrunk the whole tumour
    assert organs_mentioned("grow the TC a bit", brain) == ["tumour_core"]
    assert organs_mentioned("WT too big", brain) == ["whole_tumour"]


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("double the spleen", DISTANCE_NOT_FACTOR),
        ("halve the left kidney", DISTANCE_NOT_FACTOR),
        ("make the spleen twice as big", DISTANCE_NOT_FACTOR),
        ("grow the liver on slices 2 to 5", None),
        ("grow the spleen by 5 mm", None),
    ],
)
def test_an_amount_as_a_factor_is_asked_back_in_mm(text, asked):
    """It had been carried out with an amount sized to the organ, without a word that the amount said was not read
    (a clinician-language trial)."""
    grounded = ground_distance_words(_correction("expand"), text)
    assert grounded == _correction("expand") if asked is None else grounded.args["question"] == asked


def test_the_organ_just_corrected_named_alone_is_asked_what_to_do():
    """ "the liver" after "make it bigger" had grown the liver again (a clinician-language trial)."""
    liver = _correction("expand", "liver")
    organs = ["liver", "spleen", "right_kidney", "left_kidney"]
    for text in ("the liver", "the liver.", "liver again"):
        asked = ground_bare_organ(liver, text, liver, organs)
        assert asked.tool == "clarify" and asked.args["question"].startswith("What should I do with the liver?")
    assert ground_bare_organ(liver, "the liver, a bit more", liver, organs) == liver  # says what to do
    assert ground_bare_organ(liver, "the liver", None, organs) == liver  # answers a question back
    spleen = _correction("expand", "spleen")
    for text in ("the spleen too", "now the spleen", "and the spleen also"):
        assert ground_bare_organ(spleen, text, liver, organs) == spleen  # the same for another organ


def test_another_organ_named_alone_after_a_correction_is_asked_about_not_corrected():
    """ "liver" after "shrink the spleen" had shrunk 14 % of the liver unasked (a clinician-language trial)."""
    organs = ["liver", "spleen", "right_kidney", "left_kidney"]
    shrink_spleen, shrink_liver = _correction("shrink", "spleen"), _correction("shrink", "liver")
    for text in ("liver", "the liver", "liver please"):
        asked = ground_bare_organ(shrink_liver, text, shrink_spleen, organs)
        assert asked.tool == "clarify"
        assert asked.args["question"].startswith("The same for the liver as for the spleen? Say 'the liver too'")
    assert ground_bare_organ(shrink_liver, "the liver too", shrink_spleen, organs) == shrink_liver
    told = _correction("expand", "liver")
    assert ground_bare_organ(told, "grow the liver", shrink_spleen, organs) == told  # says what to do


def test_a_signed_amount_grows_with_plus_and_shrinks_with_minus():
    """ "spleen +3mm" had shrunk the spleen (Dice 83.6 → 74.7) or been refused as implausible (a third trial)."""
    organs = ["liver", "spleen", "right_kidney", "left_kidney"]
    for text, model_call, action in (
        ("spleen +3mm", _correction("shrink"), "expand"),
        ("spleen +3 mm", ParsedCall(tool="clarify", args={"question": "You asked for +3mm, more than"}), "expand"),
        ("spleen -3mm", _correction("expand"), "shrink"),
    ):
        call = ground_signed_amount(model_call, text, organs)
        assert call.args == {"organ": "spleen", "action": action, "region": "whole", "strength": 0.1, "slices": None}
    assert ground_signed_amount(_correction("expand"), "grow the spleen +3mm", organs) == _correction("expand")
    assert ground_signed_amount(_correction("shrink"), "spleen 3mm", organs) == _correction("shrink")  # no sign


def test_the_answer_to_the_same_for_another_organ_continues_the_correction_before_the_question():
    """ "the liver too", answering "The same for the liver as for the spleen?", had grown the whole liver, the
    spleen's shrink at the top forgotten (a fourth trial)."""
    organs = ["liver", "spleen", "right_kidney", "left_kidney"]
    shrink = ParsedCall(tool="intervene_decoder", args={"organ": "spleen", "action": "shrink", "region": "superior"})
    asked = ground_bare_organ(_correction("shrink", "liver"), "liver", shrink, organs)
    history = [("shrink the spleen at the top", shrink), ("liver", asked)]
    assert previous_correction(history) == shrink
    other = ParsedCall(tool="clarify", args={"question": "Which organ?"})
    assert previous_correction([("shrink the spleen at the top", shrink), ("hmm", other)]) == other
    assert previous_correction([]) is None


def test_a_text_that_corrects_itself_takes_what_follows_the_correction():
    """ "grow the spleen toward the head, no wait, toward the feet" had grown it toward the head (a fourth trial)."""
    head = ParsedCall(tool="intervene_decoder", args={"organ": "spleen", "action": "expand", "region": "superior"})
    feet = ground_self_correction(head, "grow the spleen toward the head, no wait, toward the feet")
    assert feet.args == {**head.args, "region": "inferior"}
    shrunk = ground_self_correction(head, "grow the spleen at the top, sorry, I mean shrink it")
    assert shrunk.args == {**head.args, "action": "shrink"}
    assert ground_self_correction(head, "grow the spleen toward the head") == head
    # the amount said before the correction was the withdrawn request's: the new one is sized as unsaid (a fifth
    # trial grew a liver 7.5 mm, "a little", after "shrink the liver a little, no wait, grow it")
    little = ParsedCall(tool="intervene_decoder", args={**head.args, "action": "shrink", "strength": 0.25})
    grown = ground_self_correction(little, "shrink the liver a little, no wait, grow it")
    assert grown.args == {**head.args, "action": "expand"}
    said = ground_self_correction(little, "shrink the liver a little, no wait, grow it a touch")
    assert said.args == {**head.args, "action": "expand", "strength": 0.25}  # ground_strength reads "a touch"


def test_slices_added_to_an_end_are_a_distance_not_a_choice_of_slices():
    """ "add two slices to the top of the right kidney" had been asked "Which slices, by number?" (a fourth trial)."""
    added = ParsedCall(
        tool="intervene_decoder", args={"organ": "right_kidney", "action": "add_region", "region": "superior"}
    )
    assert ground_slice_words(added, "add two slices to the top of the right kidney") == added
    asked = ground_slice_words(added, "grow the right kidney on the top 3 slices")
    assert asked.args == {"question": WHICH_SLICES}
