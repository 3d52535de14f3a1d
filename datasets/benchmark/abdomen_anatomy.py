"""A procedural abdomen: body outline, fat, muscle, spine, aorta/IVC, bowel, and the four labelled organs (liver,
spleen, kidneys), each with its own random size, shape and position. One `AbdomenAnatomy` is a tissue map; styles
(abdomen_styles.py) render it as CT or MR without changing a single label.

Assumptions (documented in README): adult abdomen, supine, axial slices from the lower kidney poles to the liver dome;
sizes and positions drawn around textbook values (liver ~1.5 l, spleen ~12 cm long, kidneys ~11 cm long, right kidney
lower than the left); organs never leave the body wall; bone and vessels take precedence where solids overlap.
"""

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

import numpy as np

from causal_sam_llm.datasets.benchmark.shapes import Grid, ellipsoid, elliptic_cylinder

Variant = Literal["standard", "displaced", "enlarged", "lesion"]


class Tissue(IntEnum):
    AIR = 0
    FAT = 1
    MUSCLE = 2
    BONE_CORTEX = 3
    BONE_MARROW = 4
    SPINAL_CANAL = 5
    AORTA = 6
    IVC = 7
    LIVER = 8
    SPLEEN = 9
    KIDNEY_CORTEX = 10
    KIDNEY_MEDULLA = 11
    BOWEL_GAS = 12
    BOWEL_FLUID = 13
    LIVER_LESION = 14
    RENAL_CYST = 15
    LIVER_VESSEL = 16


# BTCV label values, so the benchmark reads through the BTCV loader unchanged.
BTCV_VALUES = {"spleen": 1, "right_kidney": 2, "left_kidney": 3, "liver": 6}


@dataclass
class AbdomenAnatomy:
    tissue: np.ndarray  # uint8 Tissue per voxel, RAS grid
    btcv_labels: np.ndarray  # uint8 BTCV values per voxel
    grid: Grid
    variant: Variant
    parameters: dict


def build_abdomen(grid: Grid, rng: np.random.Generator, variant: Variant = "standard") -> AbdomenAnatomy:
    """Draw one abdomen. `variant` changes the anatomy (displaced or enlarged organs, focal lesions)."""
    p = _draw_parameters(rng, variant)
    tissue = np.full(grid.shape, Tissue.AIR, np.uint8)
    body = elliptic_cylinder(grid, (0.0, 0.0), (p["body_a"], p["body_b"]))
    inner = elliptic_cylinder(grid, (0.0, 0.0), (p["body_a"] - p["fat"], p["body_b"] - p["fat"]))
    cavity = elliptic_cylinder(grid, (0.0, 0.0), (p["body_a"] - p["fat"] - 8, p["body_b"] - p["fat"] - 8))
    tissue[body] = Tissue.FAT
    tissue[inner] = Tissue.MUSCLE
    tissue[cavity] = Tissue.FAT  # retroperitoneal and mesenteric fat fills what organs leave free
    _paint_bowel(tissue, grid, rng, cavity, p)
    organs = _organs(grid, rng, p, cavity)
    labels = np.zeros(grid.shape, np.uint8)
    for name in ("liver", "spleen", "right_kidney", "left_kidney"):
        labels[organs[name]] = BTCV_VALUES[name]
    tissue[organs["liver"]] = Tissue.LIVER
    tissue[organs["liver_vessels"]] = Tissue.LIVER_VESSEL
    tissue[organs["spleen"]] = Tissue.SPLEEN
    for side in ("right_kidney", "left_kidney"):
        tissue[organs[side]] = Tissue.KIDNEY_CORTEX
        tissue[organs[f"{side}_medulla"]] = Tissue.KIDNEY_MEDULLA
    tissue[organs["lesions"]] = Tissue.LIVER_LESION
    tissue[organs["cysts"]] = Tissue.RENAL_CYST
    _paint_spine_and_vessels(tissue, labels, grid, p)
    return AbdomenAnatomy(tissue=tissue, btcv_labels=labels, grid=grid, variant=variant, parameters=p)


def _draw_parameters(rng: np.random.Generator, variant: Variant) -> dict:
    p = {
        "body_a": rng.uniform(140, 170),
        "body_b": rng.uniform(100, 122),
        "fat": rng.uniform(8, 26),
        "liver_centre": (rng.uniform(55, 75), rng.uniform(-5, 15), rng.uniform(25, 45)),
        "liver_semi": (rng.uniform(75, 92), rng.uniform(70, 85), rng.uniform(62, 78)),
        "spleen_centre": (rng.uniform(-95, -75), rng.uniform(-45, -25), rng.uniform(15, 35)),
        "spleen_semi": (rng.uniform(22, 30), rng.uniform(40, 52), rng.uniform(45, 60)),
        "kidney_z": (rng.uniform(-75, -55), rng.uniform(-60, -40)),  # right, left (right lies lower)
        "kidney_semi": (rng.uniform(24, 30), rng.uniform(28, 34), rng.uniform(48, 58)),
        "variant": variant,
    }
    if variant == "displaced":
        cx, cy, cz = p["liver_centre"]
        p["liver_centre"] = (cx - 15, cy + 10, cz - rng.uniform(30, 45))
        sx, sy, sz = p["spleen_centre"]
        p["spleen_centre"] = (sx + 10, sy + rng.uniform(25, 40), sz - rng.uniform(25, 40))
        p["kidney_z"] = (p["kidney_z"][0] - rng.uniform(35, 50), p["kidney_z"][1])  # ptotic right kidney
    elif variant == "enlarged":
        p["liver_semi"] = tuple(s * rng.uniform(1.15, 1.3) for s in p["liver_semi"])
        p["spleen_semi"] = tuple(s * rng.uniform(1.35, 1.6) for s in p["spleen_semi"])
    return p


