"""A correction said as where the organ should end (agent/slice_end.py), read without a model."""

import numpy as np

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.slice_end import end_said, to_the_end_said


def _spleen_on(first: int, last: int) -> np.ndarray:
    mask = np.zeros((24, 6, 6), bool)
    mask[first : last + 1, 1:5, 1:5] = True
    return mask


def _call(action: str, region: str, slices: list[int] | None = None) -> ParsedCall:
    args = {"organ": "spleen", "action": action, "region": region, "strength": 0.1, "slices": slices}
    return ParsedCall(tool="intervene_decoder", args=args)


def test_the_end_a_text_names_is_read():
    assert end_said("the spleen is too big at the top, it should stop at slice 18") == 18
    assert end_said("the liver should reach slice 20") == 20
    assert end_said("it only goes up to slice 12") == 12
    assert end_said("shrink the spleen on slice 18") is None  # a slice to change, not an end


def test_an_organ_past_the_end_said_is_taken_off_the_slices_beyond_it():
    """ "it should stop at slice 18" had shrunk slice 18 alone by 3 mm, and the spleen still reached slice 23 (a
    fourth clinician-language trial)."""
    text = "the spleen is too big at the top, it should stop at slice 18"
    trimmed, note = to_the_end_said(_call("shrink", "superior", [18, 18]), text, _spleen_on(8, 23), 10.0)
    assert trimmed.args == {**_call("remove_region", "whole").args, "slices": [19, 23]}
    assert note == " Took the spleen off slices 19–23, past slice 18, where it is to end toward the head."
    low, _ = to_the_end_said(_call("shrink", "whole", [10, 10]), "it should end at slice 10", _spleen_on(8, 23), 10.0)
    assert low.args["slices"] == [8, 9]  # the nearer end: its bottom


def test_an_organ_short_of_the_end_said_grows_toward_it_and_no_further():
    grown, note = to_the_end_said(
        _call("expand", "whole", [20, 20]), "it should reach slice 20", _spleen_on(8, 18), 10.0
    )
    assert grown.args["action"] == "expand" and grown.args["region"] == "superior"
    assert grown.args["slices"] == [18, 20] and grown.args["strength"] == 20 / 30
    assert note == " Grown toward the head from its end at slice 18, no further than slice 20."
    there, note = to_the_end_said(_call("shrink", "superior"), "it should stop at slice 18", _spleen_on(8, 18), 10.0)
    assert there.tool == "clarify" and there.args["question"].startswith("The spleen already ends at slice 18")
    plain = _call("shrink", "superior")
    assert to_the_end_said(plain, "shrink it at the top", _spleen_on(8, 18), 10.0) == (plain, "")
    assert to_the_end_said(plain, "it should stop at slice 18", np.zeros((24, 6, 6), bool), 10.0) == (plain, "")


def test_a_start_said_of_an_organ_that_goes_too_far_down_is_its_bottom_end():
    """ "the whole tumour goes too far down, it should start at slice 19" had shrunk slice 19 alone by 3 mm and left
    the wrong slices 9-18 (a fifth clinician-language trial)."""
    text = "the spleen goes too far down, it should start at slice 19"
    assert end_said(text) == 19
    trimmed, note = to_the_end_said(_call("shrink", "inferior", [19, 19]), text, _spleen_on(9, 23), 10.0)
    assert trimmed.args["action"] == "remove_region" and trimmed.args["slices"] == [9, 18]
    assert note == " Took the spleen off slices 9–18, past slice 19, where it is to end toward the feet."


def test_an_end_said_is_the_bodys_and_a_speck_past_it_goes_too():
    """A speck apart from the organ is no end of it: the grow starts at the body's end; a removal takes the speck."""
    mask = _spleen_on(8, 18)
    mask[22, 2, 2] = True
    grown, _ = to_the_end_said(_call("expand", "superior"), "it should reach slice 20", mask, 10.0)
    assert grown.args["slices"] == [18, 20]
    trimmed, _ = to_the_end_said(_call("shrink", "superior"), "it should stop at slice 16", mask, 10.0)
    assert trimmed.args["slices"] == [17, 22]


def test_what_lies_past_a_slice_is_taken_off_by_a_removal():
    """ "get rid of the bits of spleen above slice 18" had been asked which slices by number (a fifth trial)."""
    mask = _spleen_on(8, 17)
    mask[20:22, 2, 2] = True  # bits above slice 18, apart from the body
    text = "get rid of the bits of spleen above slice 18"
    removed, note = to_the_end_said(_call("remove_region", "whole", [18, 18]), text, mask, 10.0)
    assert removed.args["action"] == "remove_region" and removed.args["slices"] == [20, 21]
    assert note == " Took the spleen off slices 20–21, above slice 18."
    below, _ = to_the_end_said(_call("shrink", "whole"), "remove the spleen below slice 10", mask, 10.0)
    assert below.args["slices"] == [8, 9]
    none, _ = to_the_end_said(_call("remove_region", "whole"), "remove the spleen above slice 22", mask, 10.0)
    assert none.tool == "clarify" and none.args["question"].startswith("The spleen lies on no slice above slice 22")
    grow = _call("expand", "whole")
    assert to_the_end_said(grow, "grow the spleen above slice 15", mask, 10.0) == (grow, "")  # not a removal
