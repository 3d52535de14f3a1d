"""A request that says only that something is wrong is asked how and where (agent/vague_request.py), read without a
model; a question of the model's that runs on is replaced, and a rail's own question stands."""

from causal_sam_llm.agent.call_schema import ParsedCall, clarify
from causal_sam_llm.agent.guard_rails import NOT_UNDERSTOOD
from causal_sam_llm.agent.vague_request import ground_vague_request, ran_on

ORGANS = ["liver", "spleen", "right_kidney", "left_kidney"]
# the fifth trial's answer to "the left kidney looks off", as the model wrote it
RUNAWAY = (
    "The left kidney looks off. What is wrong? Is it too small, too big, or missing? What is the size? What is the "
    "location? What is the contrast? What is the noise? What is the bias field? What is the style? What is the "
    "contrast? What is the noise? What is the bias field? What is the style? What is"
)


def test_a_vague_complaint_is_asked_how_and_where_naming_the_organ():
    asked = ground_vague_request(clarify(RUNAWAY), "the left kidney looks off", ORGANS, None, RUNAWAY)
    assert asked.args["question"].startswith("What looks wrong with the left kidney: too big or too small, and where?")
    fix = ground_vague_request(clarify(NOT_UNDERSTOOD), "fix it", ORGANS, "spleen", None)
    assert fix.args["question"].startswith("What looks wrong with the spleen")
    nothing_before = ground_vague_request(clarify(NOT_UNDERSTOOD), "fix it", ORGANS, None, None)
    assert nothing_before.args["question"].startswith("What should I change? Name the organ")


def test_a_question_that_runs_on_is_replaced_and_others_stand():
    assert ran_on(RUNAWAY) and not ran_on("Which organ, and what should I change?")
    replaced = ground_vague_request(clarify(RUNAWAY), "hmm the left kidney", ORGANS, None, RUNAWAY)
    assert replaced.args["question"].startswith("What looks wrong with the left kidney")
    rail = clarify("Which slices, by number? Say e.g. 'on slices 12 to 15'.")
    assert ground_vague_request(rail, "the liver looks off above slice 3", ORGANS, None, "?") == rail
    call = ParsedCall(tool="intervene_decoder", args={"organ": "liver", "action": "expand", "region": "whole"})
    assert ground_vague_request(call, "the liver looks off, grow it", ORGANS, None, None) == call
