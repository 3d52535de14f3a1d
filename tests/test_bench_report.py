"""The benchmark report: parts' sections joined in a fixed order, GPU runs of the TCI part kept apart from CPU ones,
each naming the command it was run with; and the study the pooled grid's accuracy bench makes."""

import json
from pathlib import Path

import numpy as np
import pytest

from causal_sam_llm.bench.clinician_amounts import requested_mm
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


def test_the_placement_bench_counts_where_each_ranking_puts_the_same_amount():
    """One slice, a square organ to grow by 8 voxels into the ring around it: the reference adds them on the right,
    the decoder's logits favour the left. Ranked by the decoder, all 8 land wrong; ranked by the reference, all 8
    right; either way exactly the amount moves."""
    from causal_sam_llm.bench.tci_placement import VARIANTS, placement_counts
    from causal_sam_llm.segmentation.tci_placement import PlacementEvidence

    old = np.zeros((1, 12, 12), np.float32)
    old[0, 3:9, 3:9] = 0.9
    ring = np.zeros(old.shape, np.float32)
    ring[0, 2:10, 2:10] = 1.0
    ring[old > 0.5] = 0.0
    reference = old > 0.5
    reference[0, 3:7, 9] = reference[0, 5:9, 9] = True  # 6 voxels on the right …
    reference[0, 2, 8:10] = True  # … and 2 at its top right corner
    rows, cols = np.mgrid[0:12, 0:12]
    decoder = (6.0 - cols - 0.01 * rows)[None].astype(np.float32)  # most organ-like: the ring's left column
    zeros = np.zeros(old.shape, np.float32)
    terms = PlacementEvidence(np.array([0]), decoder, zeros, zeros, ring, old, 8)
    by_decoder = VARIANTS["FiLM-modulated decoder logits alone"]
    by_reference = VARIANTS["the reference (wrong voxels first): the most any ranking can do"]
    assert placement_counts(terms, old, reference, "expand", *by_decoder) == (8, 0)
    assert placement_counts(terms, old, reference, "expand", *by_reference) == (8, 8)
    # no intensity evidence at all (a region too small to fit it): the ratio ties everywhere, and the row still
    # moves the amount, ordered by the decoder, rather than the whole ring
    by_intensity = VARIANTS["intensity log-likelihood ratio alone (ties ordered by the decoder)"]
    assert placement_counts(terms, old, reference, "expand", *by_intensity) == (8, 0)


def test_each_protocol_s_placement_run_keeps_its_own_report():
    from causal_sam_llm.bench.tci_placement import default_report

    assert default_report("ct_to_mr", "test") == Path("bench/results/tci_placement_test.md")
    assert default_report("ct_to_mr", "train") == Path("bench/results/tci_placement_train.md")
    assert default_report("brats_cross_sequence", "test") == Path(
        "bench/results/tci_placement_brats_cross_sequence_test.md"
    )


def test_a_report_names_the_command_it_was_run_with(tmp_path: Path):
    """A held-out command set scored with `--commands FILE` must not be reported as the default command."""
    from causal_sam_llm.bench.report import command_line, write_section

    command = command_line("causal_sam_llm.bench.llm", ["--commands", "/tmp/held out.yaml", "--out", "x.md"])
    assert command == "python -m causal_sam_llm.bench.llm --commands '/tmp/held out.yaml'"
    assert command_line("causal_sam_llm.bench.memory", ["--out=m.md"]) == "python -m causal_sam_llm.bench.memory"
    write_section(tmp_path / "llm.md", "LLM command parsing", command, "body")
    assert f"Command: `{command}`" in (tmp_path / "llm.md").read_text()


def test_the_dialogue_bench_times_the_turns_the_model_answers_with_their_history(llm_parser):
    """Turn numbers count every scripted turn; the one the guard rails answer without the model is not timed. The
    shipped sessions are grouped by the classes of the model each loads (the brain's apart)."""
    from causal_sam_llm.bench import llm_dialogue
    from causal_sam_llm.eval_sessions.session_file import CorrectionSession

    turns = [{"say": "segment everything"}, {"say": "make the pancreas bigger"}, {"say": "grow the liver a bit"}]
    session = CorrectionSession(study="benchmark:mr_t2-0001", turns=turns)
    assert [number for number, _ in llm_dialogue._dialogue(llm_parser, session)] == [1, 3]
    assert [number for number, _ in llm_dialogue._alone(llm_parser, session)] == [1, 3]
    groups = llm_dialogue._by_classes(sorted(llm_dialogue.SESSIONS.glob("*.yaml")))
    assert sorted(len(sessions) for sessions in groups.values()) == [1, 6]
    assert ("whole_tumour", "tumour_core", "enhancing_tumour") in groups


def test_the_clinician_amounts_bench_reads_each_grow_or_shrinks_reach_with_the_agents_reader(tmp_path: Path):
    rounds = [
        {"strategy": "learned", "command": "expand the spleen by 5 mm"},
        {"strategy": "learned", "command": "tighten the kidney on the left overall a touch"},
        {"strategy": "learned", "command": "the liver is cut short, grow it a little"},
        {"strategy": "learned", "command": "smooth the liver"},  # no amount: left out
        {"strategy": "learned", "command": ""},  # round 0
        {"strategy": "blind", "command": "expand the liver by 9 mm"},  # another strategy's
    ]
    path = tmp_path / "tci.json"
    path.write_text(json.dumps({"rounds": rounds}))
    assert requested_mm([path]) == [5.0, 3.0, 7.5]
    assert requested_mm([path], "blind") == [9.0]
