"""Region words typed in a hurry ("at the bottm", "fornt", "superiorr") mended before a command is read: a fourth
clinician-language trial's "the liver is too big at the bottm" had been read with no region at all, and the whole
liver shrunk. Two kinds of slip are mended: two neighbouring letters swapped, in any region word ("bakc", "haed"), and
one letter dropped, added or changed in the longer words below, which few English words lie one letter from; those
few ("font", "interior") are left as written, and "caudal" is mended for swaps only ("causal" is one letter off)."""

import re

from causal_sam_llm.agent.region_words import REGION_WORDS

# single region words, and the two side words, whose swapped-letter slips are mended
SWAPPABLE = tuple(
    sorted({w for _, phrases in REGION_WORDS for w in phrases if " " not in w and len(w) >= 3} | {"left", "right"})
)
# words also mended for one letter dropped, added or changed ("caudal" is not among them: "causal" is one away)
ONE_LETTER_OFF = (
    "bottom", "front", "superior", "inferior", "anterior", "posterior", "superiorly", "inferiorly", "anteriorly",
    "posteriorly", "cranial", "cranially", "diaphragm", "towards", "toward",
)  # fmt: skip
# words one letter from a region word that mean something else
REAL_WORDS = frozenset(
    ("font", "frost", "frond", "fronts", "bottoms", "crania", "fete", "hade", "interior", "interiorly")
)
# short slips the two rules above miss ("bak": a fifth trial's "shrink it at the bak" had shrunk the whole kidney)
SHORT_SLIPS = {"bak": "back", "bck": "back", "hed": "head", "botm": "bottom", "btm": "bottom", "bttm": "bottom"}
WORD = re.compile(r"[A-Za-z]+")


def with_region_typos_mended(text: str) -> str:
    """`text` with each misspelt region word written as the region word."""
    return WORD.sub(lambda match: _mended(match.group()), text)


def _mended(word: str) -> str:
    lower = word.lower()
    if lower in SHORT_SLIPS:
        return SHORT_SLIPS[lower]
    if lower in REAL_WORDS or lower in SWAPPABLE or lower in ONE_LETTER_OFF or len(lower) < 3:
        return word
    for wanted in SWAPPABLE:
        if _neighbours_swapped(lower, wanted):
            return wanted
    if len(lower) >= 4:
        for wanted in ONE_LETTER_OFF:
            if _one_letter_off(lower, wanted):
                return wanted
    return word


def _neighbours_swapped(word: str, wanted: str) -> bool:
    if len(word) != len(wanted) or word == wanted:
        return False
    differ = [i for i, (a, b) in enumerate(zip(word, wanted, strict=True)) if a != b]
    return (
        len(differ) == 2
        and differ[1] == differ[0] + 1
        and word[differ[0]] == wanted[differ[1]]
        and (word[differ[1]] == wanted[differ[0]])
    )


def _one_letter_off(word: str, wanted: str) -> bool:
    """One letter dropped, added or changed (never the first: "front" is not "Brent")."""
    if word[0] != wanted[0] or abs(len(word) - len(wanted)) > 1:
        return False
    if len(word) == len(wanted):
        return sum(a != b for a, b in zip(word, wanted, strict=True)) == 1
    shorter, longer = sorted((word, wanted), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
