"""Render one `AbdomenAnatomy` as an image in a given style: CT from two scanners and a low-dose protocol, MR T1
(in-phase GRE-like) and MR T2 (fat-suppressed, T2-SPIR-like). Labels are untouched: only appearance changes.

Tissue values follow textbook appearance: CT in HU per contrast phase; MR in arbitrary scanner units with the
relative order of tissues as on real sequences (T1: fat bright, liver brighter than spleen; T2-SPIR: fat suppressed,
spleen and kidneys brighter than liver, fluid brightest, flowing blood dark).
"""

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from causal_sam_llm.datasets.benchmark.abdomen_anatomy import AbdomenAnatomy, Tissue
from causal_sam_llm.datasets.benchmark.shapes import smooth_field

T = Tissue
_CT_COMMON = {
    T.AIR: -1000,
    T.FAT: -100,
    T.MUSCLE: 55,
    T.BONE_CORTEX: 850,
    T.BONE_MARROW: 260,
    T.SPINAL_CANAL: 15,
    T.BOWEL_GAS: -900,
    T.BOWEL_FLUID: 20,
    T.RENAL_CYST: 5,
}
CT_PORTAL_VENOUS = {
    **_CT_COMMON,
    T.AORTA: 165,
    T.IVC: 145,
    T.LIVER: 110,
    T.SPLEEN: 118,
    T.KIDNEY_CORTEX: 185,
    T.KIDNEY_MEDULLA: 175,
    T.LIVER_LESION: 45,
    T.LIVER_VESSEL: 175,
}
CT_LATE_ARTERIAL = {
    **_CT_COMMON,
    T.AORTA: 330,
    T.IVC: 95,
    T.LIVER: 78,
    T.SPLEEN: 135,
    T.KIDNEY_CORTEX: 240,
    T.KIDNEY_MEDULLA: 95,
    T.LIVER_LESION: 60,
    T.LIVER_VESSEL: 120,
}
MR_T1_GRE = {
    T.AIR: 0,
    T.FAT: 880,
    T.MUSCLE: 300,
    T.BONE_CORTEX: 25,
    T.BONE_MARROW: 640,
    T.SPINAL_CANAL: 110,
    T.AORTA: 70,
    T.IVC: 90,
    T.LIVER: 540,
    T.SPLEEN: 380,
    T.KIDNEY_CORTEX: 430,
    T.KIDNEY_MEDULLA: 290,
    T.BOWEL_GAS: 5,
    T.BOWEL_FLUID: 130,
    T.LIVER_LESION: 250,
    T.RENAL_CYST: 90,
    T.LIVER_VESSEL: 160,
}
MR_T2_SPIR = {
    T.AIR: 0,
    T.FAT: 110,
    T.MUSCLE: 170,
    T.BONE_CORTEX: 20,
    T.BONE_MARROW: 140,
    T.SPINAL_CANAL: 900,
    T.AORTA: 45,
    T.IVC: 60,
    T.LIVER: 250,
    T.SPLEEN: 520,
    T.KIDNEY_CORTEX: 560,
    T.KIDNEY_MEDULLA: 650,
    T.BOWEL_GAS: 5,
    T.BOWEL_FLUID: 850,
    T.LIVER_LESION: 700,
    T.RENAL_CYST: 950,
    T.LIVER_VESSEL: 70,
}


@dataclass(frozen=True)
class Style:
    """How a scanner and protocol turn tissue into pixels."""

    name: str
    modality: str  # "CT" or "MR"
    sequence: str  # the sequence name a real data set would use (CT, T2SPIR, T1DUAL-InPhase)
    description: str
    tissue_values: dict
    texture: float  # std of organ texture, as a fraction of |value| (CT: HU)
    blur_mm: float  # point-spread function (Gaussian sigma) in-plane: the reconstruction kernel / resolution
    noise: float  # CT: HU std; MR: Rician sigma as a fraction of the liver signal
    noise_grain_mm: float = 0.0  # correlation length of the noise (low-dose and smooth kernels look grainy)
    bias: float = 0.0  # MR: peak-to-peak strength of the multiplicative bias field
    sharpen: float = 0.0  # CT: edge enhancement of a sharp kernel
    kvp: int | None = None
    field_strength_t: float | None = None
    manufacturer: str = ""


