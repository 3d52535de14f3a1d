"""A correction said as where the organ should end ("the spleen is too big at the top, it should stop at slice 18",
"the liver should reach slice 20"): the organ is taken off the slices past that one, or grown toward it and no
further. Measured reason (a fourth clinician-language trial): "it should stop at slice 18" had shrunk slice 18 alone
by 3 mm, the slice number read as the slices to change, and the spleen still reached slice 23."""

import re

import numpy as np

from causal_sam_llm.agent.amount_words import FULL_STRENGTH_MM
from causal_sam_llm.agent.call_schema import ParsedCall, clarify
from causal_sam_llm.tools.intervene_decoder import TOWARD_WORDS
from causal_sam_llm.tools.organ_extent import main_body_slices, slices_said

# "it should start at slice 19" of an organ that goes too far down names its end toward the feet (a fifth trial had
# shrunk slice 19 alone by 3 mm and left the tumour's wrong slices 9-18)
END_AT = re.compile(
    r"\b(?:stops?|ends?|finish(?:es)?|reach(?:es)?|go(?:es)?(?:\s+(?:up|down))?\s+to|extends?\s+to|starts?|begins?)\s+"
    r"(?:at\s+|on\s+|to\s+)?slice\s+(\d+)\b",
    re.IGNORECASE,
)


# "get rid of the bits of spleen above slice 18": what lies past a slice, taken off (a fifth trial had been asked
# which slices by number); only a removal is read so ("grow it above slice 15" stays asked back)
PAST_SLICE = re.compile(r"\b(above|past|beyond|after|below|before|under)\s+slice\s+(\d+)\b", re.IGNORECASE)
UPWARD = ("above", "past", "beyond", "after")
TAKING = ("shrink", "remove_region")


def end_said(text: str) -> int | None:
    """The slice `text` says the organ should end at, or None."""
    match = END_AT.search(text)
    return None if match is None else int(match.group(1))


def removal_past_slice(call: ParsedCall, text: str) -> tuple[int, bool] | None:
    """(the slice, whether what lies above it) for a removal or shrink of what lies past a slice; else None."""
    match = PAST_SLICE.search(text)
    if match is None or call.tool != "intervene_decoder" or call.args.get("action") not in TAKING:
        return None
    return int(match.group(2)), match.group(1).lower() in UPWARD


def to_the_end_said(call: ParsedCall, text: str, organ_mask: np.ndarray, slice_mm: float) -> tuple[ParsedCall, str]:
    """`call` made to end the organ at the slice the text names, and what the reply says of it; as it was (and no
    note) where the text names no end, or the organ has no mask. The end moved is the one the call's region names,
    else the one nearer the slice. A removal of what lies above or below a slice takes the organ off there."""
    end = end_said(text)
    occupied = np.flatnonzero(organ_mask.any(axis=(1, 2)))
    if call.tool != "intervene_decoder" or occupied.size == 0 or call.args.get("action") == "smooth":
        return call, ""
    if end is None and (past := removal_past_slice(call, text)) is not None:
        return _taken_off_past(call, *past, occupied)
    if end is None:
        return call, ""
    body = main_body_slices(organ_mask)  # its ends are the body's; a removal takes specks past them too
    bottom, top = body[0], body[-1]
    region = call.args.get("region")
    up = region == "superior" or (region != "inferior" and abs(end - top) <= abs(end - bottom))
    own_end, name = (top if up else bottom), str(call.args["organ"]).replace("_", " ")
    direction = "superior" if up else "inferior"
    toward = TOWARD_WORDS[direction]
    if end == own_end:
        said = f"The {name} already ends at slice {end} {toward}, so nothing was changed."
        return clarify(said), ""
    if (end > own_end) == up:  # past its end: grown toward that slice, no further
        first, final = sorted((own_end, end))
        strength = min(abs(end - own_end) * slice_mm / FULL_STRENGTH_MM, 1.0)
        args = {**call.args, "action": "expand", "region": direction, "slices": [first, final], "strength": strength}
        note = f" Grown {toward} from its end at slice {own_end}, no further than slice {end}."
        return ParsedCall(tool=call.tool, args=args), note
    first, final = (end + 1, int(occupied[-1])) if up else (int(occupied[0]), end - 1)
    args = {**call.args, "action": "remove_region", "region": "whole", "slices": [first, final]}
    span = slices_said(list(range(first, final + 1)))
    note = f" Took the {name} off {span}, past slice {end}, where it is to end {toward}."
    return ParsedCall(tool=call.tool, args=args), note


def _taken_off_past(call: ParsedCall, end: int, up: bool, occupied: np.ndarray) -> tuple[ParsedCall, str]:
    """The organ taken off every slice above (or below) slice `end`, and the reply's note; asked back where it lies
    on none there."""
    name, where = str(call.args["organ"]).replace("_", " "), "above" if up else "below"
    beyond = [int(z) for z in occupied if (z > end if up else z < end)]
    if not beyond:
        return clarify(f"The {name} lies on no slice {where} slice {end}, so nothing was changed."), ""
    first, final = beyond[0], beyond[-1]
    args = {**call.args, "action": "remove_region", "region": "whole", "slices": [first, final]}
    return ParsedCall(tool=call.tool, args=args), f" Took the {name} off {slices_said(beyond)}, {where} slice {end}."
