"""Where the package keeps its own files. Never next to the user's data."""

import os
from pathlib import Path

HOME_ENV = "CAUSAL_SAM_LLM_HOME"


def app_home() -> Path:
    """Root folder for caches and sessions: `$CAUSAL_SAM_LLM_HOME`, else `~/.cache/causal-sam-llm`."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "causal-sam-llm"


def embedding_cache_dir() -> Path:
    return app_home() / "embeddings"
