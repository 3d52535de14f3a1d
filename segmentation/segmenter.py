"""`PromptFreeSegmenter`: a frozen SAM-family backbone plus a small trained decoder side that segments every organ
of a label set from the image embedding alone (no clicks or boxes).

Per slice, one pass of SAM's two-way transformer takes the (adapted) embedding and the organs' learned prompt tokens;
each organ's output token, through SAM's frozen hypernetwork plus a learned residual, weighs the 32 upscaled mask
features (optionally FiLM-modulated by TCI) into that organ's logits at the encoder input resolution.
"""

from typing import Literal

import torch
from torch import nn

from causal_sam_llm.segmentation.adapters import EmbeddingAdapter, OrganHeads, add_lora_to_attention
from causal_sam_llm.segmentation.backbone import FrozenSamBackbone
from causal_sam_llm.segmentation.film import OrganFilm, modulated_logits

Method = Literal["lad", "erm", "aug", "full_decoder"]


class PromptFreeSegmenter(nn.Module):
    def __init__(self, backbone: FrozenSamBackbone, classes: list[str], full_decoder: bool = False) -> None:
        super().__init__()
        self.backbone = backbone
        self.classes = list(classes)
        self.full_decoder = full_decoder
        self.heads = OrganHeads(len(classes))
        if full_decoder:  # the baseline: fine-tune all of SAM's mask decoder, no adapter or LoRA
            self.adapter = nn.Identity()
            backbone.mask_decoder.requires_grad_(True)
        else:
            self.adapter = EmbeddingAdapter()
            add_lora_to_attention(backbone.mask_decoder.transformer)
        self.register_buffer("image_pe", backbone.prompt_encoder.get_dense_pe().detach().clone(), persistent=False)

    def adapt(self, embeddings: torch.Tensor) -> torch.Tensor:
        """The image embedding the decoder sees (LAD's disentangled features)."""
        return self.adapter(embeddings)

    def forward(
        self, embeddings: torch.Tensor, films: dict[int, OrganFilm] | None = None, organs: list[int] | None = None
    ) -> torch.Tensor:
        """embeddings (B, 256, 64, 64) → logits (B, C, S, S); `organs` limits decoding to those class indices."""
        return self.decode(self.adapt(embeddings), films, organs)

    def decode(
        self, adapted: torch.Tensor, films: dict[int, OrganFilm] | None = None, organs: list[int] | None = None
    ) -> torch.Tensor:
        organs = list(range(len(self.classes))) if organs is None else organs
        upscaled, weights = self.decode_features(adapted, organs)
        return self.logits_from_features(upscaled, weights, organs, films)

    def decode_features(self, adapted: torch.Tensor, organs: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The expensive part, shared by all organs: (upscaled mask features (B, 32, S, S), per-organ mask weights
        (B, C', 32)). TCI caches these so a correction only re-runs `logits_from_features`. With a bf16 backbone
        (inference only) the decoder runs under bf16 autocast too: ~1.3× faster, Dice checked in README, Speed."""
        bf16 = self.backbone.precision == "bf16" and not torch.is_grad_enabled()
        with torch.autocast(adapted.device.type, torch.bfloat16, enabled=bf16):
            upscaled, weights = self._decode_features(adapted, organs)
        return upscaled.float(), weights.float()

    def _decode_features(self, adapted: torch.Tensor, organs: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        decoder = self.backbone.mask_decoder
        batch = adapted.shape[0]
        organ_tokens = self.heads.tokens[organs]  # (C', k, 256)
        count, per_organ, dim = organ_tokens.shape
        fixed = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
        tokens = torch.cat([fixed.expand(batch, -1, -1), organ_tokens.reshape(1, -1, dim).expand(batch, -1, -1)], 1)
        dense = self.backbone.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
        token_out, image_out = decoder.transformer(adapted + dense, self.image_pe, tokens)
        organ_out = token_out[:, fixed.shape[0] :].reshape(batch, count, per_organ, dim).mean(2)
        upscaled = decoder.output_upscaling(image_out.transpose(1, 2).reshape(batch, dim, *adapted.shape[-2:]))
        weights = decoder.output_hypernetworks_mlps[0](organ_out)
        weights = weights + torch.einsum("bcd,cdk->bck", organ_out, self.heads.hyper_residual[organs])
        return upscaled, weights

    def logits_from_features(
        self,
        upscaled: torch.Tensor,
        weights: torch.Tensor,
        organs: list[int],
        films: dict[int, OrganFilm] | None = None,
    ) -> torch.Tensor:
        """(B, C', S, S) logits: each organ's weights over its (optionally FiLM-modulated) mask features."""
        logits = [
            modulated_logits(upscaled, weights[:, position], (films or {}).get(organ))
            for position, organ in enumerate(organs)
        ]
        stacked = torch.stack(logits, 1).float()
        # cached features live on the CPU even when the segmenter runs on a GPU (decoded_volume)
        return stacked + self.heads.bias[organs].to(stacked.device).reshape(1, -1, 1, 1)

    def trained_state(self) -> dict[str, torch.Tensor]:
        """Only the trained part: what a checkpoint holds."""
        names = {n for n, p in self.named_parameters() if p.requires_grad}
        return {k: v.detach().cpu() for k, v in self.state_dict().items() if k in names}


def build_segmenter(backbone: FrozenSamBackbone, classes: list[str], method: Method) -> PromptFreeSegmenter:
    return PromptFreeSegmenter(backbone, classes, full_decoder=(method == "full_decoder"))
