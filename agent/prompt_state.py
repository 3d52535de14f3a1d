"""The LLM's evaluated system prompt, kept on disk between processes.

The system prompt and its examples are ~2,300 tokens; evaluating them takes about a minute on 2 CPU cores, and every
new process (`chat`, `replay`, `parse`, an app embedding the agent) paid it before its first answer. Their KV state is
~67 MB and reads back in well under a second, so it is stored once under the app home and restored by each new
process whose model, llama.cpp build, context settings and prompt tokens are the same (all part of the file's name;
the tokens are stored in the file too and compared). Only the fixed prompt is stored, never a user's command.

A file that cannot be read or loaded is removed, one holding other tokens is left alone, and either way the prompt
is evaluated again: the store only changes how long the first answer takes, never the answer."""

import contextlib
import ctypes
import hashlib
import os
import zipfile
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

from causal_sam_llm.paths import prompt_state_dir

SEQUENCE = 0  # the decoder keeps everything in sequence 0
KEEP = 4  # stored prompts kept (one per class list and model in use); older ones are removed


def state_path(llama: Any, model_path: str, tokens: list[int]) -> Path:
    """The file for these prompt tokens on this model file, llama.cpp build, CPU and context settings."""
    stat = Path(model_path).stat()
    identity = [
        llama_cpp.__version__,
        llama_cpp.llama_print_system_info().decode(),  # CPU kernels round differently: their KV may differ
        str(Path(model_path).resolve()),
        str(stat.st_size),
        str(stat.st_mtime_ns),
        str(llama.n_ctx()),
        str(llama.n_batch),
        np.asarray(tokens, dtype=np.int32).tobytes().hex(),
    ]
    digest = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:24]
    return prompt_state_dir() / f"{digest}.npz"


def restore_prompt_state(llama: Any, path: Path, tokens: list[int]) -> bool:
    """Load the stored KV state of `tokens` into the model; False (model untouched or emptied) when there is none
    that fits."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            stored_tokens, state = stored["tokens"], stored["state"]
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return False
    if stored_tokens.tolist() != list(tokens):
        return False
    state = np.ascontiguousarray(state, dtype=np.uint8)
    buffer = (ctypes.c_uint8 * state.size).from_buffer(state)
    _forget_all(llama)
    if llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, buffer, state.size, SEQUENCE) != state.size:
        _forget_all(llama)  # a partly written sequence must not be mistaken for the prompt
        path.unlink(missing_ok=True)
        return False
    llama.input_ids[: len(tokens)] = tokens
    llama.n_tokens = len(tokens)
    os.utime(path)  # most recently used: kept longest
    return True


def store_prompt_state(llama: Any, path: Path, tokens: list[int]) -> bool:
    """Write the model's KV state, which must hold exactly `tokens`, to `path` (atomically), and prune old files.
    False when it cannot be written (a full disk, a read-only home): the next process evaluates the prompt again."""
    if llama.n_tokens != len(tokens) or llama.input_ids[: len(tokens)].tolist() != list(tokens):
        raise ValueError("internal: the model's KV cache does not hold exactly the prompt to store")
    size = llama_cpp.llama_state_seq_get_size(llama._ctx.ctx, SEQUENCE)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(llama._ctx.ctx, buffer, size, SEQUENCE)
    partial = path.with_name(f"{path.stem}.part{os.getpid()}.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(partial, tokens=np.asarray(tokens, dtype=np.int32), state=np.frombuffer(buffer, np.uint8, written))
        os.replace(partial, path)
        _prune(path.parent)
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):  # nothing was written where the folder could not be made
            partial.unlink(missing_ok=True)
    return True


def _forget_all(llama: Any) -> None:
    llama._ctx.kv_cache_seq_rm(-1, 0, -1)
    llama.n_tokens = 0


def _prune(folder: Path) -> None:
    stored = sorted(
        (p for p in folder.glob("*.npz") if ".part" not in p.name), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in stored[KEEP:]:
        old.unlink(missing_ok=True)
