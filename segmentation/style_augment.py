"""Random intensity restyling of 0..1 images: a smooth random transfer curve (possibly non-monotonic, so tissue order
can change as it does between CT and MR), gamma, and a smooth multiplicative field. Used for style views of the same
anatomy by the `aug` baseline and by LAD."""

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter


@dataclass(frozen=True)
class Restyle:
    knots: tuple[float, ...]  # curve values at equally spaced inputs 0..1
    gamma: float
    field_strength: float
    seed: int

    def describe(self) -> str:
        rising = np.diff(self.knots)
        shape = "inverted" if rising.sum() < 0 else "non-monotonic" if (rising < 0).any() else "remapped"
        return f"{shape} intensities (gamma {self.gamma:.1f}, shading {self.field_strength:.2f})"


def random_restyle(rng: np.random.Generator) -> Restyle:
    knots = rng.uniform(0, 1, 5)
    knots[0] = rng.uniform(0, 0.15)  # background stays dark, as on every real scanner
    return Restyle(
        tuple(float(k) for k in knots),
        float(np.exp(rng.uniform(-0.5, 0.5))),
        float(rng.uniform(0, 0.4)),
        int(rng.integers(1 << 31)),
    )


def apply_restyle(unit: np.ndarray, restyle: Restyle) -> np.ndarray:
    """(slices, rows, cols) 0..1 → restyled 0..1 image of the same anatomy."""
    grid = np.linspace(0, 1, len(restyle.knots))
    curved = np.interp(unit**restyle.gamma, grid, restyle.knots)
    rng = np.random.default_rng(restyle.seed)
    field = gaussian_filter(rng.standard_normal(unit.shape[1:]), sigma=unit.shape[1] / 4, mode="wrap")
    field = 1 + restyle.field_strength * field / (np.abs(field).max() + 1e-8)
    low, high = np.percentile(curved, (0.5, 99.5))
    return np.clip((curved * field[None] - low) / max(high - low, 1e-6), 0, 1).astype(np.float32)
