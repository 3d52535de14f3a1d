"""`describe_style`: what an image looks like, as a `StyleProfile` and one sentence, from header fields and measured
image statistics. The sentence is what LAD's frozen text encoder embeds.

The default backend is *measured*: no vision-language weights ship offline, so the sentence is written from the
header and the measurements below, not by a model looking at the image (see `StyleDescriber`).
"""

from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field
from scipy.ndimage import gaussian_filter

from causal_sam_llm.datasets.case import Case

Level = Literal["low", "moderate", "high"]


class StyleProfile(BaseModel):
    """Acquisition style of one volume. Units: mm for geometry; HU (CT) or scanner units (MR) for intensities."""

    modality: Literal["CT", "MR"]
    sequence: str
    manufacturer: str | None = None
    field_strength_t: float | None = None
    kvp: float | None = None
    pixel_spacing_mm: float
    slice_thickness_mm: float
    intensity_p1: float
    intensity_p50: float
    intensity_p99: float
    unit: Literal["HU", "a.u."]
    noise_sigma: float = Field(description="robust std of the high-frequency residual inside the body")
    noise_level: Level
    bias_field_strength: float = Field(description="peak-to-peak relative variation of a fitted smooth gain field")
    bias_level: Level
    tissue_contrast: float = Field(description="(p90 - p10) / (p90 + p10) of body intensities, offset to positive")
    contrast_level: Level
    augmentation: str | None = None
    backend: Literal["measured", "vlm"] = "measured"
    sentence: str = ""


class StyleDescriber(Protocol):
    """Anything that turns a case into a StyleProfile (e.g. a vision-language model through llama.cpp)."""

    def describe(self, case: Case) -> StyleProfile: ...


def _level(value: float, low: float, high: float) -> Level:
    return "low" if value < low else "high" if value > high else "moderate"


def _body_mask(image: np.ndarray, modality: str) -> np.ndarray:
    threshold = -500.0 if modality == "CT" else 0.1 * float(np.percentile(image, 99))
    return image > threshold


def _noise_sigma(image: np.ndarray, body: np.ndarray) -> float:
    residual = image - gaussian_filter(image, (1.0, 1.0, 0.0))
    values = residual[body]
    return float(1.4826 * np.median(np.abs(values - np.median(values)))) if values.size else 0.0


def _bias_strength(image: np.ndarray, body: np.ndarray) -> float:
    """Fit log-intensity with a linear function of position inside the body; report the fitted gain's range.
    Anatomy averages out in a first-order fit; an MR receive-coil bias does not."""
    coords = np.argwhere(body)
    if len(coords) < 100:
        return 0.0
    step = max(1, len(coords) // 20000)
    coords = coords[::step]
    values = np.log(np.maximum(image[tuple(coords.T)], 1e-3))
    design = np.column_stack([coords / np.array(image.shape), np.ones(len(coords))])
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    fitted = design @ coefficients
    return float(np.exp(fitted.max() - fitted.min()) - 1.0)


def measure_style(
    image: np.ndarray,
    modality: str,
    spacing_mm: tuple[float, float, float],
    sequence: str,
    header: dict | None = None,
    augmentation: str | None = None,
) -> StyleProfile:
    """Profile of a RAS volume (x, y, z) in HU (CT) or scanner units (MR)."""
    header = header or {}
    image = image.astype(np.float32)
    # a restyled view is in 0..1, not HU: CT's −500 HU body threshold would take every voxel for body
    body = _body_mask(image, modality if augmentation is None else "unit range")
    values = image[body] if body.any() else image.ravel()
    p1, p10, p50, p90, p99 = (float(v) for v in np.percentile(values, (1, 10, 50, 90, 99)))
    offset = 1024.0 if modality == "CT" and augmentation is None else 0.0
    contrast = (p90 - p10) / max(p90 + p10 + 2 * offset, 1e-6)
    noise = _noise_sigma(image, body)
    spread = max(p99 - p1, 1e-6)
    bias = 0.0 if modality == "CT" and augmentation is None else _bias_strength(image, body)
    profile = StyleProfile(
        modality=modality,
        sequence=sequence,
        manufacturer=header.get("manufacturer") or None,
        field_strength_t=_float(header.get("field_strength_t")),
        kvp=_float(header.get("kvp")),
        pixel_spacing_mm=float(spacing_mm[0]),
        slice_thickness_mm=float(spacing_mm[2]),
        intensity_p1=p1,
        intensity_p50=p50,
        intensity_p99=p99,
        unit="HU" if modality == "CT" and augmentation is None else "a.u.",
        noise_sigma=noise,
        noise_level=_level(noise / spread, 0.02, 0.06),
        bias_field_strength=bias,
        bias_level=_level(bias, 0.1, 0.3),
        tissue_contrast=contrast,
        contrast_level=_level(contrast, 0.15, 0.4),
        augmentation=augmentation,
    )
    return profile.model_copy(update={"sentence": style_sentence(profile)})


def style_sentence(p: StyleProfile) -> str:
    scanner = ", ".join(
        part
        for part in (
            p.manufacturer,
            f"{p.field_strength_t:.1f} T" if p.field_strength_t else None,
            f"{p.kvp:.0f} kVp" if p.kvp else None,
        )
        if part
    )
    what = f"{p.modality} image" + (f" ({p.sequence})" if p.sequence not in ("CT", p.modality) else "")
    if p.augmentation:
        what += f" with {p.augmentation}"
    digits = 2 if p.intensity_p99 - p.intensity_p1 < 10 else 0  # a restyled view's 0..1 range needs decimals
    return (
        f"{what}{' from ' + scanner if scanner else ''}; {p.pixel_spacing_mm:.1f} mm pixels, "
        f"{p.slice_thickness_mm:.1f} mm slices; {p.noise_level} noise (sigma {p.noise_sigma:.{digits}f} {p.unit}); "
        f"{p.bias_level} bias field; {p.contrast_level} tissue contrast; "
        f"intensities {p.intensity_p1:.{digits}f} to {p.intensity_p99:.{digits}f} {p.unit}."
    )


def describe_style(case: Case, augmentation: str | None = None, image: np.ndarray | None = None) -> StyleProfile:
    """Measured profile of a case (or of `image`, a restyled view of it). Header fields come from DICOM or from a
    benchmark domain's domain.json."""
    header = dict(case.metadata)
    dicom = header.pop("header", {}) or {}
    fields = {
        "manufacturer": header.get("manufacturer") or dicom.get("Manufacturer"),
        "field_strength_t": header.get("field_strength_t") or dicom.get("MagneticFieldStrength"),
        "kvp": header.get("kvp") or dicom.get("KVP"),
    }
    return measure_style(
        case.image if image is None else image, case.modality, case.spacing_mm, case.sequence, fields, augmentation
    )


def _float(value) -> float | None:
    try:
        return float(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None
