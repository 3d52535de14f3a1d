"""Unified label sets and the remapping of each data set's own labels into them (both declared in YAML)."""

import importlib.resources
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import yaml

from causal_sam_llm.errors import DataLayoutError


@dataclass(frozen=True)
class LabelSet:
    """A unified label set: class name → value, exclusive (one class per voxel) or nested (BraTS regions)."""

    name: str
    kind: Literal["exclusive", "nested"]
    classes: dict[str, int]
    body_parts: frozenset[str] = frozenset()  # DICOM BodyPartExamined values that show this anatomy
    body_width_mm: tuple[float, float] | None = None  # the body's left-right width a study of it has (mm)

    def mask(self, labels: np.ndarray, class_name: str) -> np.ndarray:
        """Boolean mask of one class (exclusive) or region (nested: value >= the region's value)."""
        if class_name not in self.classes:
            raise KeyError(f"{class_name!r} is not in label set {self.name!r}; choose one of {list(self.classes)}.")
        value = self.classes[class_name]
        return labels >= value if self.kind == "nested" else labels == value


def _yaml(name: str) -> dict:
    text = importlib.resources.files("causal_sam_llm.datasets").joinpath(name).read_text()
    return yaml.safe_load(text)


@cache
def label_set(name: str) -> LabelSet:
    sets = _yaml("label_sets.yaml")
    if name not in sets:
        raise DataLayoutError(f"unknown label set {name!r}; choose one of {list(sets)}.")
    entry = sets[name]
    body_parts = frozenset(entry.get("body_parts", []))
    width = tuple(entry["body_width_mm"]) if "body_width_mm" in entry else None
    return LabelSet(name, entry["kind"], dict(entry["classes"]), body_parts, width)


def other_anatomy(body_part: str, name: str) -> str | None:
    """The label set a DICOM BodyPartExamined value belongs to when it is not `name`'s but another set's (a head
    study for the abdominal model); None when `name` claims it, or no set does."""
    if claims_body_part(label_set(name), body_part):
        return None
    claimed = [other for other in _yaml("label_sets.yaml") if claims_body_part(label_set(other), body_part)]
    return claimed[0] if claimed else None


def claims_body_part(labels: LabelSet, body_part: str) -> bool:
    """Whether a DICOM BodyPartExamined value (any case, spaces ignored) shows the set's anatomy."""
    return "".join(body_part.upper().split()) in labels.body_parts


def anatomy_by_width(width_mm: float, name: str) -> str | None:
    """The label set whose body width (`body_width_mm`) holds `width_mm` when `name`'s does not (a head given to
    the abdominal model); None when `name`'s holds it or states none, or no other set's holds it."""
    if within_body_width(label_set(name), width_mm) is not False:
        return None
    fitting = [other for other in _yaml("label_sets.yaml") if within_body_width(label_set(other), width_mm)]
    return fitting[0] if fitting else None


def within_body_width(labels: LabelSet, width_mm: float) -> bool | None:
    """Whether a body `width_mm` across fits the set's anatomy; None when the set states no width."""
    if labels.body_width_mm is None:
        return None
    low, high = labels.body_width_mm
    return low <= width_mm <= high


@cache
def source_labels(source: str) -> dict:
    return _yaml("source_labels.yaml")[source]


# The data set whose label values a user's own label file (and an exported label map) is in, per unified label set.
FILE_CONVENTION = {"abdomen": "btcv", "brain_tumour": "brats2021"}


def to_source_values(unified: np.ndarray, source: str) -> np.ndarray:
    """Unified label values → the data set's own (the inverse of `remap_labels`), e.g. for an export that the same
    loader reads back as labels."""
    lookup = np.zeros(max(int(unified.max(initial=0)), *source_labels(source)["map"].values()) + 1, np.uint8)
    for source_value, unified_value in source_labels(source)["map"].items():
        lookup[unified_value] = int(source_value)
    return lookup[unified.astype(np.int64)]


def remap_labels(original: np.ndarray, source: str, path: Path) -> np.ndarray:
    """Source label values → unified values (uint8). Values outside the source's documented set are an error."""
    spec = source_labels(source)
    values = np.unique(original)
    unknown = sorted(set(values.tolist()) - set(spec["valid"]))
    if unknown:
        raise DataLayoutError(
            f"{path} has label values {unknown[:10]} that {source} does not define (allowed: {spec['valid']}). "
            "Is this the right data set, and is the label file intact?"
        )
    lookup = np.zeros(max(spec["valid"]) + 1, np.uint8)
    for source_value, unified in spec["map"].items():
        lookup[int(source_value)] = unified
    return lookup[original.astype(np.int64)]


def png_grey_to_labels(grey: np.ndarray, source: str, path: Path) -> np.ndarray:
    """CHAOS Ground PNG grey levels → unified values by the documented ranges; any other non-zero grey is an error."""
    labels = np.zeros(grey.shape, np.uint8)
    claimed = grey == 0
    for unified, (low, high) in source_labels(source)["png_ranges"].items():
        inside = (grey >= low) & (grey <= high)
        labels[inside] = int(unified)
        claimed |= inside
    if not claimed.all():
        stray = sorted(np.unique(grey[~claimed]).tolist())[:10]
        raise DataLayoutError(f"{path} has grey levels {stray} outside the {source} label ranges.")
    return labels
