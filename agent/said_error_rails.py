"""Rails for what a clinician says about the mask's error rather than what to do with it (a second clinician-language
trial, 2026-12-07, about 250 commands): the direction a complaint asks for, slices named in words the parser cannot
number, a step asked back by "too much", an amount of nothing, and an undo aimed at one organ. Each turns a call that
would have changed the wrong thing, silently, into the right call or a question."""

import re

from causal_sam_llm.agent.amount_words import stated_amount
from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall, clarify
from causal_sam_llm.agent.organ_words import organs_mentioned, words_besides_organ
from causal_sam_llm.agent.region_words import regions_mentioned
from causal_sam_llm.agent.slice_distance import slices_said_as_distance
from causal_sam_llm.agent.slice_end import removal_past_slice
from causal_sam_llm.agent.slice_words import stated_slices

GROWS, SHRINKS = ("expand", "add_region"), ("shrink", "remove_region")
# "the liver is too small", "under-segmented", "too short at the top", "not big enough"
# and, from a fourth trial (each had been shrunk): "one slice short at the top", "looks a bit thin at the back", "stops
# one slice too early at the top", "stops a slice too high at the bottom", "is missing a slice"
TOO_LITTLE = re.compile(
    r"\btoo\s+(?:small|short|thin|narrow|little|tight)\b|\bunder[-\s]?(?:segment|estimat|call|contour|seg\b)\w*"
    r"|\bnot\s+(?:big|large|long|wide)\s+enough\b|\bundersized\b|\bshort\b|\bmissing\b"
    r"|\b(?:looks?|is|seems?|bit|little|rather|quite|slightly)\s+thin\b|\bstops?\b.{0,30}\btoo\s+(?:early|soon)\b"
    r"|\bstops?\b.{0,30}\btoo\s+(?:high\b.{0,30}\b(?:bottom|feet|lower)|low\b.{0,30}\b(?:top|head|upper))",
    re.IGNORECASE,
)
# "too big", "over-segmented", "too thick", "overestimated", "oversized"
TOO_MUCH = re.compile(
    r"\btoo\s+(?:big|large|long|wide|thick|fat|generous)\b|\bover[-\s]?(?:segment|estimat|call|contour|seg\b)\w*"
    r"|\boversized\b|\b(?:goes|extends|reaches|runs)\b.{0,30}\btoo\s+(?:high|low|far)\b"
    r"|\bstops?\b.{0,30}\btoo\s+(?:low\b.{0,30}\b(?:bottom|feet|lower)|high\b.{0,30}\b(?:top|head|upper))",
    re.IGNORECASE,
)
GROW_VERBS = re.compile(r"\b(grow|expand|enlarge|extend|add|include|bigger|larger)\b", re.IGNORECASE)
SHRINK_VERBS = re.compile(r"\b(shrink|reduce|trim|shave|remove|delete|erase|cut|smaller|tighten)\b", re.IGNORECASE)


def ground_said_direction(call: ParsedCall, text: str) -> ParsedCall:
    """A correction whose text says only that the organ is too small (or only too big) moves it that way. Measured
    reason: the model shrank "the liver is too small", "spleen too small", "the left kidney is undersegmented" and
    "the liver is too short at the top", and grew "the spleen is over-segmented", depending on the turns before. Left
    to the model where the text says both, or also names a verb of its own."""
    action = call.args.get("action") if call.tool == "intervene_decoder" else None
    if action not in GROWS + SHRINKS:
        return call
    little, much = bool(TOO_LITTLE.search(text)), bool(TOO_MUCH.search(text))
    if little and not much and action in SHRINKS and not SHRINK_VERBS.search(text):
        return ParsedCall(tool=call.tool, args={**call.args, "action": "expand"})
    if much and not little and action in GROWS and not GROW_VERBS.search(text):
        return ParsedCall(tool=call.tool, args={**call.args, "action": "shrink"})
    return call


# slices named relative to something ("the top 3 slices", "the last slice", "above slice 15", "from 20 to the end")
RELATIVE_SLICES = re.compile(
    r"\b(?:top|bottom|first|last|final)\s+(?:(?:\d+|two|three|four|five|six|few|couple\s+of)\s+)?slices?\b"
    r"|\b(?:above|below|after|before|beyond|past)\s+slices?\s+\d+|\bslices?\s+(?:above|below|after|before|past)\s+\d+"
    r"|\bslices?\s+\d+\s+(?:and\s+)?(?:up|down|onwards?)\b"
    r"|\bslices?\b.*\bto\s+the\s+(?:end|top|bottom)\b|\bslices?\s+-\d+",
    re.IGNORECASE,
)
WHICH_SLICES = (
    "Which slices, by number? Say e.g. 'on slices 12 to 15' (slices are numbered from 0 at the feet; 'which slices "
    "is the liver on?' lists an organ's)."
)


