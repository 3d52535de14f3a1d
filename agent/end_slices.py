"""An organ's end slices said to be missing, or to go ("the spleen is missing its lowest slice", "remove the liver's
top 2 slices", "its highest slice shouldn't be there"): that many slices along the slices toward the end named, which
the assistant grows no further than that past the organ's end, or takes off it (slice_distance.at_the_organs_end).
Measured reason (a fifth clinician-language trial, and the follow-up): "the spleen is missing its lowest slice" was
an add to the whole spleen, "the liver is missing its top slice" was asked which slices by number, and "the liver's
lowest slice is wrong, remove it" was a removal with no slices, which deletes the liver's detached pieces instead.
"grow the liver on its top 3 slices" names slices to change in-plane, not an end, and is left to the other rails."""

import re

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.slice_words import with_digits

END_WORDS = {"top": "superior", "highest": "superior", "uppermost": "superior"}
END_WORDS |= {"bottom": "inferior", "lowest": "inferior", "lowermost": "inferior"}
_ENDS = "|".join(END_WORDS)
# "its lowest slice", "the top 2 slices", "the liver's bottom couple of slices" (read with number words as digits)
_END_SLICES = rf"\b(?P<end>{_ENDS})(?:\s+(?P<count>\d+|couple(?:\s+of)?))?\s+slices?\b"
END_SLICES = re.compile(_END_SLICES, re.IGNORECASE)
_ANY_END_SLICES = _END_SLICES.replace("?P<end>", "").replace("?P<count>", "")  # the same, once more in one pattern
_END = rf"(?:the\s+|its\s+|their\s+|the\s+[a-z ]{{1,20}}?'s\s+)?(?:missing\s+)?(?:{_ENDS})\b"
_SUBJECT = rf"{_ANY_END_SLICES}(?:\s+of\s+the\s+[a-z ]{{1,20}}?)?\s+(?:is|are|was|were)\s+"
_CLAUSE_END = r"(?=\s*(?:[,.;!?]|$|and\b|so\b|but\b))"
# the end is absent from the mask: "is missing its lowest slice", "add back the top slice", "its top slice is
# missing"; not "its top slice is missing a bit at the front", a part of that slice
MISSING = re.compile(
    rf"\b(?:missing|misses|lacks?|lacking|omits?|omitted|skips?|skipped|left\s+out|leaves?\s+out)\s+{_END}"
    rf"|\b(?:add|include|restore|put)\s+(?:back\s+)?(?:in\s+)?{_END}"
    rf"|{_SUBJECT}(?:missing|left\s+out|omitted|not\s+(?:included|segmented|there)){_CLAUSE_END}",
    re.IGNORECASE,
)
_TAKE = r"(?:remove|delete|erase|drop|take\s+(?:off|away|out)|get\s+rid\s+of|wipe(?:\s+out)?)"
# "remove the blob on the top slice" takes a piece, not the slice (piece_removal.py)
_NOT_A_PIECE = r"(?:(?!blobs?\b|bits?\b|pieces?\b|specks?\b|spots?\b|islands?\b|parts?\b|chunks?\b|lumps?\b)[^,.;])"
# the end is in the mask and should not be: "remove the top 2 slices", "delete the spleen on its bottom slice", "its
# lowest slice is wrong, remove it", "the top slice shouldn't be there"; not "its top slice has an extra blob"
GOING = re.compile(
    rf"\b{_TAKE}\s+{_END}|\b{_TAKE}\b{_NOT_A_PIECE}{{0,40}}?\b(?:on|from|off)\s+{_END}"
    rf"|{_SUBJECT}(?:extra|spurious|not\s+part\s+of\s+\S+|(?:not|n't)\s+meant\s+to\s+be\s+there"
    rf"|(?:wrong|extra)[,.;]?\s+(?:so\s+)?{_TAKE}\s+(?:it|that|them))"
    rf"|{_ANY_END_SLICES}[^,.;]{{0,30}}?\b(?:shouldn'?t|should\s+not|doesn'?t|does\s+not)\s+(?:be\s+there|belong)",
    re.IGNORECASE,
)


def end_slices_said(text: str) -> tuple[int, str, str] | None:
    """(how many slices, the region of the end, "expand" or "remove_region") where `text` says an organ's end slices
    are missing or to go; None where it says neither, or both."""
    lower = with_digits(text.lower())
    match = END_SLICES.search(lower)
    missing, going = bool(MISSING.search(lower)), bool(GOING.search(lower))
    if match is None or missing == going:
        return None
    said = match.group("count")
    count = 1 if said is None else 2 if said.startswith("couple") else int(said)
    return count, END_WORDS[match.group("end")], "expand" if missing else "remove_region"


def end_slices_count(text: str) -> int | None:
    """How many end slices `text` says are missing or to go, or None."""
    said = end_slices_said(text)
    return None if said is None else said[0]


def without_end_slice_counts(lower: str) -> str:
    """`lower` (lower case, number words as digits) without the count of end slices it says are missing or to go,
    which is no slice number ("remove the top 2 slices" names no slice 2)."""
    if end_slices_said(lower) is None:
        return lower
    return END_SLICES.sub(lambda match: f"{match.group('end')} slices", lower)


def ground_end_slices(call: ParsedCall, text: str) -> ParsedCall:
    """A correction whose text says an organ's end slices are missing or to go moves that end: grown toward it, or
    taken off it, whatever action and region the model chose."""
    said = end_slices_said(text)
    if said is None or call.tool != "intervene_decoder":
        return call
    _count, region, action = said
    return ParsedCall(tool=call.tool, args={**call.args, "action": action, "region": region, "slices": None})
