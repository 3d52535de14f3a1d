"""A frozen SAM-family model: image encoder + prompt encoder + mask decoder, with the identity of its weights."""

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from causal_sam_llm.segmentation.bf16_encoder import bf16_inference_copy


@dataclass(frozen=True)
class EncoderSpec:
    """What a caller must know to feed an encoder: its square input side and pixel normalisation (on a 0..1 image)."""

    name: str
    input_size: int
    pixel_mean: tuple[float, float, float]
    pixel_std: tuple[float, float, float]
    description: str
    license: str


Precision = Literal["fp32", "bf16"]
PRECISIONS = ("fp32", "bf16", "auto")


def native_bf16(device: str | torch.device) -> bool:
    """True where bf16 matrix maths runs in hardware on the CPU (AVX512-BF16 or AMX); elsewhere bf16 is emulated and
    slower than fp32."""
    if torch.device(device).type != "cpu":
        return False
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_precision(requested: str, device: str | torch.device) -> Precision:
    """ "auto" → bf16 on CPUs with native bf16, fp32 otherwise; fp32/bf16 as asked."""
    if requested not in PRECISIONS:
        raise ValueError(f"unknown encoder precision {requested!r}; choose one of: {', '.join(PRECISIONS)}.")
    if requested == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return requested  # type: ignore[return-value]


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
        # channels_last: the same numbers, ~1.1–1.3× faster convolutions on CPU (README, Speed)
        self.image_encoder.to(memory_format=torch.channels_last)
        self.precision: Precision = "fp32"
        # a tuple, so the bf16 copy is not a registered submodule: parameter counts and state stay the fp32 model's
        self._bf16_encoder: tuple[nn.Module, ...] = ()
        # the mask decoder as its weights came, for box prompts (box_evidence.py): the segmenter later adds LoRA to
        # the shared one, and the full-decoder baseline fine-tunes it. A tuple: not a submodule, so not counted.
        self._promptable_decoder: tuple[nn.Module, ...] = (copy.deepcopy(sam.mask_decoder).eval(),)
        self.eval()

    @property
    def cache_name(self) -> str:
        """Names the embeddings this backbone produces: bf16 embeddings differ slightly, so they are cached apart
        (".2": since the BN-folded bf16 copy replaced autocast, whose numbers differ again)."""
        return self.spec.name if self.precision == "fp32" else f"{self.spec.name}@{self.precision}.2"

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
        normalized = normalized.contiguous(memory_format=torch.channels_last)
        if self.precision == "bf16":
            return self._bf16_image_encoder()(normalized.to(torch.bfloat16)).float().contiguous()
        return self.image_encoder(normalized).contiguous()

    def promptable_decoder(self) -> nn.Module:
        """The pretrained mask decoder, untouched by any training here, on the backbone's device."""
        decoder = self._promptable_decoder[0]
        if next(decoder.parameters()).device != self.device:
            self._promptable_decoder = (decoder.to(self.device),)
        return self._promptable_decoder[0]

    def _bf16_image_encoder(self) -> nn.Module:
        """Built on first use, on the device the backbone is on then."""
        if not self._bf16_encoder or next(self._bf16_encoder[0].parameters()).device != self.device:
            self._bf16_encoder = (bf16_inference_copy(self.image_encoder),)
        return self._bf16_encoder[0]
