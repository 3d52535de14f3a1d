"""`Case`: one image volume from any source, canonical RAS, with its labels in a unified label set."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from causal_sam_llm.datasets.label_maps import LabelSet, label_set
from causal_sam_llm.datasets.orientation import ras_to_axial_stack

Modality = Literal["CT", "MR"]


@dataclass(frozen=True)
class Volume:
    """A canonical RAS+ array (x, y, z) with its spacing in mm along x, y, z and its RAS affine."""

    array: np.ndarray
    spacing_mm: tuple[float, float, float]
    affine: np.ndarray


@dataclass
class Case:
    """One study (or one sequence of it). Arrays load lazily, on first access, and are cached.

    `image` holds HU for CT and scanner units for MR; `labels` holds values of `label_set_name` (0 = background);
    `original_labels` keeps the data set's own values. All arrays are RAS+ (x → Right, y → Anterior, z → Superior).
    """

    case_id: str
    source: str  # e.g. "btcv", "chaos", "amos", "brats2021", "benchmark"
    modality: Modality
    sequence: str  # e.g. "CT", "T2SPIR", "T1DUAL-InPhase", "t1ce"
    label_set_name: str
    source_path: Path
    _load_image: Callable[[], Volume] = field(repr=False)
    _load_labels: Callable[[], tuple[np.ndarray, np.ndarray]] | None = field(repr=False, default=None)
    metadata: dict = field(default_factory=dict)

    @property
    def anatomy_key(self) -> str:
        """Identifies the body imaged: equal for two renderings/sequences of the same patient or phantom, so that
        protocols never test on an anatomy seen in training."""
        return self.metadata.get("anatomy_key", f"{self.source}:{self.case_id}")

    @property
    def annotated_classes(self) -> tuple[str, ...]:
        """The classes its reference labels mark; another class's voxels there are unknown, not background (CHAOS CT
        marks the liver only)."""
        return tuple(self.metadata.get("annotated", self.label_set.classes))

    @property
    def voxel_key(self) -> str:
        """Equal only for voxel-aligned views of one anatomy (the benchmark's styles, BraTS's co-registered
        sequences, CHAOS's T1 in- and opposed-phase): slice z of one is slice z of the other, so LAD may pair them.
        CHAOS's T2-SPIR and T1-DUAL image the same patient on different grids."""
        return self.metadata.get("voxel_key", self.anatomy_key)

    @cached_property
    def volume(self) -> Volume:
        return self._load_image()

    @property
    def image(self) -> np.ndarray:
        return self.volume.array

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        return self.volume.spacing_mm

    @property
    def has_labels(self) -> bool:
        return self._load_labels is not None

    @cached_property
    def _label_pair(self) -> tuple[np.ndarray, np.ndarray]:
        if self._load_labels is None:
            raise ValueError(f"case {self.case_id} ({self.source_path}) has no reference labels.")
        unified, original = self._load_labels()
        if unified.shape != self.image.shape:
            raise ValueError(f"labels of {self.case_id} have shape {unified.shape}, image {self.image.shape}.")
        return unified, original

    @property
    def labels(self) -> np.ndarray:
        return self._label_pair[0]

    def check_labels(self) -> None:
        """Read the reference labels once, keeping nothing, so that a broken label file (unknown values, unreadable)
        is named before a long run reaches it; raises what reading them would raise."""
        if self._load_labels is None:
            raise ValueError(f"case {self.case_id} ({self.source_path}) has no reference labels.")
        self._load_labels()

    @property
    def original_labels(self) -> np.ndarray:
        return self._label_pair[1]

    @property
    def label_set(self) -> LabelSet:
        return label_set(self.label_set_name)

    def axial_image(self) -> np.ndarray:
        """(slices, rows, cols) in the radiological display convention, slice 0 most inferior."""
        return ras_to_axial_stack(self.image)

    def axial_labels(self) -> np.ndarray:
        return ras_to_axial_stack(self.labels)

    def axial_spacing_mm(self) -> tuple[float, float, float]:
        """(slice, row, col) spacing of the axial stack."""
        x, y, z = self.spacing_mm
        return (z, y, x)
