"""Answers to the assistant's own questions of which kidney (agent/kidney_answer.py) and requests about the session
rather than a mask's edge (agent/session_requests.py), read without a model; the real LLM's answers in
tests/test_agent.py."""

import pytest

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.command_parser import CommandParser
from causal_sam_llm.agent.guard_rails import WHICH_KIDNEY, WHICH_KIDNEY_FIRST
from causal_sam_llm.agent.kidney_answer import ground_kidney_answer
from causal_sam_llm.agent.session_requests import ground_session_request

ORGANS = ["liver", "spleen", "right_kidney", "left_kidney"]
START = ParsedCall(tool="go_to_version", args={"version": 0})
ASKED = ParsedCall(tool="clarify", args={"question": "Which organ, and what should I change?"})


def _asked(question: str) -> ParsedCall:
    return ParsedCall(tool="clarify", args={"question": question})


@pytest.mark.parametrize(
    ("earlier", "question", "answer", "args"),
    [
        ("the kidneys are both too small", WHICH_KIDNEY_FIRST, "right first",
         {"organ": "right_kidney", "action": "expand", "region": "whole", "slices": None}),
        ("shrink the kidney a touch at the top", WHICH_KIDNEY, "the left one",
         {"organ": "left_kidney", "action": "shrink", "region": "superior", "slices": None, "strength": 0.1}),
        ("grow both kidneys by 5 mm", WHICH_KIDNEY_FIRST, "Left kidney, please",
         {"organ": "left_kidney", "action": "expand", "region": "whole", "slices": None, "strength": 5 / 30}),
    ],
)  # fmt: skip
def test_a_side_answered_to_the_question_of_which_kidney_does_what_was_asked_there(earlier, question, answer, args):
    """ "right first" had been asked back ("Which organ do you mean?"), and the request lost (a clinician trial)."""
    history = [(earlier, _asked(question))]
    assert ground_kidney_answer(ASKED, answer, history).args == pytest.approx(args)


def test_only_a_bare_side_after_a_kidney_question_is_an_answer():
    history = [("the kidneys are both too small", _asked(WHICH_KIDNEY_FIRST))]
    for text in ("grow the liver on the right", "right and left", "what do you mean?"):
        assert ground_kidney_answer(ASKED, text, history) == ASKED, text
    other = [("grow it", _asked("Which organ, and what should I change?"))]
    assert ground_kidney_answer(ASKED, "the right one", other) == ASKED
    assert ground_kidney_answer(ASKED, "right", []) == ASKED
    # the whole conversation with the keyword parser: the question, then the answer
    parser, said = CommandParser(ORGANS, "none"), []
    for text in ("the kidneys are both too small", "right first"):
        said.append((text, parser.parse(text, said)))
    assert said[-1][1].args["organ"] == "right_kidney" and said[-1][1].args["action"] == "expand"


@pytest.mark.parametrize(
    ("text", "model_call", "call"),
    [
        ("start over", ParsedCall(tool="redo", args={"steps": 1}), START),
        ("let's start again from scratch", ParsedCall(tool="load_study", args={"study": "x", "labels": None}), START),
        ("which organ is worst?", ASKED,
         ParsedCall(tool="measure", args={"metric": "dice", "organ": "all", "slices": None})),
        ("is the spleen better now?", ASKED,
         ParsedCall(tool="measure", args={"metric": "dice", "organ": "spleen", "slices": None})),
        ("is the spleen better now?", ParsedCall(tool="measure", args={"metric": "extent", "organ": "spleen"}),
         ParsedCall(tool="measure", args={"metric": "dice", "organ": "spleen", "slices": None})),
        ("load benchmark:does-not-exist", ASKED,
         ParsedCall(tool="load_study", args={"study": "benchmark:does-not-exist", "labels": None})),
        ("start over and segment everything", ParsedCall(tool="segment", args={"organ": "all", "slices": None}),
         ParsedCall(tool="segment", args={"organ": "all", "slices": None})),  # the model's segmentation stands
        ("which organ is worst? shrink it", ParsedCall(tool="intervene_decoder", args={"organ": "liver"}),
         ParsedCall(tool="intervene_decoder", args={"organ": "liver"})),
    ],
)  # fmt: skip
def test_a_session_request_is_the_call_it_asks_for(text, model_call, call):
    """ "start over" had stepped forward or re-loaded the study into a new masks folder, "which organ is worst?" had
    been asked back, and a load of a missing study told "I did not understand that" (a clinician-language trial)."""
    assert ground_session_request(model_call, text, ORGANS) == call


def test_the_other_side_after_a_kidney_correction_is_that_correction_on_the_other_kidney():
    """ "the kidneys are both too small" → "left first" → "the right one" had grown the left kidney again, and "now
    the left one" after the right had shrunk the right (a third clinician-language trial)."""
    grown = ParsedCall(tool="intervene_decoder", args={"organ": "left_kidney", "action": "expand", "region": "whole"})
    history = [("the kidneys are both too small", _asked(WHICH_KIDNEY_FIRST)), ("left first", grown)]
    model = ParsedCall(tool="intervene_decoder", args={**grown.args, "action": "shrink"})
    for text in ("the right one", "now the right one too", "right"):
        assert ground_kidney_answer(model, text, history).args == {**grown.args, "organ": "right_kidney"}, text
    assert ground_kidney_answer(model, "the left one", history) == model  # the same kidney: the model's reading
    assert ground_kidney_answer(model, "the right one at the top", history) == model  # more than a side
