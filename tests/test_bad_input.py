"""Bad images get one clear error that names the problem; nothing is written next to the user's files."""

import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from causal_sam_llm.cli import main
from causal_sam_llm.errors import InvalidImageError
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.validation import check_image


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[0.0, np.nan], [1.0, 2.0]]), "1 NaN/inf values"),
        (np.array([[0.0, np.inf], [-np.inf, 2.0]]), "2 NaN/inf values"),
        (np.zeros((0, 5)), "is empty"),
        (np.full((3, 4, 4), -1024.0), r"same value \(-1024\) everywhere: nothing to segment"),
        (np.zeros((2, 3, 4, 5)), "4 dimensions .* Select one channel"),
        (np.zeros(5), "1 dimensions"),
        (np.zeros((4, 4), dtype=bool), "dtype bool"),
        (np.zeros((4, 4), dtype=complex), "dtype complex128"),
        (np.array([["a", "b"], ["c", "d"]]), "dtype <U1"),
        ([[1, 2], [3, 4]], "must be a numpy array, got list"),
    ],
)
def test_bad_arrays_are_rejected_with_the_reason(array, message):
    with pytest.raises(InvalidImageError, match=message):
        check_image(array)


def test_integer_images_are_accepted_as_float32():
    assert check_image(np.arange(16, dtype=np.int16).reshape(4, 4)).dtype == np.float32


def test_embedder_rejects_nan_before_touching_the_encoder(litemedsam, cache_dir):
    embedder = SliceEmbedder(litemedsam)
    with pytest.raises(InvalidImageError):
        embedder.embed(np.full((8, 8), np.nan), "CT")
    assert embedder.encoder_calls == 0


