"""A correction said as one organ running into another ("the left kidney bleeds into the spleen", "the liver leaks
into the right kidney"): a shrink of the first organ where its mask meets the second's, on the side and slices the
masks show (tools/organ_border.py), not all around. Measured reason (a clinician-language trial, 2026-12-07): the
model read both as a shrink of the whole organ, which cut the kidney by 87 % and the liver by 47 %. A side or slices
the text states are kept; masks that do not meet, and an organ this model does not segment, are asked about rather
than guessed at."""

import re
from dataclasses import dataclass

import numpy as np

from causal_sam_llm.agent.amount_words import stated_amount
from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall
from causal_sam_llm.agent.guard_rails import pretty
from causal_sam_llm.agent.organ_words import KIDNEYS, mentions_kidney, organs_mentioned, unsupported_mentioned
from causal_sam_llm.agent.region_words import regions_mentioned
from causal_sam_llm.segmentation.tci_gate import MAX_REACH_MM
from causal_sam_llm.tools.intervene_decoder import TOWARD_WORDS
from causal_sam_llm.tools.organ_border import Border, border_with, contact_mm, gap_mm
from causal_sam_llm.tools.organ_extent import slices_said

# said of the organ that goes too far, in the third person ("bleeds", "is leaking"): an imperative ("extend the
# spleen into ...") asks for a grow and is not one of these
LEAK_VERBS = re.compile(
    r"\b(?:bleed|bleeds|bleeding|leak|leaks|leaking|spill|spills|spilling|runs|running|extends|extending|goes|going"
    r"|creeps|creeping|spreads|spreading|encroach\w*|invad(?:es|ing)|intrud(?:es|ing)|overlap\w*|includes|including"
    r"|eats|eating)\b",
    re.IGNORECASE,
)


# what follows the verb when the organ runs into something: "into the pancreas", "over into the fossa", "in2 it"
INTO = re.compile(r"^\s*(?:\w+\s+)?(?P<word>into|onto|in\s*to|in2|over)\b(?P<what>.*)", re.IGNORECASE)


@dataclass(frozen=True)
class Leak:
    organ: str  # the organ said to run into another
    into: list[str]  # this model's organs it may run into (two kidneys for "kidney"); none for anything else
    elsewhere: str | None  # what it runs into where that is none of them: an organ this model does not segment, or ""


def leak_named(text: str, classes: list[str]) -> Leak | None:
    """What the text says runs into what, or None where it says no such thing of one of this model's organs."""
    match = LEAK_VERBS.search(text)
    if match is None:
        return None
    before, after = text[: match.start()], text[match.end() :]
    subjects = organs_mentioned(before, classes)
    if len(subjects) != 1:
        return None
    into = [organ for organ in organs_mentioned(after, classes) if organ != subjects[0]]
    if not into and mentions_kidney(after):
        into = [organ for organ in classes if organ in KIDNEYS and organ != subjects[0]]
    if into:
        return Leak(subjects[0], into, None)
    if (beyond := INTO.match(after)) is None:
        return None
    unsupported = unsupported_mentioned(beyond.group("what"))
    if not unsupported and beyond.group("word").lower() == "over":
        return None  # "spills over a touch": too big, not run into anything (a replayed session had been asked where)
    return Leak(subjects[0], [], unsupported[0] if unsupported else "")


