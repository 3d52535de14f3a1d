"""A frozen SAM-family model: image encoder + prompt encoder + mask decoder, with the identity of its weights."""

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class EncoderSpec:
    """What a caller must know to feed an encoder: its square input side and pixel normalisation (on a 0..1 image)."""

    name: str
    input_size: int
    pixel_mean: tuple[float, float, float]
    pixel_std: tuple[float, float, float]
    description: str
    license: str


class FrozenSamBackbone(nn.Module):
    """SAM-family parts with every parameter frozen. `encode` maps a 0..1 RGB batch to 256×64×64 embeddings."""

    def __init__(self, sam: nn.Module, spec: EncoderSpec, weights_path: Path, weights_sha256: str) -> None:
        super().__init__()
        self.image_encoder = sam.image_encoder
        self.prompt_encoder = sam.prompt_encoder
        self.mask_decoder = sam.mask_decoder
        self.spec = spec
        self.weights_path = weights_path
        self.weights_sha256 = weights_sha256
        self.register_buffer("pixel_mean", torch.tensor(spec.pixel_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(spec.pixel_std).view(1, 3, 1, 1), persistent=False)
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "FrozenSamBackbone":
        # Frozen means frozen: norm statistics and dropout never switch to training behaviour.
        return super().train(False)

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    @torch.inference_mode()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """images: (B, 3, S, S) float in 0..1, S = spec.input_size. Returns (B, 256, 64, 64) float32."""
        normalized = (images.to(self.device, torch.float32) - self.pixel_mean) / self.pixel_std
        return self.image_encoder(normalized).float()
