"""Small trainable pieces added to the frozen SAM decoder side: a residual adapter on the image embedding, LoRA on
the decoder's attention projections, and per-organ prompt tokens and mask heads."""

import math

import torch
from torch import nn


class EmbeddingAdapter(nn.Module):
    """x + up(dwconv(down(x))): a bottleneck on the 256×64×64 image embedding. The last layer starts at zero, so the
    untrained adapter is the identity and training starts from the pretrained decoder's behaviour."""

    def __init__(self, channels: int = 256, hidden: int = 64) -> None:
        super().__init__()
        self.down = nn.Conv2d(channels, hidden, 1)
        self.mix = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.up = nn.Conv2d(hidden, channels, 1)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return embedding + self.up(nn.functional.gelu(self.mix(nn.functional.gelu(self.down(embedding)))))


class LoRALinear(nn.Module):
    """A frozen Linear plus a trainable low-rank update: y = W x + (alpha / r) · B A x, with B = 0 at start."""

    def __init__(self, base: nn.Linear, rank: int = 4, alpha: float = 8.0) -> None:
        super().__init__()
        self.base = base
        self.lora_a = nn.Linear(base.in_features, rank, bias=False)
        self.lora_b = nn.Linear(rank, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_a.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_b.weight)
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * self.lora_b(self.lora_a(x))


def add_lora_to_attention(module: nn.Module, rank: int = 4) -> int:
    """Wrap q_proj and v_proj of every SAM `Attention` under `module`; returns how many were wrapped."""
    wrapped = 0
    for child in list(module.modules()):
        for name in ("q_proj", "v_proj"):
            layer = getattr(child, name, None)
            if isinstance(layer, nn.Linear):
                setattr(child, name, LoRALinear(layer, rank))
                wrapped += 1
    return wrapped


class OrganHeads(nn.Module):
    """Per organ: `tokens` learned prompt tokens fed to the decoder, and a residual on the frozen hypernetwork that
    turns the organ's output token into 32 mask-feature weights (plus a logit bias)."""

    def __init__(self, organs: int, tokens: int = 2, dim: int = 256, mask_channels: int = 32) -> None:
        super().__init__()
        self.tokens = nn.Parameter(torch.randn(organs, tokens, dim) * 0.02)
        self.hyper_residual = nn.Parameter(torch.zeros(organs, dim, mask_channels))
        self.bias = nn.Parameter(torch.zeros(organs))

    @property
    def organs(self) -> int:
        return self.tokens.shape[0]