def test_cli_error_is_one_line_and_writes_nothing_beside_the_input(tmp_path, real_ct_slice):
    user_dir = tmp_path / "study"
    user_dir.mkdir()
    shutil.copy(real_ct_slice.path, user_dir / "slice.dcm")
    before = {p.name: p.stat().st_mtime_ns for p in user_dir.iterdir()}
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "causal_sam_llm.cli",
            "embed",
            str(user_dir / "slice.dcm"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert {p.name: p.stat().st_mtime_ns for p in user_dir.iterdir()} == before
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "causal_sam_llm.cli",
            "info",
            "--encoder",
            "sam_vit_b",
            "--checkpoint",
            str(user_dir / "missing.pth"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: checkpoint not found")
    assert "Traceback" not in bad.stderr


SHIPPED = ["--checkpoint", "ct_to_mr/lad"]  # a checkpoint that exists, as `info --shipped` names it


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["eval-tci", "--protocol", "ct_to_mr", *SHIPPED, "--json", "o.json", "--gate-band", "0"],
            "argument --gate-band: must be above 0, got 0",
        ),
        (
            ["eval-tci", "--protocol", "ct_to_mr", *SHIPPED, "--json", "o.json", "--box-margin", "-5"],
            "argument --box-margin: must be 0 or more, got -5",
        ),
        (
            ["eval-tci", "--protocol", "ct_to_mr", *SHIPPED, "--json", "o.json", "--max-cases", "0"],
            "argument --max-cases: must be 1 or more, got 0",
        ),  # it scored every case
        (
            ["eval-smooth", "--protocol", "ct_to_mr", *SHIPPED, "--json", "o.json", "--max-cases", "0"],
            "argument --max-cases: must be 1 or more, got 0",
        ),
        (
            [
                "eval-tci",
                "--protocol",
                "ct_to_mr",
                "--checkpoint",
                "ct_to_mr/lad",
                "--json",
                "o.json",
                "--intensity-weight",
                "-1",
            ],
            "argument --intensity-weight: must be 0 or more, got -1",
        ),
        (
            ["eval", "--protocol", "ct_to_mr", "--checkpoint", "ct_to_mr/nosuch", "--json", "o.json"],
            "argument --checkpoint: no shipped checkpoint for ct_to_mr/nosuch",
        ),  # named as `info --shipped` names them; checked before any data are read
        (
            ["eval-tci", "--protocol", "ct_to_mr", "--checkpoint", "missing.pt", "--json", "o.json"],
            "argument --checkpoint: checkpoint not found: missing.pt. Give a checkpoint file, a shipped one by name",
        ),
        (["train", "--protocol", "ct_to_mr", "--epochs", "0"], "argument --epochs: must be 1 or more, got 0"),
        (["demo", "--corrections", "-1"], "argument --corrections: must be 0 or more, got -1"),
        (["replay", "s.yaml", "--simulate", "-2"], "argument --simulate: must be 0 or more, got -2"),
        (["embed", "--sample", "abdomen_ct", "--window", "nope"], "argument --window: invalid choice: 'nope'"),
        (["info", "--device", "gpu"], "argument --device: cpu, cuda or cuda:N, got 'gpu'"),
        (["cache", "info", "--cache-max-gb", "-1"], "argument --cache-max-gb: must be above 0, got -1"),
    ],
)
def test_a_count_or_amount_out_of_range_is_a_usage_error_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_cuda_on_a_machine_without_a_cuda_gpu_is_a_usage_error(monkeypatch, capsys):
    """torch's own answer is a traceback ("Found no NVIDIA driver"); this machine may have a GPU, so none is faked."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as usage:
        main(["info", "--device", "cuda"])
    assert usage.value.code == 2
    assert (
        "argument --device: cuda asked for, but this machine has no usable CUDA GPU; use cpu" in capsys.readouterr().err
    )


def test_cache_info_on_a_folder_not_made_yet_creates_nothing(tmp_path, capsys):
    assert main(["cache", "info", "--cache-dir", str(tmp_path / "none")]) == 0
    said = " ".join(capsys.readouterr().out.split())  # the console wraps long paths at its width
    assert "none yet" in said and not (tmp_path / "none").exists()
    assert "LLM system prompts stored: " in said  # named too, whether or not a prompt is stored yet


def test_the_demo_on_a_study_without_labels_says_why_it_cannot_correct_it(home_benchmark, capsys):
    assert main(["demo", "--case", "sample:abdomen_ct", "--llm", "none", "--corrections", "1"]) == 2
    out, err = capsys.readouterr()
    assert "sample:abdomen_ct has no reference labels" in err and "--labels" in err
    assert "segment everything" not in out  # said before segmenting, not after


def test_an_llm_model_file_that_is_missing_or_no_gguf_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "notes.gguf").write_text("not a model")
    for path, reason in [(tmp_path / "nope.gguf", "does not exist"), (tmp_path / "notes.gguf", "is not a GGUF")]:
        assert main(["parse", "segment", "--llm-model", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}" if "GGUF" in reason else "error: LLM model file") and reason in err
        assert len(err.strip().splitlines()) == 1


def test_the_demo_on_a_study_it_cannot_load_stops_there(home_benchmark, capsys):
    assert main(["demo", "--case", "nope-0001", "--llm", "none"]) == 2
    out, err = capsys.readouterr()
    assert "error: could not load nope-0001: " in err and "segment everything" not in out


@pytest.mark.parametrize(
    ("body_part", "checkpoint", "refused"),
    [
        (
            "HEAD",
            None,
            "is a head study \\(its DICOM header says BodyPartExamined HEAD\\), which the brain tumour model",
        ),
        (
            "PANCREAS",
            "brats_cross_sequence/lad",
            "is a pancreas study \\(its DICOM header says BodyPartExamined PANCREAS\\), which the abdomen model",
        ),
        ("PANCREAS", None, None),  # the shipped sample's own value: an abdominal model takes it
        ("KNEE", None, None),  # a body part no model claims is no evidence either way
    ],
)
def test_a_dicom_study_of_anatomy_the_model_does_not_segment_is_refused_at_load(
    tmp_path, body_part, checkpoint, refused
):
    """A head CT given to the abdominal model would get a "liver": its header's BodyPartExamined says otherwise."""
    import pydicom

    from causal_sam_llm.datasets.sample_images import sample_path
    from causal_sam_llm.segmentation.checkpoint_io import shipped_checkpoint
    from causal_sam_llm.tools.workbench import StudyMismatchError, Workbench

    source = pydicom.dcmread(sample_path("abdomen_ct"))
    source.BodyPartExamined = body_part
    study = tmp_path / "slice.dcm"
    source.save_as(study)
    model = shipped_checkpoint(*checkpoint.split("/")) if checkpoint else None
    bench = Workbench.create(tmp_path / "session", model)
    if refused is None:
        assert bench.load(str(study)).modality == "CT"
        return
    with pytest.raises(StudyMismatchError, match=refused):
        bench.load(str(study))
    assert bench.case is None and bench.history is None  # nothing loaded, nothing to undo


def test_a_benchmark_study_of_other_anatomy_is_refused_at_load(tmp_path, home_benchmark):
    from causal_sam_llm.segmentation.checkpoint_io import shipped_checkpoint
    from causal_sam_llm.tools.workbench import StudyMismatchError, Workbench

    bench = Workbench.create(tmp_path / "session", shipped_checkpoint("brats_cross_sequence", "lad"))
    with pytest.raises(StudyMismatchError, match="is an abdomen study, but this model segments whole_tumour"):
        bench.load("benchmark:mr_t2-0001")
    assert bench.case is None


def test_a_file_given_as_a_folder_to_write_into_is_refused_before_any_model_loads(tmp_path, capsys):
    """`chat --session` and `replay --report` name folders; a file there is a usage error naming it, and the Python
    API's session folder likewise (not the operating system's errno, and not after the model has loaded)."""
    from causal_sam_llm.agent.assistant import Assistant
    from causal_sam_llm.tools.session_lock import SessionFolderError

    a_file = tmp_path / "scan.nii.gz"
    a_file.write_bytes(b"not a folder")
    for argv in (["chat", "--session", str(a_file)], ["replay", "s.yaml", "--report", str(a_file)]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2 and f"{a_file} is a file; give a folder" in capsys.readouterr().err
    with pytest.raises(SessionFolderError, match="is a file, not a session folder"):
        Assistant(a_file, llm="none")
    with pytest.raises(SessionFolderError, match=f"cannot use {a_file / 'session'} as a session folder"):
        Assistant(a_file / "session", llm="none")
    assert a_file.read_bytes() == b"not a folder"