def aimed_at_the_border(
    call: ParsedCall, text: str, masks: np.ndarray, classes: list[str], spacing_mm: tuple[float, float, float]
) -> tuple[ParsedCall, str]:
    """`call` aimed where the organ's mask meets the neighbour's, and what the reply says of it; the call as it was
    (and no note) where the text says no organ runs into another or nothing is segmented yet. `masks`: the
    workbench's (Z, classes, rows, cols) masks, exclusive organs."""
    leak = leak_named(text, classes) if call.tool == "intervene_decoder" else None
    if leak is None:
        return call, ""
    if not leak.into:
        return _into_what_it_does_not_segment(call, leak, classes), ""
    own = masks[:, classes.index(leak.organ)]
    if not own.any():
        return call, ""  # the tool says there is no mask to shrink
    borders = {name: border_with(own, masks[:, classes.index(name)], spacing_mm) for name in leak.into}
    met = {name: border for name, border in borders.items() if border is not None}
    if not met:
        return _no_border_question(leak.organ, leak.into, own, masks, classes, spacing_mm), ""
    neighbour, border = max(met.items(), key=lambda item: item[1].voxels)
    near = contact_mm(spacing_mm)
    args = {**call.args, "organ": leak.organ, "action": "shrink"}
    if not regions_mentioned(text):
        args["region"] = border.region
    if call.args.get("slices") is None:
        args["slices"] = list(border.slices)
    # no amount said: the border's own width, not a share of the organ (nor the default another action's call had)
    sized = stated_amount(text) is None
    if sized:
        args["strength"] = round(near / MAX_REACH_MM, 4)
    note = _border_note(leak.organ, neighbour, border, args, near) + (_border_amount_note(near) if sized else "")
    return ParsedCall(tool=call.tool, args=args), note


def _into_what_it_does_not_segment(call: ParsedCall, leak: Leak, classes: list[str]) -> ParsedCall:
    """An organ said to run into something this model does not segment ("the spleen runs into the pancreas"): where
    the text says no side or slices, the model's call would cut the whole organ back (the spleen had lost 35 ml in a
    third trial); the clinician is asked where instead. A side or slices said are done as said."""
    if call.args.get("region", "whole") != "whole" or call.args.get("slices") is not None:
        return call
    name = leak.organ.replace("_", " ")
    what = f"the {leak.elsewhere} is" if leak.elsewhere else "what it runs into is"
    return ParsedCall(
        tool=CLARIFY,
        args={
            "question": f"Nothing was changed: {what} not one of the organs this model segments ({pretty(classes)}), "
            f"so I cannot find where the {name} meets it. Say where to cut the {name} back, e.g. 'shrink the {name} "
            "at the front on slices 10 to 14'."
        },
    )


def _border_note(organ: str, neighbour: str, border: Border, args: dict, near_mm: float) -> str:
    where = TOWARD_WORDS[args["region"]] if args["region"] != "whole" else "all around"
    first, last = args["slices"]
    return (
        f" Aimed at where the {organ.replace('_', ' ')} meets the {neighbour.replace('_', ' ')} "
        f"({border.voxels} voxels within {near_mm:.0f} mm of it): {where}, on "
        f"{slices_said(list(range(first, last + 1)))}."
    )


def _border_amount_note(near_mm: float) -> str:
    return (
        f" No amount was said, so it moved {near_mm:.0f} mm, the width of the border; for another amount say one "
        "('a touch', 'a lot', '10 mm')."
    )


def _no_border_question(
    organ: str,
    neighbours: list[str],
    own: np.ndarray,
    masks: np.ndarray,
    classes: list[str],
    spacing_mm: tuple[float, float, float],
) -> ParsedCall:
    """Masks that do not meet: where the organ runs into the neighbour cannot be read off them."""
    gaps = [gap_mm(own, masks[:, classes.index(name)], spacing_mm) for name in neighbours]
    known = [(gap, name) for gap, name in zip(gaps, neighbours, strict=True) if gap is not None]
    name = organ.replace("_", " ")
    if known:
        gap, neighbour = min(known)
        apart = f"the {name} and {neighbour.replace('_', ' ')} masks are {gap:.0f} mm apart at their closest"
    else:
        apart = f"there is no {' or '.join(n.replace('_', ' ') for n in neighbours)} mask to meet"
    question = (
        f"Nothing was changed: {apart}, so I cannot tell where the {name} runs into it. Say where to cut the {name} "
        f"back, e.g. 'shrink the {name} toward the head on slices 10 to 14'."
    )
    return ParsedCall(tool=CLARIFY, args={"question": question})
