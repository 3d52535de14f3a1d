"""Smooth random solids on a world-coordinate grid (mm): the building blocks of the phantoms."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """World coordinates (mm, RAS) of every voxel centre of a (nx, ny, nz) grid."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]

    @classmethod
    def centred(cls, shape: tuple[int, int, int], spacing: tuple[float, float, float]) -> "Grid":
        axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing, strict=True)]
        x, y, z = np.meshgrid(*[a.astype(np.float32) for a in axes], indexing="ij")
        return cls(x, y, z, spacing, tuple(float(a[0]) for a in axes))

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.x.shape

    def affine(self) -> np.ndarray:
        affine = np.diag([*self.spacing, 1.0])
        affine[:3, 3] = self.origin
        return affine


def ellipsoid(
    grid: Grid,
    centre: tuple[float, float, float],
    semi_axes: tuple[float, float, float],
    rng: np.random.Generator | None = None,
    wobble: float = 0.0,
    yaw_deg: float = 0.0,
) -> np.ndarray:
    """Boolean solid: an ellipsoid rotated by `yaw_deg` about z, whose radius varies smoothly with direction by up to
    ±`wobble` (three random low-frequency waves), so every organ gets its own plausible outline."""
    angle = np.deg2rad(yaw_deg)
    dx, dy, dz = grid.x - centre[0], grid.y - centre[1], grid.z - centre[2]
    u = (np.cos(angle) * dx + np.sin(angle) * dy) / semi_axes[0]
    v = (-np.sin(angle) * dx + np.cos(angle) * dy) / semi_axes[1]
    w = dz / semi_axes[2]
    radius = np.sqrt(u * u + v * v + w * w)
    if wobble and rng is not None:
        norm = np.maximum(radius, 1e-6)
        bumps = np.zeros_like(radius)
        for _ in range(3):
            freq = rng.normal(0.0, 2.0, 3)
            bumps += np.cos(freq[0] * u / norm + freq[1] * v / norm + freq[2] * w / norm + rng.uniform(0, 2 * np.pi))
        return radius <= 1.0 + wobble * bumps / 3.0
    return radius <= 1.0


def elliptic_cylinder(grid: Grid, centre_xy: tuple[float, float], semi_xy: tuple[float, float], z_range=None):
    """Boolean solid along z (vessels, spine, body wall), optionally limited to z_range = (low, high) mm."""
    inside = ((grid.x - centre_xy[0]) / semi_xy[0]) ** 2 + ((grid.y - centre_xy[1]) / semi_xy[1]) ** 2 <= 1.0
    if z_range is not None:
        inside &= (grid.z >= z_range[0]) & (grid.z <= z_range[1])
    return inside


def smooth_field(shape: tuple[int, ...], rng: np.random.Generator, sigma_vox: float) -> np.ndarray:
    """Zero-mean, unit-std correlated noise: texture inside organs and MR bias fields."""
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_vox, mode="wrap")
    return (field - field.mean()) / (field.std() + 1e-8)
