"""Amount words: the strength a command's text states, and the simulated clinician's words read back as the strength
eval-tci applies."""

import numpy as np
import pytest

from causal_sam_llm.agent.amount_words import DEFAULT, FULL_STRENGTH_MM, SMALL, TINY, stated_amount
from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.guard_rails import ground_history, ground_strength
from causal_sam_llm.agent.history_words import stated_version
from causal_sam_llm.segmentation.clinician_words import SAYS_NO_AMOUNT, said_strength, say
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.tci_gate import MAX_REACH_MM


@pytest.mark.parametrize(
    ("text", "strength"),
    [
        ("L kidney too big anteriorly", None),  # nothing said: left out, the tool sizes it to the organ
        ("smooth it out somewhat", 0.5),
        ("pull the liver in a tad at the top", 0.1),
        ("grow the spleen just a touch", 0.1),  # a touch is less than a little
        ("grow it a bit, then a lot more if needed", 0.25),  # the first amount said wins
        ("the spleen is way too big", 0.8),
        ("shrink the right kidney by 30% on the dorsal side", 0.3),
        ("extend it by 6 mm", 0.2),
        ("shrink the liver by 0.5 cm", 5 / 30),  # centimetres too
        ("grow the liver, but not too much", 0.25),  # 'not too much' limits the amount: a small request
        ("same again for the left kidney", 0.9),  # a repeat keeps the model's value: it saw the earlier request
        ("kidney R: smooth, strength 0.7", 0.7),  # the Intervention's own word and scale
        ("use 0.3 strength on the spleen", 0.3),
        ("strength 1 on the liver", 1.0),
        ("grow the liver with strength 2", 2.0),  # outside [0, 1]: passed on for validation to refuse, not guessed
        ("grow the liver, strength 1.5", 1.5),
        ("shrink it with strength -0.5", -0.5),
        ("grow it, strength 10%", 0.1),  # a unit makes it a share
        ("grow the spleen by half a centimetre", 5 / 30),  # a distance in words (had been read as none)
        ("shrink it a centimetre at the top", 10 / 30),
        ("trim the liver two millimetres", 2 / 30),
        ("shrink the spleen a couple of mm", 2 / 30),  # had been read as no amount (a third trial)
        ("grow it a few mm at the back", 3 / 30),
    ],
)
def test_a_correction_strength_is_the_amount_the_text_states(text, strength):
    guessed = ParsedCall(
        tool="intervene_decoder",
        args={"organ": "liver", "action": "expand", "region": "whole", "strength": 0.9, "slices": None},
    )
    grounded = ground_strength(guessed, text).args.get("strength")
    assert grounded == (None if strength is None else pytest.approx(strength))
    added = ParsedCall(tool="intervene_decoder", args={**guessed.args, "action": "add_region"})
    assert ground_strength(added, text).args["strength"] == pytest.approx(DEFAULT if strength is None else strength)
    segment = ParsedCall(tool="segment", args={"organ": "liver", "slices": None})
    assert ground_strength(segment, text) == segment


def test_the_original_segmentation_is_version_0_and_hurried_amounts_are_read():
    assert ground_history(ParsedCall(tool="undo", args={"steps": 1}), "go back to the original segmentation") == (
        ParsedCall(tool="go_to_version", args={"version": 0})
    )
    for text in ("go back to the original", "go back to the start.", "undo everything, back to the beginning"):
        assert ground_history(ParsedCall(tool="undo", args={"steps": 1}), text).args == {"version": 0}, text
    assert stated_version("grow the liver at the start of the scan") is None
    assert stated_amount("teh spleen is to smal toward the feet, grow it abit") == SMALL
    assert stated_amount("shrnik the rigth kidny at teh bottom a litle") == SMALL
    assert stated_amount("grwo the splen a tuch at the bottm") == TINY  # a fourth trial: had been no amount


def test_the_simulated_clinicians_amount_words_read_back_as_the_strength_it_applies():
    """The clinician (eval-tci, replay, demo) and the agent share one vocabulary: the words said for a strength read
    back as exactly the strength eval-tci applies for them (`said_strength`): an amount word within a millimetre, else
    whole millimetres; an action whose phrasings state no amount, as the agent's default."""
    assert MAX_REACH_MM == FULL_STRENGTH_MM and SAYS_NO_AMOUNT == DEFAULT
    rng = np.random.default_rng(0)
    for strength in (0.1, 0.12, 0.13, 0.2, 0.27, 0.3, 0.45, 0.6, 0.8, 1.0):
        said = said_strength("expand", strength)
        assert abs(said - strength) * FULL_STRENGTH_MM <= 1.0  # within a millimetre of what is meant
        for _ in range(6):
            intervention = Intervention(organ="liver", action="expand", region="superior", strength=said)
            words = say(intervention, rng)
            read = stated_amount(words)
            assert (DEFAULT if read is None else read) == pytest.approx(said, abs=1e-9), (strength, words)
    assert said_strength("expand", 0.12) == TINY and said_strength("expand", 0.17) == 5 / FULL_STRENGTH_MM
    assert said_strength("remove_region", 0.17) == DEFAULT and "mm" not in say(
        Intervention(organ="liver", action="remove_region", region="anterior", strength=DEFAULT), rng
    )


def test_a_number_with_an_exponent_is_asked_back_not_cut_to_its_last_digits():
    """ "1e9 mm" had become 9 mm, silently (a clinician-language trial)."""
    call = ParsedCall(tool="intervene_decoder", args={"organ": "spleen", "action": "expand", "region": "whole"})
    asked = ground_strength(call, "grow the spleen by 1e9 mm")
    assert asked.tool == "clarify" and asked.args["question"].startswith("You asked for 1e9 mm")
    assert stated_amount("grow it by 2.5e1 mm") == pytest.approx(25 / 30)


@pytest.mark.parametrize(
    ("text", "strength"),
    [
        ("the right kidney got way too big, shrink it back a touch", 0.1),  # had been 24 mm: 99 % of it gone
        ("the right kidney is a bit small on slices 2 to 5, grow it a hair", 0.1),  # had been 7.5 mm
        ("shrink the liver slightly, it is much too big at the top", 0.25),  # the request's clause, said first
        ("the liver is way too big, shrink it", 0.8),  # one amount word: it stands
    ],
)
def test_the_amount_is_the_requests_not_the_errors_description(text, strength):
    """A fifth clinician-language trial: a word saying how bad the error is had overridden the amount asked for."""
    assert stated_amount(text) == strength
