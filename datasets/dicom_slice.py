"""One DICOM image slice → intensities in physical units (HU for CT), with modality and pixel spacing."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from causal_sam_llm.errors import DataLayoutError


@dataclass(frozen=True)
class DicomSlice:
    pixels: np.ndarray  # (rows, cols) float32; HU for CT, scanner units for MR
    modality: str  # "CT" or "MR"
    spacing_mm: tuple[float, float]  # (row spacing, column spacing)
    path: Path


def read_dicom_slice(path: Path) -> DicomSlice:
    """Read a single-frame CT or MR DICOM file, applying the rescale slope/intercept."""
    try:
        dataset = pydicom.dcmread(str(path))
        raw = dataset.pixel_array
    except InvalidDicomError as exc:  # pydicom's own text advises force=True, which is no advice for a user
        raise DataLayoutError(f"{path} is not a DICOM file (it has no DICOM header).") from exc
    except Exception as exc:
        raise DataLayoutError(f"{path} is not a readable DICOM image: {exc}") from exc
    modality = str(dataset.get("Modality", ""))
    if modality not in ("CT", "MR"):
        raise DataLayoutError(f"{path} has modality {modality!r}; only CT and MR images are supported.")
    if raw.ndim != 2:
        raise DataLayoutError(f"{path} has {raw.ndim}-D pixel data {raw.shape}; expected one 2-D frame.")
    slope = float(dataset.get("RescaleSlope", 1.0))
    intercept = float(dataset.get("RescaleIntercept", 0.0))
    spacing = tuple(float(v) for v in dataset.get("PixelSpacing", (1.0, 1.0)))
    return DicomSlice(raw.astype(np.float32) * slope + intercept, modality, (spacing[0], spacing[1]), Path(path))
