"""How far back or forward a clinician asks to go in the mask versions: "undo twice", "go back three steps", "undo the
last 2 changes" → 2 steps; "go back to version 3", "roll back to version five" → that version; "put back what I
undid" is a redo. Shared by the guard rails (a count or version the text states is the one used, never the model's
guess) and the keyword parser."""

import re

COUNT_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10,
}  # fmt: skip
TIMES = {"once": 1, "twice": 2, "thrice": 3}
_COUNT = r"(\d+|" + "|".join(COUNT_WORDS) + r")"
STEPS = re.compile(_COUNT + r"\s+(?:more\s+)?(?:times|steps?|versions?|changes?|edits?|corrections?|moves?)\b")
LAST_N = re.compile(r"\blast\s+" + _COUNT + r"\b")
# "undo 5", "redo three": a bare count right after the verb (the model had read one step)
BARE_COUNT = re.compile(r"\b(?:undo|redo)\s+(?:it\s+|that\s+)?" + _COUNT + r"\s*[.!?]?$")
VERSION = re.compile(r"\b(?:version|v)\s*(?:number\s*|no\.?\s*|#\s*)?" + _COUNT + r"\b")
# "put back the last three things I undid": what was undone comes back, whatever the verb
UNDONE = re.compile(r"\b(undid|undone)\b")


def _as_int(word: str) -> int:
    return int(word) if word.isdigit() else COUNT_WORDS[word]


def stated_steps(text: str) -> int | None:
    """The number of versions `text` asks to step over, or None when it states none."""
    lower = text.lower()
    for word, count in TIMES.items():
        if re.search(rf"\b{word}\b", lower):
            return count
    match = STEPS.search(lower) or LAST_N.search(lower) or BARE_COUNT.search(lower.strip())
    return _as_int(match.group(1)) if match else None


# "go back to the original segmentation", "go back to the start": the first version, the one segmentation made
ORIGINAL = re.compile(
    r"\b(original|first|initial)\s+(segmentation|version|masks?|one|result)\b|\bthe\s+(original|start|beginning)\s*[.!?]?$"
)


def stated_version(text: str) -> int | None:
    """The mask version number `text` names ("version 3", "v3", "version #3"; "the original segmentation" is 0), or
    None."""
    lower = text.lower()
    match = VERSION.search(lower)
    if match:
        return _as_int(match.group(1))
    return 0 if ORIGINAL.search(lower) else None


def asks_to_redo(text: str) -> bool:
    """Text about bringing back what was undone ("reapply the change I undid"), not about undoing."""
    return bool(UNDONE.search(text.lower()))
