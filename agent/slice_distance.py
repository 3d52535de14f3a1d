"""An amount said in slices ("grow the liver by 2 slices toward the head", "two slices further down"): a distance
whose length in mm is the study's slice spacing times the count. Along the slices (toward the head or the feet) it
is carried out as that many mm and the reply says how it was read; in other directions, or before a study is open,
it is asked back with the length in mm (a clinician-language trial: it had been asked back in mm although the
study's spacing was known, and before that carried out with an amount sized to the organ, without a word)."""

import re

import numpy as np

from causal_sam_llm.agent.amount_words import FULL_STRENGTH_MM
from causal_sam_llm.agent.call_schema import ParsedCall, clarify
from causal_sam_llm.agent.end_slices import end_slices_count, without_end_slice_counts
from causal_sam_llm.agent.region_words import regions_mentioned
from causal_sam_llm.agent.slice_words import with_digits
from causal_sam_llm.tools.intervene_decoder import TOWARD_WORDS
from causal_sam_llm.tools.organ_extent import main_body_slices, slices_said

# a count before "slice(s)" ("by 2 slices", "one slice short", "add a slice on top", "3 more slices"), read on the
# text with number words as digits; a slice NUMBER follows the word ("slice 7"), a count precedes it
SLICE_COUNT = re.compile(
    r"\b(?P<count>\d+|an?|a\s+single|a\s+few|a\s+couple\s+(?:of\s+)?)\s*(?:more\s+|extra\s+|further\s+)?slices?\b",
    re.IGNORECASE,
)
# words before a count that make it a choice of slices, not a distance: "the top 3 slices", "on 2 slices"
CHOOSES_SLICES = {"top", "bottom", "first", "last", "final", "upper", "lower", "on", "over", "across", "these", "those"}
COUNT_WORDS = {"a": 1, "an": 1, "a single": 1, "a few": 3, "a couple": 2, "a couple of": 2}
# the regions whose boundary moves across slices: there a slice's spacing is the distance the edge moves
ALONG_THE_SLICES = ("superior", "inferior")
NO_STUDY_QUESTION = (
    "One correction moves the organ's edge by a distance: say it in mm, e.g. 'by 10 mm' ('which slices is the liver "
    "on?' gives an organ's slices and their length in mm). To change only some slices, name them: 'on slices 12 "
    "to 15'."
)


def slices_said_as_distance(text: str) -> int | None:
    """How many slices `text` states as an amount ("by 2 slices": 2; "is missing its lowest slice": 1), or None
    when it states none."""
    match = _slice_count(text)
    if match is None:
        return end_slices_count(text)
    said = " ".join(match.group("count").lower().split())
    return int(said) if said.isdigit() else COUNT_WORDS[said]


def without_slice_counts(text: str) -> str:
    """`text` (lower case, number words as digits) without its slice counts, whose digits are no slice numbers."""
    lower = without_end_slice_counts(with_digits(text.lower()))
    return SLICE_COUNT.sub(lambda match: " " if _counts(lower, match) else match.group(0), lower)


def _slice_count(text: str) -> re.Match | None:
    lower = with_digits(text.lower())
    return next((match for match in SLICE_COUNT.finditer(lower) if _counts(lower, match)), None)


def _counts(lower: str, match: re.Match) -> bool:
    """Whether a number before "slice(s)" is a distance: not "the top 3 slices" or "on 2 slices"."""
    before = lower[: match.start()].split()
    return not before or before[-1] not in CHOOSES_SLICES


def ground_slice_distance(call: ParsedCall, text: str, slice_mm: float | None) -> ParsedCall:
    """A grow or shrink toward the head or the feet by N slices moves the edge N × `slice_mm`; any other reading of
    slices as a distance is asked back with that length in mm."""
    count = slices_said_as_distance(text)
    if count is None or call.tool != "intervene_decoder" or call.args.get("action") == "smooth":
        return call
    if slice_mm is None:
        return clarify(NO_STUDY_QUESTION)
    call = _along_the_slices(call, text)
    mm = count * slice_mm
    taken_off_the_end = (
        call.args.get("action") in ("shrink", "remove_region") and call.args["region"] in ALONG_THE_SLICES
    )
    if mm > FULL_STRENGTH_MM and not taken_off_the_end:  # a shrink there takes whole slices off (at_the_organs_end)
        return clarify(
            f"{_slices(count)} here is {mm:g} mm ({slice_mm:g} mm apart), more than one correction moves "
            f"({FULL_STRENGTH_MM:g} mm): say up to {FULL_STRENGTH_MM:g} mm, then again for the rest."
        )
    if call.args.get("region") not in ALONG_THE_SLICES:
        return clarify(
            f"Slices here are {slice_mm:g} mm apart, so {_slices(count)} is {mm:g} mm. A correction moves the edge "
            f"that faces a direction: say 'toward the head by {mm:g} mm' (or the feet) to move it across slices, or "
            f"'by {mm:g} mm' to move it {mm:g} mm all around."
        )
    return ParsedCall(tool=call.tool, args={**call.args, "strength": min(mm / FULL_STRENGTH_MM, 1.0)})


