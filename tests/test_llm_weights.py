"""Joining the LLM's weights from their chunk packages (agent/llm_weights.py), on three small chunks in the place of
the 22 packages' 1.1 GB: the same code joins, checks and reports."""

import hashlib

import pytest

from causal_sam_llm.agent import llm_weights


@pytest.fixture
def small_chunks(tmp_path, monkeypatch) -> bytes:
    parts = [bytes([number]) * (1000 + number) for number in range(3)]
    paths = []
    for number, part in enumerate(parts):
        path = tmp_path / f"part{number:02d}.bin"
        path.write_bytes(part)
        paths.append(path)
    joined = b"".join(parts)
    monkeypatch.setattr(llm_weights, "chunk_paths", lambda: paths)
    monkeypatch.setattr(llm_weights, "SIZE", len(joined))
    monkeypatch.setattr(llm_weights, "SHA256", hashlib.sha256(joined).hexdigest())
    monkeypatch.setattr(llm_weights, "app_home", lambda: tmp_path / "home")
    return joined


def test_joining_the_weights_shows_its_progress_on_stderr_and_keeps_stdout_clean(small_chunks, capfd):
    """`causal-sam-llm parse --json` writes one call per line on stdout; on a first run it also joins the weights,
    whose progress bar had gone to stdout before the calls (found by running its test alone)."""
    path = llm_weights.default_model_path()
    assert path.read_bytes() == small_chunks
    out, err = capfd.readouterr()
    assert out == "" and "joining LLM weights" in err
    assert llm_weights.default_model_path() == path and capfd.readouterr() == ("", "")  # joined once


def test_a_damaged_chunk_is_refused_and_leaves_no_file(small_chunks, monkeypatch, tmp_path):
    monkeypatch.setattr(llm_weights, "SHA256", "0" * 64)
    with pytest.raises(llm_weights.ModelWeightsError, match="damaged chunk package"):
        llm_weights.default_model_path(progress=False)
    assert not list((tmp_path / "home" / "llm").iterdir())
