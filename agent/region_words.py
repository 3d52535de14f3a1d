"""The words clinicians use for patient directions (superior = toward the head, left = the patient's left), shared by
the guard rails (decoding only offers the regions a command names, or `whole` when it names none) and the keyword
parser. Sides are phrases ("on the left", "patient's right"), never a bare "left", which names a kidney."""

import re

from causal_sam_llm.agent.phrase_table import REPEAT_WORDS, any_word, labels_in_order

REGION_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("superior", (
        "head", "top", "upper", "superior", "superiorly", "cranial", "cranially", "craniad", "above", "up", "upward",
        "upwards", "dome", "diaphragm",
    )),
    ("inferior", (
        "feet", "foot", "bottom", "lower", "inferior", "inferiorly", "caudal", "caudally", "below", "down", "downward",
        "downwards", "pelvis", "pelvic",
    )),
    ("anterior", ("front", "anterior", "anteriorly", "ventral", "ventrally", "belly", "abdominal wall", "forward")),
    ("posterior", (
        "back", "posterior", "posteriorly", "dorsal", "dorsally", "spine", "spinal", "paraspinal", "behind", "rear",
    )),
    ("left", (
        "patient's left", "patients left", "patient left", "on the left", "to the left", "left side", "left-hand",
        "leftward", "leftwards",
    )),
    ("right", (
        "patient's right", "patients right", "patient right", "on the right", "to the right", "right side",
        "right-hand", "rightward", "rightwards",
    )),
)  # fmt: skip
# Directions that depend on the organ (medial is the patient's right for the left kidney) or on context: the model
# decides, unrestricted, as it does for a follow-up that continues an earlier request.
ORGAN_RELATIVE = any_word(("medial", "medially", "lateral", "laterally", "hilum", "hilar", "inner", "outer"))
CONTINUATION = any_word((*REPEAT_WORDS, "more", "further", "another", "keep going", "continue"))


# "the other side too", "now the opposite pole": a follow-up asking for the previous correction mirrored
OTHER_SIDE = re.compile(r"\b(other|opposite)\s+(side|edge|end|pole|border|margin)\b")
OPPOSITE_REGION = {
    "left": "right", "right": "left", "superior": "inferior", "inferior": "superior", "anterior": "posterior",
    "posterior": "anterior",
}  # fmt: skip


# Verbs whose "up" is no direction: "clean it up", "tidy up the edge", "fix up", "open up", "make up"
PHRASAL_UP = re.compile(r"\b(clean|tidy|fix|smooth|clear|open|make|sort|tighten|firm|join|close)(\s+\w+){0,2}\s+up\b")


# A "back" after a verb or a pronoun is no direction: "add it back in", "add back the lower pole", "pull back 6 mm"
# ("at the back", "toward the back" stay posterior)
PHRASAL_BACK = re.compile(
    r"\b(add|put|bring|pull|take|cut|trim|shave|dial|scale|roll|set|give|get|it|that|them|this|those|these)\s+back\b"
)
# Organ names that contain a side: "the kidney on the left" and "on the left kidney" name the left kidney, not a region
SIDED_ORGAN = re.compile(
    r"(?<!left\s)(?<!right\s)\bkidney\s+on\s+the\s+(?:patient'?s?\s+)?(left|right)\b|\b(on|to|for|at)\s+the\s+(left|right)\s+(?=kidn?e?y)"
)
# Words that ask for the whole organ even where a direction is named too
WHOLE_WORDS = any_word(("all around", "everywhere", "overall", "all over", "whole", "entire", "circumferentially"))


def regions_mentioned(text: str) -> list[str]:
    """Regions whose words appear in `text`, in the order of their first appearance."""
    lower = PHRASAL_BACK.sub(r"\1 ", PHRASAL_UP.sub(" ", text.lower()))
    return labels_in_order(SIDED_ORGAN.sub("kidney", lower), REGION_WORDS)


def names_whole_organ(text: str) -> bool:
    return bool(WHOLE_WORDS.search(text.lower()))


def leaves_region_to_the_model(text: str) -> bool:
    lower = text.lower()
    return bool(ORGAN_RELATIVE.search(lower) or CONTINUATION.search(lower))
