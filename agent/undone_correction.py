"""A correction undone and then carried over to another organ ("grow the liver a little toward the feet", "undo",
"now the spleen"): the undone correction, for that organ. Measured reason (a fifth clinician-language trial's open
list): after the undo the follow-up had nothing to continue, and the model re-segmented the spleen instead, which
changed nothing. Only text that names one other organ and nothing to do with it carries the correction over."""

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.organ_words import organs_mentioned, words_besides_organ
from causal_sam_llm.agent.said_error_rails import FILLER, previous_correction

# besides the organ, "the spleen instead", "try the spleen", "do the spleen now", "the same for the spleen"
CARRIED_OVER_WORDS = FILLER | {"instead", "try", "do", "rather", "same", "for", "on", "with", "then", "let's", "lets"}


def correction_to_follow(history: list[tuple[str, ParsedCall]], text: str, classes: list[str]) -> ParsedCall | None:
    """The call a follow-up continues (said_error_rails.previous_correction), or, where the last turn undid one step
    right after a correction and `text` only names another organ, the correction it undid."""
    previous = previous_correction(history)
    if previous is None or previous.tool != "undo" or previous.args.get("steps", 1) != 1 or len(history) < 2:
        return previous
    undone = history[-2][1]
    if undone.tool != "intervene_decoder" or not _only_names_another_organ(text, undone.args.get("organ"), classes):
        return previous
    return undone


def _only_names_another_organ(text: str, undone_organ: object, classes: list[str]) -> bool:
    named = organs_mentioned(text, classes)
    if len(named) != 1 or named[0] == undone_organ:
        return False
    return all(word in CARRIED_OVER_WORDS for word in words_besides_organ(text, named[0]))
