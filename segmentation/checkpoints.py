"""Reading weights files: sha256 identity and strict state-dict loading with errors a user can act on."""

import hashlib
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from causal_sam_llm.errors import CheckpointError


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, memoised per (path, size, mtime) because weights are hashed on every build."""
    stat = path.stat()
    return _sha256_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load a checkpoint's tensors (never arbitrary pickled code) and unwrap the usual `model`/`state_dict` nesting."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}. Pass the path of an existing .pth file.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle's bare KeyError (e.g. "101" for a text file) means nothing without its type
        raise CheckpointError(
            f"cannot read checkpoint {path}: not a file torch.save wrote ({type(exc).__name__}: {exc}). It must be a "
            "PyTorch state dict of encoder weights."
        ) from exc
    if isinstance(payload, dict) and "encoder_sha256" in payload and "state" in payload:
        raise CheckpointError(
            f"{path} is a segmenter trained by `causal-sam-llm train`, not encoder weights: its record is beside it "
            "(train.json), and `eval`, `train-tci` or `chat --segmenter` take it."
        )
    for key in ("model", "state_dict"):
        if isinstance(payload, dict) and isinstance(payload.get(key), dict):
            payload = payload[key]
    if not isinstance(payload, dict) or not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise CheckpointError(f"checkpoint {path} does not hold a state dict of tensors.")
    return payload


def load_strict(module: nn.Module, state: dict[str, torch.Tensor], source: Path, architecture: str) -> None:
    """Load every key exactly; a mismatch names the first offending keys and the likely cause."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})")
        if wrong_shape:
            parts.append(f"{len(wrong_shape)} with another shape (e.g. {wrong_shape[:3]})")
        raise CheckpointError(
            f"checkpoint {source} does not fit the {architecture} architecture: {'; '.join(parts)}. "
            f"Check that the file is a {architecture} checkpoint, or choose the matching --encoder."
        )
    module.load_state_dict(state, strict=True)
