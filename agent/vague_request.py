"""A request that says only that something is wrong ("the left kidney looks off", "fix it") is asked how and where,
naming the organ. A fifth clinician-language trial: "the left kidney looks off" had got the model's own question, 400
characters looping "What is the contrast? What is the noise? …" and cut off mid-word, and "fix it" the list of what
the assistant can do. A question of the model's that runs on or repeats itself is replaced so too."""

import re

from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall, clarify
from causal_sam_llm.agent.guard_rails import NOT_UNDERSTOOD
from causal_sam_llm.agent.organ_words import organs_mentioned

VAGUE = re.compile(
    r"\b(?:looks?|seems?|is|are)\s+(?:a\s+bit\s+|kind\s+of\s+)?(?:off|wrong|weird|odd|bad|strange|funny|not\s+right)\b"
    r"|\bfix\s+(?:it|this|that|the\s+\w+)\b",
    re.IGNORECASE,
)
# longer than any question the model was shown, or one sentence said twice: a question that ran on
LONGEST_QUESTION = 300


def ground_vague_request(
    call: ParsedCall, text: str, classes: list[str], previous_organ: str | None, model_question: str | None
) -> ParsedCall:
    """`model_question`: the question the model itself wrote, if it asked one (a rail's own questions stand)."""
    if call.tool != CLARIFY:
        return call
    question = str(call.args.get("question", ""))
    ours = question != model_question and question != NOT_UNDERSTOOD
    if ours or not (VAGUE.search(text) or ran_on(question)):
        return call
    named = organs_mentioned(text, classes)
    organ = named[0] if len(named) == 1 else previous_organ if not named else None
    if organ is None:
        return clarify(
            "What should I change? Name the organ and what looks wrong, e.g. 'the liver is too small at the top' or "
            "'shrink the spleen at the back'."
        )
    name = organ.replace("_", " ")
    return clarify(
        f"What looks wrong with the {name}: too big or too small, and where? E.g. 'the {name} is too small at the "
        f"top' or 'shrink the {name} at the back'."
    )


def ran_on(question: str) -> bool:
    sentences = [s.strip().lower() for s in re.split(r"[.?!]", question) if s.strip()]
    return len(question) > LONGEST_QUESTION or len(sentences) != len(set(sentences))
