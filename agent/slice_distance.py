"""An amount said in slices ("grow the liver by 2 slices toward the head", "two slices further down"): a distance
whose length in mm is the study's slice spacing times the count. Along the slices (toward the head or the feet) it
is carried out as that many mm and the reply says how it was read; in other directions, or before a study is open,
it is asked back with the length in mm (a clinician-language trial: it had been asked back in mm although the
study's spacing was known, and before that carried out with an amount sized to the organ, without a word)."""

import re

from causal_sam_llm.agent.amount_words import FULL_STRENGTH_MM
from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall

_COUNT = r"(\d+|an?|one|two|three|four|five|a\s+few|a\s+couple\s+of)"
SLICE_AMOUNT = re.compile(
    rf"\b(?:by|for|about|another)\s+{_COUNT}\s+(?:more\s+)?slices?\b"
    r"|\b(\d+|one|two|three|four|five)\s+(?:more\s+)?slices?\s+(?:further|more|up|down|higher|lower|longer|shorter|too)\b",
    re.IGNORECASE,
)
COUNT_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "a few": 3, "a couple of": 2}
# the regions whose boundary moves across slices: there a slice's spacing is the distance the edge moves
ALONG_THE_SLICES = ("superior", "inferior")
NO_STUDY_QUESTION = (
    "One correction moves the organ's edge by a distance: say it in mm, e.g. 'by 10 mm' ('which slices is the liver "
    "on?' gives an organ's slices and their length in mm). To change only some slices, name them: 'on slices 12 "
    "to 15'."
)


def slices_said_as_distance(text: str) -> int | None:
    """How many slices `text` states as an amount ("by 2 slices": 2), or None when it states none."""
    match = SLICE_AMOUNT.search(text)
    if match is None:
        return None
    said = " ".join((match.group(1) or match.group(2)).lower().split())
    return int(said) if said.isdigit() else COUNT_WORDS[said]


def ground_slice_distance(call: ParsedCall, text: str, slice_mm: float | None) -> ParsedCall:
    """A grow or shrink toward the head or the feet by N slices moves the edge N × `slice_mm`; any other reading of
    slices as a distance is asked back with that length in mm."""
    count = slices_said_as_distance(text)
    if count is None or call.tool != "intervene_decoder" or call.args.get("action") == "smooth":
        return call
    if slice_mm is None:
        return _ask(NO_STUDY_QUESTION)
    mm = count * slice_mm
    if mm > FULL_STRENGTH_MM:
        return _ask(
            f"{_slices(count)} here is {mm:g} mm ({slice_mm:g} mm apart), more than one correction moves "
            f"({FULL_STRENGTH_MM:g} mm): say up to {FULL_STRENGTH_MM:g} mm, then again for the rest."
        )
    if call.args.get("region") not in ALONG_THE_SLICES:
        return _ask(
            f"Slices here are {slice_mm:g} mm apart, so {_slices(count)} is {mm:g} mm. A correction moves the edge "
            f"that faces a direction: say 'toward the head by {mm:g} mm' (or the feet) to move it across slices, or "
            f"'by {mm:g} mm' to move it {mm:g} mm all around."
        )
    return ParsedCall(tool=call.tool, args={**call.args, "strength": mm / FULL_STRENGTH_MM})


def slice_distance_note(text: str, call: ParsedCall, slice_mm: float) -> str:
    """Said after a correction whose amount was said in slices: how many mm they were read as."""
    count = slices_said_as_distance(text)
    if count is None or call.tool != "intervene_decoder":
        return ""
    read = f"{_slices(count).capitalize()} read as {count * slice_mm:g} mm"
    return f" {read} (this study's slices are {slice_mm:g} mm apart)."


def _slices(count: int) -> str:
    return "one slice" if count == 1 else f"{count} slices"


def _ask(question: str) -> ParsedCall:
    return ParsedCall(tool=CLARIFY, args={"question": question})