def ground_slice_words(call: ParsedCall, text: str) -> ParsedCall:
    """Slices said relative to an end or to a slice are asked back by number: they had been dropped ("grow the liver
    on the top 3 slices" grew the whole liver) or read as one slice ("above slice 15" as slice 15)."""
    if call.tool not in ("intervene_decoder", "segment") or not RELATIVE_SLICES.search(text):
        return call
    if call.tool == "intervene_decoder" and slices_said_as_distance(text) is not None:
        return call  # "add two slices to the top of the right kidney": a distance (slice_distance.py), no choice
    if removal_past_slice(call, text) is not None:
        return call  # "get rid of the bits of spleen above slice 18": taken off there (slice_end.py)
    if ONE_END_SLICE.search(text) and stated_slices(ONE_END_SLICE.sub(" ", text)) is not None:
        return call  # "on its top slice, slice 11": the number is said too (a fifth trial had been asked it)
    return clarify(WHICH_SLICES)


ONE_END_SLICE = re.compile(r"\b(?:top|bottom|first|last|final|lowest|highest)\s+slice\b", re.IGNORECASE)


# "too much, halfway back", "that's too much", "back off a bit": the last step was too large
TOO_FAR = re.compile(
    r"^\s*(?:no[,.]?\s+)?(?:that(?:'s| is| was)?\s+|it(?:'s| is| was)?\s+|way\s+)?too\s+much\s*(?:[,.!;]|$)"
    r"|\bhalf\s*way\s+back\b|\bback\s+off\b",
    re.IGNORECASE,
)
STEP_BACK = (
    "Nothing was changed. To take the last change back say 'undo', then ask for a smaller amount, e.g. 'grow the "
    "spleen a touch' or 'by 2 mm'."
)


def ground_too_far(call: ParsedCall, text: str) -> ParsedCall:
    """ "too much, halfway back" had become a new correction in a direction of the model's choosing (the spleen grown
    posterior 24 mm, 279 → 384 ml): one call cannot halve the last step, so the text is answered with how to."""
    if call.tool in ("undo", "redo", "go_to_version") or not TOO_FAR.search(text):
        return call
    return clarify(STEP_BACK)


ZERO_AMOUNT = re.compile(r"\bby\s+0+(?:\.0+)?\s*(?:mm|cm|%|millimet\w*|centimet\w*)?(?!\.?\d)", re.IGNORECASE)


def ground_zero_amount(call: ParsedCall, text: str) -> ParsedCall:
    """ "shrink the liver by 0 mm" had moved it (1792 → 1725 ml) and kept a version: an amount of nothing is asked
    back, not sized for the organ."""
    if call.tool != "intervene_decoder" or not ZERO_AMOUNT.search(text):
        return call
    return clarify("An amount of 0 changes nothing; how far should it move?")


# "double the spleen", "halve it", "twice as big", "half the size": a factor of the volume, not a distance
FACTOR = re.compile(
    r"\b(?:double|doubled|halve|halved|triple|tripled)\b|\b(?:twice|three\s+times|half)\s+(?:as|the)\s+"
    r"(?:big|large|small|size|volume|wide|long)\b",
    re.IGNORECASE,
)
DISTANCE_NOT_FACTOR = (
    "One correction moves the organ's edge by a distance, not its volume by a factor: say how far, e.g. 'grow the "
    "spleen 5 mm' or 'a lot' (30 mm at most per correction); 'how big is the spleen?' gives its volume."
)


def ground_distance_words(call: ParsedCall, text: str) -> ParsedCall:
    """An amount said as a factor of the volume ("double the spleen") is asked back in mm: it had been carried out
    with an amount sized to the organ, without a word that the amount said was not read (a clinician-language trial).
    An amount in slices is read with the study's spacing (slice_distance.py)."""
    if call.tool != "intervene_decoder" or call.args.get("action") == "smooth":
        return call
    if FACTOR.search(text):
        return clarify(DISTANCE_NOT_FACTOR)
    return call


# "spleen +3mm", "liver -5 mm": a signed amount, the sign its direction (a third trial: "spleen +3mm" had shrunk it)
SIGNED_AMOUNT = re.compile(r"(?<![\w.])([+\-\u2212])\s*\d+(?:\.\d+)?\s*(?:mm|cm|%|millimet|centimet)", re.I)


def ground_signed_amount(call: ParsedCall, text: str, classes: list[str]) -> ParsedCall:
    """A correction said as one organ and a signed amount, with no verb of its own: + grows it, - shrinks it,
    whatever the model wrote (it had shrunk "spleen +3mm" and refused it as more than a boundary is off by)."""
    match = SIGNED_AMOUNT.search(text)
    named = organs_mentioned(text, classes)
    if match is None or len(named) != 1 or GROW_VERBS.search(text) or SHRINK_VERBS.search(text):
        return call
    if call.tool not in ("intervene_decoder", CLARIFY):
        return call
    action = "expand" if match.group(1) == "+" else "shrink"
    regions = regions_mentioned(text)
    args = {
        "organ": named[0],
        "action": action,
        "region": regions[0] if len(regions) == 1 else "whole",
        "strength": stated_amount(text),
        "slices": stated_slices(text),
    }
    return ParsedCall(tool="intervene_decoder", args=args)


