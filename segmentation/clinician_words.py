"""How the simulated clinician (clinician.py) says a correction: several phrasings per slot (organ, region,
amount, slice range), lay words included, and the strength those words carry — what a session that reads them
applies, so eval-tci applies it too."""

import re

import numpy as np

from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.piece_removal import deletes_named_slices
from causal_sam_llm.segmentation.tci_gate import MAX_REACH_MM

ORGAN_WORDS = {
    "liver": ["liver", "the liver", "hepatic contour"],
    "spleen": ["spleen", "the spleen", "splenic outline"],
    "right_kidney": ["right kidney", "the patient's right kidney", "kidney on the right"],
    "left_kidney": ["left kidney", "the patient's left kidney", "kidney on the left"],
    "whole_tumour": ["whole tumour", "tumour with the oedema", "whole lesion"],
    "tumour_core": ["tumour core", "core of the tumour", "solid core"],
    "enhancing_tumour": ["enhancing tumour", "enhancing rim", "enhancing part"],
}
REGION_WORDS = {
    "whole": ["", "all around", "overall"],
    "superior": ["toward the head", "at the top", "superiorly", "at the upper end"],
    "inferior": ["toward the feet", "at the bottom", "inferiorly", "at the lower end"],
    "anterior": ["at the front", "anteriorly", "toward the belly"],
    "posterior": ["at the back", "posteriorly", "toward the spine"],
    "left": ["on the patient's left", "on the left side", "toward the patient's left"],
    "right": ["on the patient's right", "on the right side", "toward the patient's right"],
}
TEMPLATES = {
    "expand": [
        "the {organ} is cut short {region}, grow it {amount}",
        "expand the {organ} {region} {amount}",
        "{organ} is too small {region}; make it bigger {amount}",
        "extend the {organ} {region} {amount}",
    ],
    "shrink": [
        "the {organ} spills over {region}, shrink it {amount}",
        "shrink the {organ} {region} {amount}",
        "{organ} is too big {region}, pull it in {amount}",
        "tighten the {organ} {region} {amount}",
    ],
    "remove_region": [
        "remove the extra bit of {organ} {region}",
        "that blob {region} is not {organ}, delete it",
        "cut away the {organ} {region}",
    ],
    "add_region": [
        "add the missing piece of {organ} {region}",
        "you missed part of the {organ} {region}, include it",
        "include more {organ} {region}",
    ],
    "smooth": ["smooth the {organ} outline", "the {organ} edge is ragged, clean it up", "tidy the {organ} border"],
}

# "there is no liver on slices 22 to 23": all of the organ on the named slices goes (piece_removal.deleted_whole)
NOT_THERE_TEMPLATES = ["there is no {organ} here, delete it", "delete the {organ}", "remove the {organ} label"]


# a command limited to some slices names them as the viewer numbers them (0-based, as the chat's legend)
SLICE_WORDS = [
    "on slices {first} to {last}, {command}",
    "{command} on slices {first}-{last}",
    "slices {first} through {last}: {command}",
]
ONE_SLICE_WORDS = ["on slice {first}, {command}", "{command} on slice {first}"]


# The agent's amount words (agent/amount_words.py: a touch 0.1, a little 0.25, nothing or somewhat 0.5, a lot 0.8)
AMOUNT_WORDS = {
    0.1: ["a touch", "a tad", "a hair"],
    0.25: ["a little", "slightly", "just a bit"],
    0.5: ["", "somewhat", "moderately"],
    0.8: ["a lot", "much more", "substantially"],
}
MM_WORDS = ["by {mm} mm", "by about {mm} mm", "{mm} mm"]  # read by the agent as mm / 30 mm (full strength)
SAYS_NO_AMOUNT = 0.5  # what the agent applies when the words state no amount (its default)


def said_strength(action: str, strength: float) -> float:
    """The strength the clinician's words for `strength` carry, so that what eval-tci applies is what a session that
    reads those words applies: an amount word's value where it lies within a millimetre of the strength meant, else
    the nearest whole millimetre ("by 4 mm"); the agent's default where the action's phrasings state no amount
    (removing, adding or smoothing a region). Before, the words were the nearest amount word (a 5 mm request said as
    "a touch", 3 mm) while eval-tci applied the strength meant."""
    if not states_amount(action):
        return SAYS_NO_AMOUNT
    word = min(AMOUNT_WORDS, key=lambda value: abs(value - strength))
    if abs(word - strength) * MAX_REACH_MM <= 1.0:
        return word
    return max(1, round(strength * MAX_REACH_MM)) / MAX_REACH_MM


def states_amount(action: str) -> bool:
    """Whether every phrasing of `action` says an amount (removing, adding and smoothing a region say none)."""
    return all("{amount}" in template for template in TEMPLATES[action])


def as_said(intervention: Intervention) -> Intervention:
    """The intervention with the strength its words carry (`said_strength`)."""
    return intervention.model_copy(update={"strength": said_strength(intervention.action, intervention.strength)})


def amount_words(strength: float, rng: np.random.Generator) -> str:
    """Words for a strength as said (`said_strength`): its amount word, else its whole millimetres."""
    if strength in AMOUNT_WORDS:
        return str(rng.choice(AMOUNT_WORDS[strength]))
    return str(rng.choice(MM_WORDS)).format(mm=max(1, round(strength * MAX_REACH_MM)))


def say(intervention: Intervention, rng: np.random.Generator) -> str:
    """One natural-language rendering of an intervention."""
    not_there = deletes_named_slices(intervention)
    template = str(rng.choice(NOT_THERE_TEMPLATES if not_there else TEMPLATES[intervention.action]))
    text = template.format(
        organ=rng.choice(ORGAN_WORDS.get(intervention.organ, [intervention.organ])),
        region=rng.choice(REGION_WORDS[intervention.region]),
        amount=amount_words(intervention.strength, rng),
    )
    if intervention.slices is not None:
        first, last = intervention.slices
        words = ONE_SLICE_WORDS if first == last else SLICE_WORDS
        text = str(rng.choice(words)).format(first=first, last=last, command=text)
    text = " ".join(text.split()).replace(" ,", ",").replace(" ;", ";")
    return re.sub(r"\bthe the\b", "the", text)
