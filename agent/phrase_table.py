"""Tables of (label, phrases) read from clinician text: which labels a text names, in the order it names them.
Phrases match whole words ("up" is not in "cup"); shared by the amount and region words."""

import re
from collections.abc import Sequence

PhraseTable = Sequence[tuple[object, Sequence[str]]]
# Words by which a follow-up repeats an earlier request ("same again for the spleen").
REPEAT_WORDS = ("same", "again", "likewise", "as before", "as well", "similarly")


def labels_in_order(text: str, table: PhraseTable) -> list:
    """Labels whose phrases appear in `text` (lower case), ordered by their first appearance, each once."""
    found = [
        (match.start(), label)
        for label, phrases in table
        for phrase in phrases
        if (match := re.search(rf"\b{re.escape(phrase)}\b", text))
    ]
    return list(dict.fromkeys(label for _, label in sorted(found, key=lambda hit: hit[0])))


def any_word(words: Sequence[str]) -> re.Pattern:
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b")
