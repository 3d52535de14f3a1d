"""FiLM on the decoder's upscaled mask features: per organ, f' = f + g ⊙ ((γ − 1) ⊙ f + β), with γ, β per channel
(32) and a spatial gate g ∈ [0, 1] (256×256). γ = 1, β = 0 (or g = 0) is the identity. TCI sets these values."""

from dataclasses import dataclass

import torch


@dataclass
class OrganFilm:
    """Modulation of one organ's mask features. gamma, beta: (32,) or (B, 32); gate: (B, 1, H, W) or None (= 1)."""

    gamma: torch.Tensor
    beta: torch.Tensor
    gate: torch.Tensor | None = None


def modulate(features: torch.Tensor, film: OrganFilm) -> torch.Tensor:
    """features: (B, 32, H, W) → modulated features of the same shape."""
    gamma = film.gamma.reshape(-1, features.shape[1], 1, 1)
    beta = film.beta.reshape(-1, features.shape[1], 1, 1)
    change = (gamma - 1) * features + beta
    return features + (change if film.gate is None else film.gate * change)
