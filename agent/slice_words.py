"""Slice numbers as clinicians type them: "slices 10 to 20", "slices 10-20", "between slices 10 and 20", "from slice 3
to slice 9", "sl 60-70", "slices 12, 13 and 14" → [first, last]; "slice 7" → [7, 7]; in words too ("slices twelve
to fifteen", "slice thirty-one", "one hundred and five"). Shared by the keyword parser and the guard rails."""

import re

RANGE = re.compile(r"\b(?:slices?|sl)\.?\s*(\d+)\s*(?:-|–|to|through|thru|and|until)\s*(?:slices?\s+)?(\d+)")
ONE = re.compile(r"\bslice\s+(\d+)")
# "slices 12, 13 and 14": a list, which one correction can take only as the run it makes
LISTED = re.compile(r"\b(?:slices?|sl)\.?\s*(\d+(?:\s*(?:,\s*(?:and\s+)?|and|&)\s*\d+)+)")

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_UNIT, _TEN = "|".join(UNITS), "|".join(TENS)
_BELOW_100 = rf"(?:(?:{_TEN})(?:[-\s](?:{'|'.join(list(UNITS)[1:10])}))?|(?:{_UNIT}))"
# "one hundred and five", "a hundred twenty", "thirty-one", "twelve": the longest first
NUMBER_WORDS = re.compile(rf"\b(?:(?:(?:a|one|{_UNIT})\s+hundred)(?:\s+(?:and\s+)?{_BELOW_100})?|{_BELOW_100})\b")


def _below_100(words: str) -> int:
    parts = re.split(r"[-\s]+", words.strip())
    return sum(TENS.get(part, UNITS.get(part, 0)) for part in parts)


def _number_value(words: str) -> int:
    if "hundred" not in words:
        return _below_100(words)
    hundreds, _, rest = words.partition("hundred")
    count = 1 if hundreds.strip() in ("a", "one") else UNITS[hundreds.strip()]
    return 100 * count + _below_100(rest.replace("and", " "))


def with_digits(text: str) -> str:
    """`text` (lower case) with number words written as digits: "slices twelve to fifteen" → "slices 12 to 15"."""
    return NUMBER_WORDS.sub(lambda match: str(_number_value(match.group(0))), text)


def stated_slices(text: str) -> list[int] | None:
    """The inclusive [first, last] range `text` names, or None when it names none."""
    lower = with_digits(text.lower())
    listed = listed_slices(text)
    if listed is not None and listed == list(range(listed[0], listed[-1] + 1)):
        return [listed[0], listed[-1]]
    if match := RANGE.search(lower):
        return [int(match.group(1)), int(match.group(2))]
    if match := ONE.search(lower):
        return [int(match.group(1))] * 2
    return None


def listed_slices(text: str) -> list[int] | None:
    """The slice numbers a list in `text` names ("slices 12, 13 and 14" → [12, 13, 14]), sorted, or None."""
    match = LISTED.search(with_digits(text.lower()))
    return sorted({int(n) for n in re.findall(r"\d+", match.group(1))}) if match else None


def scattered_slices(text: str) -> list[int] | None:
    """A listed set of slices that is no single run ("slices 3, 7 and 12"), or None. Two numbers joined by "and"
    are a range ("between slices 10 and 20")."""
    listed = listed_slices(text)
    if listed is None or listed == list(range(listed[0], listed[-1] + 1)):
        return None
    return listed if len(listed) > 2 or "," in LISTED.search(with_digits(text.lower())).group(1) else None
