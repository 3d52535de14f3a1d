"""An answer to the assistant's own question of which kidney ("the kidneys are both too small" → "the patient's right
kidney or the left one first?" → "right first"): the request asked about, on that kidney. Measured reason (a
clinician-language trial, 2026-12-07): the answer had been asked back again ("Which organ do you mean?"), and the
request was lost."""

import re

from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall
from causal_sam_llm.agent.guard_rails import WHICH_KIDNEY, WHICH_KIDNEY_FIRST
from causal_sam_llm.agent.keyword_parser import keyword_parse
from causal_sam_llm.agent.organ_words import KIDNEYS, words

# not the question of a kidney said apart from its side ("kidny is too big on the left"): a side answered to it could
# be the organ's or the region's
KIDNEY_QUESTIONS = (WHICH_KIDNEY, WHICH_KIDNEY_FIRST)
SIDES = {"right": "right", "rt": "right", "r": "right", "left": "left", "lt": "left", "l": "left"}
# what an answer may say besides its side: "the right one first, please"
ANSWER_WORDS = {
    "the", "one", "first", "please", "patient", "patients", "s", "kidney", "side", "do", "start", "with", "now", "too",
    "also", "then", "and", "same", "for", "next", "as", "well",
}  # fmt: skip
# the kidney words of the question's request, to be given the side answered
KIDNEY_WORDS = re.compile(r"\b(?:both\s+)?(?:the\s+)?(?:kidneys?|kidny|kindey|renal)\b", re.IGNORECASE)


def ground_kidney_answer(call: ParsedCall, text: str, history: list[tuple[str, ParsedCall]]) -> ParsedCall:
    """Where the last turn asked which kidney and `text` answers only with a side, the request that was asked about
    on that kidney (as the keyword parser reads it, amount and direction included). Where the last turn corrected one
    kidney and `text` names only the other side ("the right one", "now the left one"), the same correction on that
    kidney: the model had corrected the same kidney again, once the other way (a third trial). Otherwise `call`."""
    side = _side_answered(text)
    if side is None or not history:
        return call
    said, before = history[-1]
    kidney = f"{side}_kidney"
    if before.tool == CLARIFY and before.args["question"] in KIDNEY_QUESTIONS:
        asked = KIDNEY_WORDS.sub(f"the {side} kidney", said, count=1)
        guess = keyword_parse(asked, [kidney], None)
        return guess if guess.tool == "intervene_decoder" else call
    if before.tool == "intervene_decoder" and before.args.get("organ") in KIDNEYS and before.args["organ"] != kidney:
        return ParsedCall(tool="intervene_decoder", args={**before.args, "organ": kidney})
    return call


def _side_answered(text: str) -> str | None:
    """'right' or 'left' for a text that says one side and nothing else of its own ("right first", "the left one
    too"); None otherwise."""
    said = words(text)
    sides = {SIDES[word] for word in said if word in SIDES}
    if len(sides) != 1 or any(word not in SIDES and word not in ANSWER_WORDS for word in said):
        return None
    return sides.pop()
