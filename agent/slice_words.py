"""Slice numbers as clinicians type them: "slices 10 to 20", "slices 10-20", "between slices 10 and 20", "from slice 3
to slice 9", "sl 60-70" → [first, last]; "slice 7" → [7, 7]. Shared by the keyword parser and the guard rails."""

import re

RANGE = re.compile(r"\b(?:slices?|sl)\.?\s*(\d+)\s*(?:-|–|to|through|thru|and|until)\s*(?:slices?\s+)?(\d+)")
ONE = re.compile(r"\bslice\s+(\d+)")


def stated_slices(text: str) -> list[int] | None:
    """The inclusive [first, last] range `text` names, or None when it names none."""
    lower = text.lower()
    if match := RANGE.search(lower):
        return [int(match.group(1)), int(match.group(2))]
    if match := ONE.search(lower):
        return [int(match.group(1))] * 2
    return None
