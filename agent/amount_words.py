"""How much a clinician asks for, read from the words: "by 20%" → 0.2, "by 6 mm" → 0.2 (30 mm is the full
strength), the system prompt's amount words and their common variants → 0.1 / 0.25 / 0.5 / 0.8 (a touch: 3 mm, a
little: 7.5 mm). Shared by the guard rails (an amount the text never stated becomes the default, not the model's
guess) and the keyword parser."""

import re

from causal_sam_llm.agent.phrase_table import REPEAT_WORDS, any_word, labels_in_order
from causal_sam_llm.segmentation.intervention import SIZED_WHEN_UNSAID

TINY, SMALL, DEFAULT, LARGE = 0.1, 0.25, 0.5, 0.8
FULL_STRENGTH_MM = 30.0
# "a touch" asks for less than "a little": most of the simulated clinician's requests are 3-5 mm (strength 0.1-0.17),
# which read as 0.25 grew or shrank a small organ 2-3x what was meant (a kidney halved in the demo).
AMOUNT_WORDS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (TINY, (
        "a touch", "a tad", "a smidge", "a hair", "a tiny bit", "tiny", "minimally", "marginally", "barely",
        "a tuch", "a toch", "a touh", "a tch", "a tadd",  # typed in a hurry (a fourth trial: "a tuch" had been none)
    )),
    (SMALL, (
        "a little", "slightly", "slight", "a bit", "mildly", "gently", "subtly",
        "abit", "a litle", "a littel", "a lil", "slighty", "slighly",  # typed in a hurry
    )),
    (DEFAULT, ("somewhat", "moderately", "moderate", "fairly", "reasonably")),
    (LARGE, (
        "a lot", "lots", "much", "substantially", "way too", "significantly", "considerably", "greatly", "heavily",
        "aggressively", "markedly", "drastically", "a great deal", "massively", "hugely",
    )),
)  # fmt: skip
# A follow-up that repeats an earlier request ("same again for the spleen") takes its amount from the conversation.
REPEAT = any_word(REPEAT_WORDS)


# the Intervention's own word, as a clinician who knows the tool types it: "strength 0.7", "0.3 strength"; any
# number, so that "strength 2" is refused with the allowed range rather than read as no amount (a unit after the
# number makes it a distance or a share, below)
_NUMBER = r"(-?(?:\d+(?:\.\d+)?|\.\d+))"
_NO_UNIT = r"(?![\d.]|\s*(?:%|percent|mm\b|cm\b|millimet|centimet))"
STRENGTH_NUMBER = re.compile(rf"\bstrength\s*(?:of|=|:)?\s*{_NUMBER}{_NO_UNIT}|{_NUMBER}\s+strength\b")


def _number_amount(text: str) -> float | None:
    requested = _number_requested(text)
    return None if requested is None else min(requested[0], 1.0)


def _strength_number(text: str) -> tuple[float, str] | None:
    """(the number after "strength", the words that said it), whatever the number."""
    match = STRENGTH_NUMBER.search(text)
    return None if match is None else (float(match.group(1) or match.group(2)), match.group(0))


# a distance in words: "half a centimetre", "a centimetre", "two millimetres" (a clinician-language trial: "by half a
# centimetre" had been read as no amount)
_UNIT = r"(?=\s*(?:mm\b|cm\b|millimet|centimet))"
WORD_NUMBERS = (
    (re.compile(rf"\bhalf\s+an?{_UNIT}"), "0.5"),
    (re.compile(rf"\ba\s+couple\s+(?:of\s+)?{_UNIT}"), "2"),
    (re.compile(rf"\ba\s+few{_UNIT}"), "3"),
    (re.compile(rf"\b(?:a|one){_UNIT}"), "1"),
    *((re.compile(rf"\b{word}{_UNIT}"), str(n)) for n, word in enumerate(("two", "three", "four", "five"), 2)),
    (re.compile(rf"\bten{_UNIT}"), "10"),
)
# digits, with an exponent read as one ("1e9 mm" is 1e9 mm, asked back as implausible, not 9 mm)
_DIGITS = r"(?<![\w.])(\d+(?:\.\d+)?(?:e[+-]?\d+)?)"


def _with_digits(text: str) -> str:
    for pattern, digits in WORD_NUMBERS:
        text = pattern.sub(digits, text)
    return text


