"""The words clinicians use for organs, sides and amounts — shared by the guard rails and the keyword parser.
Matching is forgiving of typos (a close-enough word counts) but never invents an organ that was not written."""

import difflib
import re

ORGAN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "liver": ("liver", "hepatic", "liv"),
    "spleen": ("spleen", "splenic"),
    "right_kidney": (
        "right kidney", "kidney on the right", "right renal", "r kidney", "rt kidney", "rght kidney", "kidney r",
        "kidney rt", "right kid", "rt kid", "r kid", "kidney on the patient s right", "kidney on the patients right",
        "kidney on the patient right", "rk",
    ),
    "left_kidney": (
        "left kidney", "kidney on the left", "left renal", "l kidney", "lt kidney", "lft kidney", "kidney l",
        "kidney lt", "left kid", "lt kid", "l kid", "lft kid", "kidney on the patient s left",
        "kidney on the patients left", "kidney on the patient left", "lk",
    ),
    "whole_tumour": ("whole tumour", "whole tumor", "oedema", "edema", "whole lesion", "wt"),
    "tumour_core": ("tumour core", "tumor core", "core", "tc"),
    "enhancing_tumour": ("enhancing tumour", "enhancing tumor", "enhancing", "enhancement", "et"),
}  # fmt: skip
UNSUPPORTED_ORGANS = (
    "pancreas", "heart", "lung", "lungs", "stomach", "gallbladder", "gall bladder", "aorta", "bladder", "prostate",
    "uterus", "colon", "bowel", "intestine", "oesophagus", "esophagus", "adrenal", "duodenum", "vena cava", "ivc",
    "bone", "spine", "vertebra", "rib", "muscle", "thyroid", "brain", "appendix",
)  # fmt: skip
KIDNEYS = {"left_kidney": "right_kidney", "right_kidney": "left_kidney"}  # each kidney's other one
# "same on the other kidney": the kidney not corrected last (a follow-up; guard_rails)
# "the other one" after a kidney too: it had corrected the same kidney again (a clinician-language trial)
OTHER_KIDNEY = re.compile(r"\b(other|opposite|contralateral)\s+(kidney|kidny|kindey|one)\b")
PRONOUNS = re.compile(r"\b(it|its|that|this|same|there|them)\b")
# Words of UNSUPPORTED_ORGANS that here name a direction or the tumour's whereabouts, not an organ to segment:
# "toward the spine" is posterior (region_words), "the brain tumour" is the tumour model's own subject.
NOT_AN_ORGAN = re.compile(
    r"\b(toward|towards|to|near|by|at|against)\s+the\s+spine\b|\bbrain\s+(tumou?rs?|lesions?|glioma)\b"
    r"|\bin\s+the\s+brain\b",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def words_besides_organ(text: str, organ: str) -> list[str]:
    """`text`'s words other than those naming `organ` ("now the spleen": ["now", "the"])."""
    organ_words = {word for phrase in ORGAN_SYNONYMS.get(organ, (organ,)) for word in phrase.split()}
    return [word for word in words(text) if word not in organ_words]


def _fuzzy_contains(text_words: list[str], phrase: str) -> bool:
    """Every word of `phrase` appears in order, each allowing a small typo (ratio ≥ 0.8; short words exact)."""
    target = phrase.split()
    for start in range(len(text_words) - len(target) + 1):
        window = text_words[start : start + len(target)]
        if all(_close(a, b) for a, b in zip(window, target, strict=True)):
            return True
    return False


def _close(word: str, wanted: str) -> bool:
    if len(wanted) <= 4:
        return word == wanted
    return word == wanted or difflib.SequenceMatcher(None, word, wanted).ratio() >= 0.8


def organs_mentioned(text: str, classes: list[str]) -> list[str]:
    """Classes of the model named in `text` (with typos tolerated). A bare 'kidney' names neither side."""
    text_words = words(text)
    return [c for c in classes if any(_fuzzy_contains(text_words, p) for p in ORGAN_SYNONYMS.get(c, (c,)))]


# single words too common outside the brain model to take as its regions there ("contrast-enhanced", "core")
GENERIC_WORDS = ("core", "enhancing", "enhancement", "et", "tc", "wt")
TUMOUR_WORDS = ("tumour", "tumor", "tumours", "tumors", "glioma", "lesion", "lesions")
# the class a bare word other_models_organs returns stands for
STANDS_FOR = {"kidney": "right_kidney", "tumour": "whole_tumour"}


def other_models_organs(text: str, classes: list[str]) -> list[str]:
    """Organs another shipped model segments, named in `text` ("the whole tumour" to the abdominal model, "the
    spleen" or a kidney to the brain one); its generic single words count only for their own model."""
    text_words = words(text)
    named = [
        organ
        for organ, phrases in ORGAN_SYNONYMS.items()
        if organ not in classes and any(_fuzzy_contains(text_words, p) for p in phrases if p not in GENERIC_WORDS)
    ]
    if not named and "right_kidney" not in classes and mentions_kidney(text):
        named.append("kidney")
    if not named and "whole_tumour" not in classes and any(w in TUMOUR_WORDS for w in text_words):
        named.append("tumour")
    return named


def unsupported_mentioned(text: str) -> list[str]:
    text_words = words(NOT_AN_ORGAN.sub(" ", text))
    return [o for o in UNSUPPORTED_ORGANS if _fuzzy_contains(text_words, o)]


def refers_back(text: str) -> bool:
    return bool(PRONOUNS.search(text.lower()))


def _kidney_word(word: str) -> bool:
    return _close(word, "kidney") or _close(word, "kidneys")


def mentions_kidney(text: str) -> bool:
    """Any kidney word, sided or not ("kidney", "kidneys", "renal", typos tolerated)."""
    return any(_kidney_word(w) or w == "renal" for w in words(text))


def bare_kidney(text: str) -> bool:
    text_words = words(text)
    has_side = any(w in ("left", "right", "lt", "rt") for w in text_words)
    return any(_kidney_word(w) for w in text_words) and not has_side


def both_kidneys(text: str) -> bool:
    """'both kidneys', 'the kidneys': the two together, which no single organ of a call names."""
    text_words = words(text)
    plural = any(w.endswith("s") and _close(w, "kidneys") for w in text_words)
    return (plural or "both" in text_words) and bare_kidney(text)
