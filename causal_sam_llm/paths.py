"""Where the package keeps its own files. Never next to the user's data."""

import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

HOME_ENV = "CAUSAL_SAM_LLM_HOME"
BENCHMARK_ENV = "CAUSAL_SAM_LLM_BENCHMARK"  # a built-in benchmark made elsewhere (`data make-benchmark --out DIR`)


def _process_umask() -> int:
    mask = os.umask(0o022)  # the umask can only be read by setting it: put straight back
    os.umask(mask)
    return mask


UMASK = _process_umask()  # read once, at import, before any thread of ours could create a file meanwhile


def as_ordinary_file(handle: int) -> None:
    """Give a temporary file from `tempfile.mkstemp` (always 0600) the mode `open()` would have: renamed into place,
    a session's study.json or an export's provenance is then as readable to a colleague as the mask beside it."""
    os.fchmod(handle, 0o666 & ~UMASK)


def app_home() -> Path:
    """Root folder for caches and sessions: `$CAUSAL_SAM_LLM_HOME`, else `~/.cache/causal-sam-llm`."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "causal-sam-llm"


def claim_folder(parent: Path, names: Iterable[str]) -> Path:
    """The first of `names` not yet under `parent`, created atomically (mkdir), so two claimants in the same moment
    never share one and nothing earlier is reused."""
    parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            (parent / name).mkdir()
        except FileExistsError:
            continue
        return parent / name
    raise FileExistsError(f"every candidate folder name under {parent} is taken")


def numbered(base: str) -> Iterator[str]:
    """base, base-2, base-3, …"""
    yield base
    for count in itertools.count(2):
        yield f"{base}-{count}"


def embedding_cache_dir() -> Path:
    return app_home() / "embeddings"


def prompt_state_dir() -> Path:
    """The LLM's stored system prompts (agent/prompt_state.py)."""
    return app_home() / "llm" / "prompt-state"