def _number_requested(text: str) -> tuple[float, str] | None:
    """(strength, the words that said it) for an amount stated in numbers; the strength may exceed 1 here."""
    if (stated := _strength_number(text)) is not None and 0 <= stated[0] <= 1:
        return stated
    text = _with_digits(text)
    if match := re.search(rf"{_DIGITS}\s*(?:%|percent)", text):
        return float(match.group(1)) / 100, match.group(0)
    if match := re.search(rf"{_DIGITS}\s*(?:mm|millimet\w*)", text):
        return float(match.group(1)) / FULL_STRENGTH_MM, match.group(0)
    if match := re.search(rf"{_DIGITS}\s*(?:cm\b|centimet\w*)", text):
        return 10 * float(match.group(1)) / FULL_STRENGTH_MM, match.group(0)
    return None


# an amount's number with its unit: "5 mm", "1.5 cm", "20%", "strength 0.3"
AMOUNT_NUMBER = re.compile(rf"{_DIGITS}\s*(?:%|percent|mm\b|cm\b|millimet\w*|centimet\w*)|{STRENGTH_NUMBER.pattern}")


def without_amount_numbers(lower: str) -> str:
    """`lower` (lower case) without the numbers that state an amount, whose digits are no slice numbers."""
    return AMOUNT_NUMBER.sub(" ", lower)


def beyond_one_correction(text: str) -> str | None:
    """The words of an amount larger than one correction moves ("grow it by 5 cm": 50 mm, where full strength is
    30 mm), which the correction carries out only up to full strength; None otherwise."""
    requested = _number_requested(text.lower())
    return requested[1] if requested is not None and requested[0] > 1.0 else None


# an amount beyond this many full strengths (60 mm) is more than a boundary is plausibly off by: asked back, not done
IMPLAUSIBLE_STRENGTH = 2.0


def implausible_amount(text: str) -> str | None:
    """The words of an amount no boundary is plausibly off by ("grow the liver by 200 mm": a slip for 20 mm?), which
    is asked back rather than carried out at full strength; None otherwise."""
    requested = _number_requested(text.lower())
    return requested[1] if requested is not None and requested[0] > IMPLAUSIBLE_STRENGTH else None


# "not too much" / "but not a lot" limit the amount: they are a small request, not a large one
NOT_MUCH = re.compile(r"\bnot\s+(too\s+|so\s+|very\s+)?(much|a\s+lot|far|many)\b")


def stated_amount(text: str) -> float | None:
    """The strength `text` states in numbers or amount words, or None when it states none. The Intervention's own
    number outside [0, 1] ("strength 2") is passed on as it is, so that validation refuses it and says what is allowed
    rather than a guess of what was meant."""
    lower = text.lower()
    if (stated := _strength_number(lower)) is not None and not 0 <= stated[0] <= 1:
        return stated[0]
    number = _number_amount(lower)
    if number is not None:
        return number
    if NOT_MUCH.search(lower):
        return SMALL
    return _amount_word(lower)


# the verbs of a request, whose clause says how much ("grow it a hair"), where another clause says how bad the
# error is ("the right kidney is a bit small")
REQUEST_VERB = re.compile(
    r"\b(grow|expand|enlarge|extend|shrink|reduce|trim|shave|cut|pull|push|tighten|make|move|bring|take|add|remove)\b"
)
CLAUSE = re.compile(r"[,;.]|\bbut\b|\band\b")


def _amount_word(lower: str) -> float | None:
    """The amount word of the clause that asks for the change, where several clauses say one; else the first said.
    A fifth trial: "the right kidney got way too big, shrink it back a touch" had shrunk it by 24 mm ("way too"),
    99 % of it, and "a bit small …, grow it a hair" grown it by 7.5 mm."""
    said = labels_in_order(lower, AMOUNT_WORDS)
    if len(said) > 1:
        for clause in CLAUSE.split(lower):
            if REQUEST_VERB.search(clause) and (asked := labels_in_order(clause, AMOUNT_WORDS)):
                return asked[0]
    return next(iter(said), None)


def said_strength(text: str, action: str | None) -> float | None:
    """The strength a correction's words carry: the amount they state; with none stated, the default — except for a
    grow or shrink, whose strength is then left out (None) for the correction to size to the organ
    (tools/unsaid_amount.py)."""
    amount = stated_amount(text)
    if amount is None and action in SIZED_WHEN_UNSAID:
        return None
    return DEFAULT if amount is None else amount


def repeats_earlier_request(text: str) -> bool:
    return bool(REPEAT.search(text.lower()))