# "goes 3 slices too high", "2 slices lower": the direction along the slices, where the text names no region (a
# fourth trial: "the liver goes 3 slices too high, cut it back" had been asked which direction)
UP_THE_SLICES = re.compile(r"\b(?:too\s+high|higher|upwards?|up)\b", re.IGNORECASE)
DOWN_THE_SLICES = re.compile(r"\b(?:too\s+low|lower|downwards?|down)\b", re.IGNORECASE)


def _along_the_slices(call: ParsedCall, text: str) -> ParsedCall:
    """The direction along the slices the text says: "too high" (no region word) whatever the model's region (a
    fifth trial: "the liver goes 1 slice too high", after a spleen grow toward the feet, had shrunk it toward the
    feet); a region word only where the model gave none."""
    regions = regions_mentioned(text)
    up, down = UP_THE_SLICES.search(text), DOWN_THE_SLICES.search(text)
    if regions:
        direction = regions[0] if len(regions) == 1 and regions[0] in ALONG_THE_SLICES else None
        if call.args.get("region", "whole") != "whole":
            return call
    else:
        direction = None if bool(up) == bool(down) else "superior" if up else "inferior"
    return call if direction is None else ParsedCall(tool=call.tool, args={**call.args, "region": direction})


def slice_distance_note(text: str, call: ParsedCall, slice_mm: float) -> str:
    """Said after a correction whose amount was said in slices: how many mm they were read as."""
    count = slices_said_as_distance(text)
    if count is None or call.tool != "intervene_decoder" or call.args.get("action") == "remove_region":
        return ""  # a removal by slices says which it took off (at_the_organs_end)
    read = f"{_slices(count).capitalize()} read as {count * slice_mm:g} mm"
    return f" {read} (this study's slices are {slice_mm:g} mm apart)."


def _slices(count: int) -> str:
    return "one slice" if count == 1 else f"{count} slices"


def _with(first: int, final: int, specks: list[int]) -> list[int]:
    """The inclusive range `first`–`final` reaching on over `specks` beyond it."""
    return [min([first, *specks]), max([final, *specks])]


IN_PLANE_INSTEAD = "To grow the {name}'s part that lies {toward} in-plane, say e.g. 'grow the {name} {toward} by 5 mm'."


def at_the_organs_end(call: ParsedCall, text: str, organ_mask: np.ndarray) -> tuple[ParsedCall, str]:
    """A correction by N slices toward the head or the feet, aimed at the organ's end that way, and what the reply
    says of it: a shrink takes the organ off its last N slices there; a grow reaches no further than N slices past
    its end. Measured reason (a fourth trial): "trim 2 slices off the top" of a liver whose top 2 slices were all
    wrong cut 3600 voxels from slices 17-19, where it was right, and kept a speck on the top one; a grow by 2 slices
    went 3 past the end. Where the text names slices, or before the organ has a mask, the call is as it was."""
    count = slices_said_as_distance(text)
    args = call.args
    if count is None or call.tool != "intervene_decoder" or args.get("region") not in ALONG_THE_SLICES:
        return call, ""
    occupied = np.flatnonzero(organ_mask.any(axis=(1, 2)))
    if args.get("slices") is not None or occupied.size == 0 or args.get("action") == "smooth":
        return call, ""
    up, last = args["region"] == "superior", len(organ_mask) - 1
    body = main_body_slices(organ_mask)
    end = body[-1] if up else body[0]
    name, side = str(args["organ"]).replace("_", " "), "top" if up else "bottom"
    if args.get("action") in ("shrink", "remove_region"):
        first, final = (max(end - count + 1, 0), end) if up else (end, min(end + count - 1, last))
        specks = [int(z) for z in occupied if (z > final if up else z < first)]
        removed = {**args, "action": "remove_region", "region": "whole", "slices": _with(first, final, specks)}
        span, toward = slices_said(list(range(first, final + 1))), TOWARD_WORDS[args["region"]]
        note = f" Took the {name} off its {side} {_slices(count)} ({span}), where it ends {toward}"
        beyond = f", and off {slices_said(specks)} past them, which it held apart from the rest" if specks else ""
        return ParsedCall(tool=call.tool, args=removed), f"{note}{beyond}."
    first, final = (end, min(end + count, last)) if up else (max(end - count, 0), end)
    if first == final:  # its end is the volume's edge: no slice beyond to grow onto (it had grown in-plane instead)
        said = f"The {name} already reaches the study's {side} slice ({end}): there is no slice past it to grow onto."
        return clarify(f"{said} {IN_PLANE_INSTEAD.format(toward=TOWARD_WORDS[args['region']], name=name)}"), ""
    span = slices_said(list(range(first, final + 1)))
    note = f" Grown no further than {_slices(count)} past its {side} slice ({end}): {span}."
    return ParsedCall(tool=call.tool, args={**args, "slices": [first, final]}), note