def _organs(grid: Grid, rng: np.random.Generator, p: dict, cavity: np.ndarray) -> dict[str, np.ndarray]:
    spine_y = -p["body_b"] + 45
    liver = ellipsoid(grid, p["liver_centre"], p["liver_semi"], rng, wobble=0.12, yaw_deg=rng.uniform(-15, 5))
    left_lobe_centre = (p["liver_centre"][0] - 75, p["liver_centre"][1] + 35, p["liver_centre"][2] + 10)
    liver |= ellipsoid(grid, left_lobe_centre, (50, 28, 32), rng, wobble=0.15)
    liver &= cavity
    spleen = ellipsoid(grid, p["spleen_centre"], p["spleen_semi"], rng, wobble=0.12, yaw_deg=rng.uniform(20, 45))
    spleen &= cavity & ~liver
    kidneys, medullae = {}, {}
    for side, sign, z in (("right_kidney", 1, p["kidney_z"][0]), ("left_kidney", -1, p["kidney_z"][1])):
        centre = (sign * rng.uniform(55, 68), spine_y + rng.uniform(0, 10), z)
        yaw = sign * rng.uniform(15, 30)
        kidney = ellipsoid(grid, centre, p["kidney_semi"], rng, wobble=0.06, yaw_deg=yaw)
        hilum = ellipsoid(grid, (centre[0] - sign * p["kidney_semi"][0], centre[1] + 5, z), (12, 14, 18))
        kidney &= cavity & ~hilum & ~liver & ~spleen
        inner = tuple(s * 0.55 for s in p["kidney_semi"])
        kidneys[side], medullae[side] = kidney, kidney & ellipsoid(grid, centre, inner, yaw_deg=yaw)
    lesions, cysts = _focal_lesions(grid, rng, p, liver, kidneys)
    vessels = _liver_vessels(grid, rng, p) & liver
    return {
        "liver": liver,
        "spleen": spleen,
        "liver_vessels": vessels,
        "lesions": lesions,
        "cysts": cysts,
        **kidneys,
        **{f"{k}_medulla": m for k, m in medullae.items()},
    }


def _focal_lesions(grid, rng, p, liver, kidneys) -> tuple[np.ndarray, np.ndarray]:
    lesions = np.zeros(grid.shape, bool)
    cysts = np.zeros(grid.shape, bool)
    if p["variant"] != "lesion":
        return lesions, cysts
    inside = np.argwhere(liver)
    for _ in range(rng.integers(1, 4)):
        i, j, k = inside[rng.integers(len(inside))]
        radius = rng.uniform(8, 20)
        lesions |= ellipsoid(grid, (grid.x[i, j, k], grid.y[i, j, k], grid.z[i, j, k]), (radius,) * 3, rng, 0.1)
    kidney = kidneys["left_kidney" if rng.random() < 0.5 else "right_kidney"]
    i, j, k = np.argwhere(kidney)[rng.integers(kidney.sum())]
    cysts |= ellipsoid(grid, (grid.x[i, j, k], grid.y[i, j, k], grid.z[i, j, k]), (rng.uniform(8, 14),) * 3)
    return lesions & liver, cysts & kidney


def _liver_vessels(grid: Grid, rng: np.random.Generator, p: dict) -> np.ndarray:
    """A few portal/hepatic branches: tubes running obliquely through the liver (they stay labelled liver)."""
    vessels = np.zeros(grid.shape, bool)
    cx, cy, cz = p["liver_centre"]
    for _ in range(4):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        offset = np.stack([grid.x - cx, grid.y - cy, grid.z - cz])
        along = np.tensordot(direction, offset, axes=1)
        distance = np.linalg.norm(offset - along * direction[:, None, None, None], axis=0)
        vessels |= (distance < rng.uniform(3, 6)) & (np.abs(along) < 60)
    return vessels


def _paint_bowel(tissue: np.ndarray, grid: Grid, rng: np.random.Generator, cavity: np.ndarray, p: dict) -> None:
    for _ in range(rng.integers(6, 11)):
        centre = (rng.uniform(-90, 90), rng.uniform(0, p["body_b"] - 40), rng.uniform(-140, 10))
        loop = ellipsoid(grid, centre, (rng.uniform(12, 25), rng.uniform(10, 20), rng.uniform(15, 40)), rng, 0.2)
        tissue[loop & cavity] = Tissue.BOWEL_GAS if rng.random() < 0.4 else Tissue.BOWEL_FLUID


def _paint_spine_and_vessels(tissue: np.ndarray, labels: np.ndarray, grid: Grid, p: dict) -> None:
    spine_y = -p["body_b"] + 45
    body = elliptic_cylinder(grid, (0, spine_y), (19, 16))
    canal = elliptic_cylinder(grid, (0, spine_y - 26), (7, 7))
    arch = elliptic_cylinder(grid, (0, spine_y - 28), (16, 12)) & ~canal
    for side in (-1, 1):
        tissue[elliptic_cylinder(grid, (side * 30, spine_y - 22), (20, 16))] = Tissue.MUSCLE  # paraspinal muscles
    for bone in (body, arch):
        tissue[bone] = Tissue.BONE_CORTEX
    tissue[elliptic_cylinder(grid, (0, spine_y), (15, 12))] = Tissue.BONE_MARROW
    tissue[canal] = Tissue.SPINAL_CANAL
    aorta = elliptic_cylinder(grid, (-14, spine_y + 30), (11, 11))
    ivc = elliptic_cylinder(grid, (22, spine_y + 30), (13, 9))
    tissue[aorta] = Tissue.AORTA
    tissue[ivc] = Tissue.IVC
    labels[body | arch | canal | aorta | ivc] = 0
