"""The benchmark report: parts' sections joined in a fixed order, GPU runs of the TCI part kept apart from CPU ones;
and the study the pooled grid's accuracy bench makes."""

from pathlib import Path

import numpy as np
import pytest

from causal_sam_llm.commands import bench


def test_gpu_tci_figures_go_beside_the_cpu_ones_and_both_are_collected(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bench, "default_device", lambda: "cpu")
    assert bench._section("tci") == "tci"
    monkeypatch.setattr(bench, "default_device", lambda: "cuda")
    assert bench._section("tci") == "tci_gpu"
    assert bench._section("encoder") == "encoder"  # only the TCI part runs on the GPU
    folder = tmp_path / "results"
    folder.mkdir()
    for name in ("memory", "tci_gpu", "tci", "encoder"):
        (folder / f"{name}.md").write_text(f"## {name}\n")
    combined = bench.collect(folder).read_text()
    headings = [line for line in combined.splitlines() if line.startswith("## ")]
    assert headings == ["## encoder", "## tci", "## tci_gpu", "## memory"]


def test_the_pooled_grid_bench_resamples_a_case_in_plane_keeping_its_anatomy(home_benchmark):
    from causal_sam_llm.bench.tci_grid import resampled
    from causal_sam_llm.datasets.study import open_study

    case = open_study("benchmark:mr_t2-0001")
    fine = resampled(case, 96)
    assert fine.axial_image().shape == (case.axial_image().shape[0], 96, 96)
    assert fine.axial_labels().shape == fine.axial_image().shape
    assert np.prod(fine.spacing_mm) * fine.image.size == pytest.approx(np.prod(case.spacing_mm) * case.image.size)
    for value in np.unique(case.labels)[1:]:  # each organ keeps its volume (nearest-neighbour labels)
        volume, after = (np.prod(c.spacing_mm) * (c.labels == value).sum() for c in (case, fine))
        assert after == pytest.approx(volume, rel=0.05)


def test_the_tool_latency_bench_writes_a_study_the_tools_read_back_as_written(home_benchmark, tmp_path):
    from causal_sam_llm.bench.tool_latency import write_study
    from causal_sam_llm.datasets.study import open_study

    path, volume = write_study(tmp_path, slices=6, size=64)
    assert volume.shape == (6, 64, 64)
    np.testing.assert_allclose(open_study(str(path)).axial_image(), volume, rtol=1e-6)