STYLES: dict[str, Style] = {
    "ct_a": Style(
        "ct_a",
        "CT",
        "CT",
        "CT scanner A: portal venous phase, 120 kVp, soft kernel",
        CT_PORTAL_VENOUS,
        texture=0.06,
        blur_mm=1.0,
        noise=10.0,
        kvp=120,
        manufacturer="Vendor A",
    ),
    "ct_b": Style(
        "ct_b",
        "CT",
        "CT",
        "CT scanner B: late arterial phase, 100 kVp, sharp kernel",
        CT_LATE_ARTERIAL,
        texture=0.10,
        blur_mm=0.6,
        noise=22.0,
        sharpen=0.8,
        kvp=100,
        manufacturer="Vendor B",
    ),
    "ct_lowdose": Style(
        "ct_lowdose",
        "CT",
        "CT",
        "low-dose CT: portal venous phase, 80 kVp, quarter dose",
        CT_PORTAL_VENOUS,
        texture=0.06,
        blur_mm=1.0,
        noise=38.0,
        noise_grain_mm=2.0,
        kvp=80,
        manufacturer="Vendor A",
    ),
    "mr_t1": Style(
        "mr_t1",
        "MR",
        "T1DUAL-InPhase",
        "MR T1-weighted in-phase GRE, 1.5 T, bias field, Rician noise",
        MR_T1_GRE,
        texture=0.05,
        blur_mm=2.2,
        noise=0.04,
        bias=0.35,
        field_strength_t=1.5,
        manufacturer="Vendor C",
    ),
    "mr_t2": Style(
        "mr_t2",
        "MR",
        "T2SPIR",
        "MR T2-weighted fat-suppressed (SPIR), 3 T, bias field, Rician noise",
        MR_T2_SPIR,
        texture=0.07,
        blur_mm=2.8,
        noise=0.05,
        bias=0.5,
        field_strength_t=3.0,
        manufacturer="Vendor D",
    ),
}


def render(anatomy: AbdomenAnatomy, style: Style, rng: np.random.Generator) -> np.ndarray:
    """The image of `anatomy` in `style`: CT as int16 HU, MR as float32 scanner units."""
    spacing = anatomy.grid.spacing
    lookup = np.array([style.tissue_values[t] for t in Tissue], np.float32)
    image = lookup[anatomy.tissue]
    texture = smooth_field(image.shape, rng, sigma_vox=1.5)
    soft = anatomy.tissue >= T.AORTA  # texture only inside organs and vessels, not air, fat or bone
    image = np.where(soft, image + style.texture * np.abs(image) * texture, image)
    sigma = (style.blur_mm / spacing[0], style.blur_mm / spacing[1], 0.3)
    blurred = gaussian_filter(image, sigma)
    if style.sharpen:
        blurred = blurred + style.sharpen * (blurred - gaussian_filter(blurred, (1.5, 1.5, 0)))
    if style.modality == "CT":
        return _ct_noise(blurred, style, rng, spacing)
    return _mr_acquisition(blurred, style, rng, anatomy)


def _ct_noise(image: np.ndarray, style: Style, rng: np.random.Generator, spacing) -> np.ndarray:
    noise = rng.standard_normal(image.shape).astype(np.float32)
    if style.noise_grain_mm:
        noise = gaussian_filter(noise, (style.noise_grain_mm / spacing[0], style.noise_grain_mm / spacing[1], 0))
        noise /= noise.std() + 1e-8
    body = image > -950  # quantum noise lives where there are photons attenuated by the patient
    noisy = image + np.where(body, style.noise, style.noise * 0.2) * noise
    return np.clip(np.round(noisy), -1024, 3071).astype(np.int16)


def _mr_acquisition(image: np.ndarray, style: Style, rng: np.random.Generator, anatomy: AbdomenAnatomy) -> np.ndarray:
    bias = 1.0 + style.bias * 0.5 * np.tanh(smooth_field(image.shape, rng, sigma_vox=25.0))
    gain = rng.uniform(0.7, 1.4)  # MR has no absolute units: every scanner/session scales differently
    signal = image * bias * gain
    sigma = style.noise * style.tissue_values[Tissue.LIVER] * gain
    real = signal + sigma * rng.standard_normal(image.shape).astype(np.float32)
    imaginary = sigma * rng.standard_normal(image.shape).astype(np.float32)
    return np.sqrt(real * real + imaginary * imaginary).astype(np.float32)  # magnitude → Rician noise
