"""How a command names the reference labels of a study it opens ("load scan.nii.gz with labels seg.nii.gz")."""

import re

# "with labels X", "and the reference segmentation X", "ground truth: X", "labels=X"
LABEL_WORDS = re.compile(
    r"\b(?:labels?|label\s+map|reference(?:\s+(?:labels?|segmentation|mask))?|ground[\s-]+truth|seg(?:mentation)?)"
    r"\s*(?:file\s*)?(?:[:=]\s*|\s+)(?:(?:is|at|in)\s+)?(?P<path>[^\s,;]+\.nii(?:\.gz)?)",
    re.IGNORECASE,
)


def stated_labels(text: str) -> str | None:
    """The label file the text names (a NIfTI path after a word for labels), or None."""
    match = LABEL_WORDS.search(text)
    return match.group("path").strip("\"'`()") if match else None
