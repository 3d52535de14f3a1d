"""`info` and `cache` as a user runs them."""

import re

from causal_sam_llm.cli import main


def test_info_prints_encoder_sha256_and_parameter_counts(capsys):
    assert main(["info", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "litemedsam" in out
    unfolded = re.sub(r"[\s│]", "", out)  # the table folds the long hash over two lines
    assert "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76" in unfolded
    assert "9,791,300 frozen" in out
    assert "92,100 (adapter" in out
    assert "0.93% (budget: under 8%)" in out
    assert "cpu" in out


def test_cache_info_and_clear(tmp_path, capsys):
    import numpy as np

    from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache

    EmbeddingCache(tmp_path).put("aa" * 32, np.zeros((2, 2), np.float16))
    assert main(["cache", "info", "--cache-dir", str(tmp_path)]) == 0
    assert "entries: 1" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache-dir", str(tmp_path)]) == 0
    assert "removed 1 embeddings" in capsys.readouterr().out
    assert EmbeddingCache(tmp_path).entries() == []
