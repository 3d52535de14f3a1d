"""Shared fixtures: real backbones built once per run, and an app home in a temporary folder."""

import os
import tempfile
from pathlib import Path

import pytest

# Everything the package writes during tests goes to a throwaway home, never to ~/.cache.
os.environ.setdefault("CAUSAL_SAM_LLM_HOME", tempfile.mkdtemp(prefix="csl-test-home-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def litemedsam():
    from causal_sam_llm.segmentation.encoder_registry import build_backbone

    return build_backbone("litemedsam")


@pytest.fixture(scope="session")
def real_ct_slice():
    from causal_sam_llm.datasets.dicom_slice import read_dicom_slice
    from causal_sam_llm.datasets.sample_images import sample_path

    return read_dicom_slice(sample_path("abdomen_ct"))


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
