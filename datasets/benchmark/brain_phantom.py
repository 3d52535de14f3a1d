"""A procedural glioma phantom with BraTS-like sequences (t1, t1ce, t2, flair) and a BraTS 2021 segmentation
(1 necrotic core, 2 oedema, 4 enhancing rim). Assumptions: one supratentorial tumour per case; enhancing rim 2–4 mm
around a necrotic core; oedema extending 8–20 mm beyond it, confined to brain tissue."""

from enum import IntEnum

import numpy as np
from scipy.ndimage import gaussian_filter

from causal_sam_llm.datasets.benchmark.shapes import Grid, ellipsoid, smooth_field


class BrainTissue(IntEnum):
    AIR = 0
    SCALP = 1
    SKULL = 2
    CSF = 3
    GREY = 4
    WHITE = 5
    EDEMA = 6
    ENHANCING = 7
    NECROSIS = 8


B = BrainTissue
# Relative signal per sequence (arbitrary units), ordered as on real scans.
SEQUENCE_VALUES = {
    "t1": {
        B.AIR: 0,
        B.SCALP: 700,
        B.SKULL: 40,
        B.CSF: 150,
        B.GREY: 430,
        B.WHITE: 600,
        B.EDEMA: 360,
        B.ENHANCING: 420,
        B.NECROSIS: 180,
    },
    "t1ce": {
        B.AIR: 0,
        B.SCALP: 720,
        B.SKULL: 40,
        B.CSF: 160,
        B.GREY: 450,
        B.WHITE: 610,
        B.EDEMA: 370,
        B.ENHANCING: 950,
        B.NECROSIS: 190,
    },
    "t2": {
        B.AIR: 0,
        B.SCALP: 480,
        B.SKULL: 30,
        B.CSF: 950,
        B.GREY: 600,
        B.WHITE: 420,
        B.EDEMA: 820,
        B.ENHANCING: 640,
        B.NECROSIS: 900,
    },
    "flair": {
        B.AIR: 0,
        B.SCALP: 500,
        B.SKULL: 30,
        B.CSF: 90,
        B.GREY: 520,
        B.WHITE: 400,
        B.EDEMA: 860,
        B.ENHANCING: 620,
        B.NECROSIS: 330,
    },
}
BRATS2021_SEG = {B.NECROSIS: 1, B.EDEMA: 2, B.ENHANCING: 4}


def build_brain(grid: Grid, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(tissue map, BraTS 2021 segmentation) on `grid`."""
    semi = (rng.uniform(62, 72), rng.uniform(80, 92), rng.uniform(55, 65))
    tissue = np.full(grid.shape, B.AIR, np.uint8)
    layers = ((B.SCALP, 0), (B.SKULL, 5), (B.CSF, 11), (B.GREY, 14), (B.WHITE, 19))
    for layer, inset in layers:
        shrunk = tuple(s - inset for s in semi)
        tissue[ellipsoid(grid, (0, 0, 0), shrunk, rng if layer == B.WHITE else None, wobble=0.08)] = layer
    for side in (-1, 1):  # lateral ventricles
        tissue[ellipsoid(grid, (side * 9, 5, 8), (6, 24, 10), rng, wobble=0.1)] = B.CSF
    brain = (tissue == B.GREY) | (tissue == B.WHITE)
    centre = (rng.choice([-1, 1]) * rng.uniform(22, 38), rng.uniform(-35, 35), rng.uniform(-5, 25))
    core_radius = rng.uniform(7, 14)
    rim = rng.uniform(2, 4)
    oedema = ellipsoid(grid, centre, (core_radius + rng.uniform(8, 20),) * 3, rng, wobble=0.25) & brain
    enhancing = ellipsoid(grid, centre, (core_radius + rim,) * 3, rng, wobble=0.15)
    necrosis = ellipsoid(grid, centre, (core_radius,) * 3, rng, wobble=0.15)
    tissue[oedema] = B.EDEMA
    tissue[enhancing & brain] = B.ENHANCING
    tissue[necrosis & brain] = B.NECROSIS
    seg = np.zeros(grid.shape, np.uint8)
    for tumour_tissue, value in BRATS2021_SEG.items():
        seg[tissue == tumour_tissue] = value
    return tissue, seg


def render_sequence(tissue: np.ndarray, sequence: str, rng: np.random.Generator) -> np.ndarray:
    """One MR sequence of the phantom: tissue values, texture, blur, mild bias field and Rician noise."""
    lookup = np.array([SEQUENCE_VALUES[sequence][t] for t in BrainTissue], np.float32)
    image = lookup[tissue] * (1 + 0.05 * smooth_field(tissue.shape, rng, 1.5))
    image = gaussian_filter(image, 0.8) * (1 + 0.15 * np.tanh(smooth_field(tissue.shape, rng, 20.0)))
    sigma = 0.03 * 600
    real = image + sigma * rng.standard_normal(image.shape)
    imaginary = sigma * rng.standard_normal(image.shape)
    return np.sqrt(real * real + imaginary * imaginary).astype(np.float32)
