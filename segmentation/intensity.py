"""Intensity normalisation to 0..1: CT by a Hounsfield window, MR by robust percentiles."""

from typing import Literal

import numpy as np

Modality = Literal["CT", "MR"]

# (width, level) in HU. Abdomen and brain are the clinical defaults; the rest are common reading windows.
CT_WINDOWS: dict[str, tuple[float, float]] = {
    "abdomen": (400.0, 40.0),
    "liver": (150.0, 30.0),
    "brain": (80.0, 40.0),
    "bone": (1800.0, 400.0),
    "lung": (1500.0, -600.0),
}
MR_PERCENTILES = (0.5, 99.5)


def window_ct(hu: np.ndarray, window: str = "abdomen") -> np.ndarray:
    """Clip HU to [level - width/2, level + width/2] and scale to 0..1."""
    if window not in CT_WINDOWS:
        raise ValueError(f"unknown CT window {window!r}; choose one of: {', '.join(CT_WINDOWS)}.")
    width, level = CT_WINDOWS[window]
    low = level - width / 2
    return np.clip((hu.astype(np.float32) - low) / width, 0.0, 1.0)


def normalize_mr(signal: np.ndarray, percentiles: tuple[float, float] = MR_PERCENTILES) -> np.ndarray:
    """Map the [p_low, p_high] percentile range of the signal to 0..1 (MR has no absolute units).

    Percentiles are taken over the whole array, so a volume is normalised consistently across its slices.
    """
    low, high = np.percentile(signal, percentiles)
    if high <= low:
        return np.zeros_like(signal, dtype=np.float32)
    return np.clip((signal.astype(np.float32) - low) / (high - low), 0.0, 1.0)


def to_unit_range(image: np.ndarray, modality: Modality, window: str = "abdomen") -> np.ndarray:
    """0..1 float32 intensities for the encoder, chosen by modality."""
    if modality == "CT":
        return window_ct(image, window)
    if modality == "MR":
        return normalize_mr(image)
    raise ValueError(f"unknown modality {modality!r}; use 'CT' or 'MR'.")
