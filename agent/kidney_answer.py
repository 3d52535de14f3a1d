"""An answer to the assistant's own question of which kidney ("the kidneys are both too small" → "the patient's right
kidney or the left one first?" → "right first"): the request asked about, on that kidney. Measured reason (a
clinician-language trial, 2026-12-07): the answer had been asked back again ("Which organ do you mean?"), and the
request was lost."""

import re

from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall
from causal_sam_llm.agent.guard_rails import WHICH_KIDNEY, WHICH_KIDNEY_FIRST
from causal_sam_llm.agent.keyword_parser import keyword_parse
from causal_sam_llm.agent.organ_words import words

# not the question of a kidney said apart from its side ("kidny is too big on the left"): a side answered to it could
# be the organ's or the region's
KIDNEY_QUESTIONS = (WHICH_KIDNEY, WHICH_KIDNEY_FIRST)
SIDES = {"right": "right", "rt": "right", "r": "right", "left": "left", "lt": "left", "l": "left"}
# what an answer may say besides its side: "the right one first, please"
ANSWER_WORDS = {"the", "one", "first", "please", "patient", "patients", "s", "kidney", "side", "do", "start", "with"}
# the kidney words of the question's request, to be given the side answered
KIDNEY_WORDS = re.compile(r"\b(?:both\s+)?(?:the\s+)?(?:kidneys?|kidny|kindey|renal)\b", re.IGNORECASE)


def ground_kidney_answer(call: ParsedCall, text: str, history: list[tuple[str, ParsedCall]]) -> ParsedCall:
    """Where the last turn asked which kidney and `text` answers only with a side, the request that was asked about
    on that kidney (as the keyword parser reads it, amount and direction included); otherwise `call`."""
    if not history or history[-1][1].tool != CLARIFY or history[-1][1].args["question"] not in KIDNEY_QUESTIONS:
        return call
    said = words(text)
    sides = {SIDES[word] for word in said if word in SIDES}
    if len(sides) != 1 or any(word not in SIDES and word not in ANSWER_WORDS for word in said):
        return call
    side = sides.pop()
    asked = KIDNEY_WORDS.sub(f"the {side} kidney", history[-1][0], count=1)
    guess = keyword_parse(asked, [f"{side}_kidney"], None)
    return guess if guess.tool == "intervene_decoder" else call
