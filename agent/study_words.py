"""How a command names files: the reference labels of a study it opens ("load scan.nii.gz with labels seg.nii.gz"),
and a folder an export is asked into ("export the masks to /data/out")."""

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


# "to /data/out", "into ~/exports", "in ./results": a path after a word of direction
DESTINATION = re.compile(r"\b(?:to|into|in)\s+(?P<path>(?:/|~|\.{1,2}/)[^\s,;]*)", re.IGNORECASE)


def stated_destination(text: str) -> str | None:
    """The folder or file the text asks an export to be written to, or None."""
    match = DESTINATION.search(text)
    return match.group("path").strip("\"'`()") if match else None
