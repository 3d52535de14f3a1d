"""The benchmark report: parts' sections joined in a fixed order, GPU runs of the TCI part kept apart from CPU ones."""

from pathlib import Path

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