# "toward the head, no wait, toward the feet": what follows the clinician's own correction of the text replaces it
SELF_CORRECTION = re.compile(
    r"\b(?:no\s+wait|wait\s+no|no\s+sorry|sorry|i\s+mean|i\s+meant|make\s+that|scratch\s+that|or\s+rather)\b", re.I
)


def ground_self_correction(call: ParsedCall, text: str) -> ParsedCall:
    """A correction whose text corrects itself takes the direction and the verb said after the correction (a fourth
    trial: "grow the spleen toward the head, no wait, toward the feet" had grown it toward the head)."""
    match = SELF_CORRECTION.search(text)
    if match is None or call.tool != "intervene_decoder":
        return call
    after, args = text[match.end() :], dict(call.args)
    regions = regions_mentioned(after)
    if len(regions) == 1:
        args["region"] = regions[0]
    grows, shrinks = GROW_VERBS.search(after), SHRINK_VERBS.search(after)
    turned = (grows and not shrinks and args.get("action") in SHRINKS) or (
        shrinks and not grows and args.get("action") in GROWS
    )
    if turned:
        args["action"] = "expand" if grows else "shrink"
        if stated_amount(after) is None:  # the amount was the withdrawn request's (a fifth trial: a 7.5 mm grow)
            args.pop("strength", None)  # sized to the organ as an unsaid amount
    return ParsedCall(tool=call.tool, args=args)


FILLER = {"the", "and", "also", "too", "now", "then", "please", "ok", "okay", "mask", "one", "again", "s"}
# words that carry the last correction over to another organ: "the spleen too", "now the liver"
CARRY_OVER = {"also", "too", "now", "then", "again"}


def ground_bare_organ(call: ParsedCall, text: str, previous_call: ParsedCall | None, classes: list[str]) -> ParsedCall:
    """A text that only names an organ right after a correction is asked what to do: "the liver" after "make it
    bigger" had repeated the liver's correction, and "liver" after "shrink the spleen" had shrunk the liver
    unasked (14 % of it, a clinician-language trial). Words that carry the correction over ("the spleen too", "now
    the spleen") do it for that organ; after a question back, a bare organ is the answer."""
    if call.tool != "intervene_decoder" or previous_call is None or previous_call.tool != "intervene_decoder":
        return call
    named = organs_mentioned(text, classes)
    organ, before = call.args.get("organ"), previous_call.args.get("organ")
    if named != [organ]:
        return call
    said = words_besides_organ(text, organ)
    if any(word not in FILLER for word in said):  # says more than the organ: what to do, or "same for the spleen"
        return call
    name = organ.replace("_", " ")
    if organ == before:
        return clarify(
            f"What should I do with the {name}? e.g. 'grow the {name} a little more', 'shrink the {name} a touch' "
            "or 'undo'."
        )
    if not CARRY_OVER.intersection(said):
        earlier = str(before).replace("_", " ")
        return clarify(
            f"{SAME_FOR} {name} as for the {earlier}? Say 'the {name} too' to do that, or what to do with the "
            f"{name} (e.g. 'grow the {name} a little')."
        )
    return call


SAME_FOR = "The same for the"


def previous_correction(history: list[tuple[str, ParsedCall]]) -> ParsedCall | None:
    """The call a follow-up continues: the last turn's, or the correction before a "The same for the liver as for
    the spleen?" asked back, which "the liver too" answers (a fourth trial: that answer had grown the whole liver, the
    spleen's shrink at the top forgotten)."""
    if not history:
        return None
    call = history[-1][1]
    if call.tool == CLARIFY and str(call.args.get("question", "")).startswith(SAME_FOR) and len(history) > 1:
        return history[-2][1]
    return call


UNDO_ALL = re.compile(r"\bundo\s+(?:everything|all(?:\s+(?:the\s+|my\s+)?(?:changes|corrections|edits))?)\b", re.I)


def ground_undo(call: ParsedCall, text: str, organs_named: list[str], last_corrected: str | None) -> ParsedCall:
    """ "undo everything" goes back to version 0 (it had undone one step). An undo naming an organ the last change did
    not touch is asked back: undo steps back through the changes in order ("undo the last change to the spleen"
    had undone the liver's)."""
    if call.tool != "undo":
        return call
    if UNDO_ALL.search(text):
        return ParsedCall(tool="go_to_version", args={"version": 0})
    if organs_named and last_corrected is not None and last_corrected not in organs_named:
        last = last_corrected.replace("_", " ")
        return ParsedCall(
            tool=CLARIFY,
            args={
                "question": f"Undo takes back the changes in order, and the last was to the {last}. Say 'undo' to "
                "take that back, 'list versions' to see each, or 'go back to version N'."
            },
        )
    return call
