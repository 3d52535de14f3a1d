"""Trained checkpoints hold only the trained part of a segmenter, with what is needed to rebuild and check it:
encoder name and weights sha256, classes, label set, method, and the command that produced it."""

import functools
import importlib.resources
import os
import tempfile
from pathlib import Path

import torch

from causal_sam_llm.errors import CheckpointError
from causal_sam_llm.paths import as_ordinary_file
from causal_sam_llm.segmentation.encoder_registry import build_backbone
from causal_sam_llm.segmentation.segmenter import PromptFreeSegmenter, build_segmenter
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator
from causal_sam_llm.segmentation.tci_ranker import PlacementRanker

FORMAT = "causal-sam-llm/segmenter-v1"


def save_checkpoint(path: Path, segmenter: PromptFreeSegmenter, metadata: dict) -> None:
    payload = {
        "format": FORMAT,
        "encoder": segmenter.backbone.spec.name,
        "encoder_sha256": segmenter.backbone.weights_sha256,
        "classes": segmenter.classes,
        **metadata,
        "state": segmenter.trained_state(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    as_ordinary_file(handle)
    os.close(handle)
    torch.save(payload, tmp)
    os.replace(tmp, path)


def add_to_checkpoint(path: Path, entries: dict) -> None:
    """Add entries (e.g. the TCI generator) to an existing checkpoint, atomically."""
    payload = read_checkpoint(path)
    payload.update(entries)
    handle, tmp = tempfile.mkstemp(dir=Path(path).parent, suffix=".tmp")
    as_ordinary_file(handle)
    os.close(handle)
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict:
    if not Path(path).is_file():
        raise CheckpointError(f"checkpoint not found: {path}. Train one with `causal-sam-llm train`.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"cannot read checkpoint {path}: not a file torch.save wrote ({type(exc).__name__}: {exc}). "
            "Give a checkpoint written by `causal-sam-llm train`."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a causal-sam-llm segmenter checkpoint (format {FORMAT}).")
    return payload


def load_segmenter(
    path: Path,
    device: str = "cpu",
    encoder_checkpoint: Path | None = None,
    expected_classes: list[str] | None = None,
    precision: str = "fp32",
) -> tuple[PromptFreeSegmenter, dict]:
    """Rebuild the segmenter a checkpoint was trained as; refuse one trained for another encoder or label set."""
    payload = read_checkpoint(path)
    backbone = build_backbone(
        payload["encoder"], encoder_checkpoint or _recorded_weights(path, payload), device, precision
    )
    if backbone.weights_sha256 != payload["encoder_sha256"]:
        raise CheckpointError(
            f"{path} was trained on {payload['encoder']} weights {payload['encoder_sha256'][:12]}…, but the loaded "
            f"weights are {backbone.weights_sha256[:12]}…; use the encoder checkpoint it was trained with."
        )
    if expected_classes is not None and list(expected_classes) != list(payload["classes"]):
        raise CheckpointError(
            f"{path} segments {payload['classes']}, but the protocol asks for {expected_classes}: "
            "a checkpoint for another label set."
        )
    segmenter = build_segmenter(backbone, payload["classes"], payload["method"])
    trainable = {n for n, p in segmenter.named_parameters() if p.requires_grad}
    state = payload["state"]
    if set(state) != trainable:
        raise CheckpointError(f"{path} does not match the {payload['method']} segmenter's trained parameters.")
    segmenter.load_state_dict(state, strict=False)
    return segmenter.to(device).eval(), {k: v for k, v in payload.items() if k != "state"}


def _recorded_weights(path: Path, payload: dict) -> Path | None:
    """The encoder weights file training was given (None: the encoder's package ships its weights)."""
    recorded = payload.get("encoder_weights")
    if recorded is None:
        return None
    if not Path(recorded).is_file():
        raise CheckpointError(
            f"{path} was trained on the {payload['encoder']} encoder with the weights {recorded}, which is no longer "
            "there: put that file back (the same file: its sha256 is checked)."
        )
    return Path(recorded)


def load_generator(path: Path, organs: int) -> InterventionFilmGenerator:
    payload = read_checkpoint(path)
    if "tci" not in payload:
        raise CheckpointError(f"{path} has no TCI response yet; run `causal-sam-llm train-tci --checkpoint {path}`.")
    generator = InterventionFilmGenerator(organs)
    generator.load_state_dict(payload["tci"])
    if "tci_ranker" in payload:  # `train-tci-ranker` has run on this checkpoint
        generator.ranker = PlacementRanker()
        generator.ranker.load_state_dict(payload["tci_ranker"])
    return generator.eval()


def shipped_checkpoints() -> list[Path]:
    """Every checkpoint shipped inside the package, as <protocol>/<method>.pt, sorted."""
    return sorted(Path(str(importlib.resources.files("causal_sam_llm.trained"))).glob("*/*.pt"))


def shipped_checkpoint(protocol: str, method: str) -> Path:
    """A checkpoint trained by `make results` and shipped inside the package (causal_sam_llm/trained/)."""
    path = Path(str(importlib.resources.files("causal_sam_llm.trained").joinpath(protocol, f"{method}.pt")))
    if not path.is_file():
        raise CheckpointError(f"no shipped checkpoint for {protocol}/{method}: {path} is missing.")
    return path


def checkpoint_path(name: str | Path | None) -> Path | None:
    """A checkpoint named as the command line and session files name it: `protocol/method` (no suffix) is a shipped
    checkpoint (e.g. `brats_cross_sequence/lad`); anything else is a path."""
    if name is None:
        return None
    protocol, _, method = str(name).partition("/")
    if method and "/" not in method and not Path(str(name)).suffix and not Path(str(name)).exists():
        return shipped_checkpoint(protocol, method)
    return Path(name)


def shipped_model_for(organ: str) -> str | None:
    """The shipped LAD checkpoint, as `protocol/method`, that segments `organ` (the default abdominal one first);
    None when none does."""
    for path in sorted(shipped_checkpoints(), key=lambda p: (p.parent.name != "ct_to_mr", p.parent.name)):
        if path.stem == "lad" and organ in _shipped_classes(path):
            return f"{path.parent.name}/{path.stem}"
    return None


@functools.cache
def _shipped_classes(path: Path) -> tuple[str, ...]:
    return tuple(read_checkpoint(path)["classes"])
