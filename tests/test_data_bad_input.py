"""Broken data folders fail with one clear error that names the file; loading never writes into the data folder."""

import importlib.resources
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from layouts import (
    grey_slices,
    ras_affine,
    reorient_for_file,
    save_nifti,
    write_amos,
    write_brats,
    write_btcv,
    write_dicom_slice,
    write_series,
)

from causal_sam_llm.datasets.btcv import load_btcv
from causal_sam_llm.datasets.chaos import load_chaos
from causal_sam_llm.datasets.dicom_slice import read_dicom_slice
from causal_sam_llm.datasets.registry import open_dataset
from causal_sam_llm.datasets.study import open_study
from causal_sam_llm.errors import DataLayoutError


def _snapshot(root):
    return {str(p): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def _load_all(root):
    for case in open_dataset(root):
        _ = case.image, case.labels


def test_missing_label_names_the_expected_file(tmp_path):
    write_btcv(tmp_path)
    (tmp_path / "Training" / "label" / "label0002.nii.gz").unlink()
    with pytest.raises(DataLayoutError, match=r"missing label for .*img0002\.nii\.gz: expected .*label0002"):
        load_btcv(tmp_path)


def test_missing_image_for_a_label(tmp_path):
    write_btcv(tmp_path)
    (tmp_path / "Training" / "img" / "img0002.nii.gz").unlink()
    with pytest.raises(DataLayoutError, match=r"label0002\.nii\.gz has no image"):
        load_btcv(tmp_path)


def test_shape_mismatch_between_image_and_label(tmp_path):
    write_btcv(tmp_path, numbers=(1,))
    save_nifti(np.zeros((6, 5, 3), np.uint8), ras_affine(), tmp_path / "Training" / "label" / "label0001.nii.gz")
    case = load_btcv(tmp_path)[0]
    with pytest.raises(DataLayoutError, match=r"label0001\.nii\.gz has shape \(6, 5, 3\) but its image"):
        _ = case.labels


def test_affine_mismatch_between_image_and_label(tmp_path):
    write_btcv(tmp_path, numbers=(1,))
    path = tmp_path / "Training" / "label" / "label0001.nii.gz"
    label = nib.load(str(path))
    save_nifti(np.asarray(label.dataobj), ras_affine(spacing=(1.0, 1.0, 1.0)), path)
    with pytest.raises(DataLayoutError, match="different affines"):
        _ = load_btcv(tmp_path)[0].labels


def test_a_label_saved_in_another_voxel_order_over_the_same_voxels_is_read(tmp_path):
    """A label saved LPS (or with its axes swapped) beside an RAS image covers the same voxels: it had been refused
    as "saved on another grid" (a research-user trial); both are read in RAS+ order and compared there."""
    labels = write_btcv(tmp_path, numbers=(1,))
    path = tmp_path / "Training" / "label" / "label0001.nii.gz"
    for codes in ("LPS", "ASL"):
        stored, affine = reorient_for_file(labels.astype(np.uint8), ras_affine(), codes)
        save_nifti(stored, affine, path)
        assert np.array_equal(load_btcv(tmp_path)[0].original_labels, labels)


def test_unknown_label_values_are_named(tmp_path):
    write_btcv(tmp_path, numbers=(1,))
    labels = np.zeros((6, 5, 4), np.uint8)
    labels[0, 0, 0] = 20
    save_nifti(labels, ras_affine(), tmp_path / "Training" / "label" / "label0001.nii.gz")
    with pytest.raises(DataLayoutError, match=r"label0001\.nii\.gz has label values \[20\] that btcv does not define"):
        _ = load_btcv(tmp_path)[0].labels


def test_non_image_files(tmp_path):
    write_btcv(tmp_path, numbers=(1,))
    (tmp_path / "Training" / "img" / "notes.txt").write_text("hello")
    with pytest.raises(DataLayoutError, match=r"notes\.txt does not follow the BTCV naming"):
        load_btcv(tmp_path)
    (tmp_path / "Training" / "img" / "notes.txt").unlink()
    (tmp_path / "Training" / "img" / "img0001.nii.gz").write_text("not a nifti")
    with pytest.raises(DataLayoutError, match=r"img0001\.nii\.gz is not a readable NIfTI"):
        _ = load_btcv(tmp_path)[0].image


def test_empty_and_unknown_folders(tmp_path):
    with pytest.raises(DataLayoutError, match="is empty"):
        open_dataset(tmp_path)
    (tmp_path / "random.txt").write_text("x")
    with pytest.raises(DataLayoutError, match="is in no known layout"):
        open_dataset(tmp_path)
    with pytest.raises(DataLayoutError, match="data folder not found"):
        open_dataset(tmp_path / "nowhere")


def test_dicom_series_with_mixed_sizes_names_the_odd_file(tmp_path):
    patient = tmp_path / "CT" / "1"
    write_series(patient / "DICOM_anon", patient / "Ground", grey_slices([255]), {255: 1})
    write_dicom_slice(patient / "DICOM_anon" / "zz-other.dcm", np.zeros((8, 8)), (0, 0, 50), (1, 0, 0, 0, 1, 0))
    (case,) = load_chaos(tmp_path)
    with pytest.raises(DataLayoutError, match=r"zz-other\.dcm is 8×8 but .* mixes series"):
        _ = case.image


def test_non_dicom_file_in_a_series_folder(tmp_path):
    patient = tmp_path / "CT" / "1"
    write_series(patient / "DICOM_anon", patient / "Ground", grey_slices([255]), {255: 1})
    (patient / "DICOM_anon" / "readme.txt").write_text("not dicom")
    with pytest.raises(DataLayoutError, match=r"readme\.txt is not a DICOM file"):
        _ = load_chaos(tmp_path)[0].image


def test_ground_png_with_stray_grey_level(tmp_path):
    from PIL import Image

    t2 = tmp_path / "MR" / "1" / "T2SPIR"
    write_series(t2 / "DICOM_anon", t2 / "Ground", grey_slices([63]), {63: 1}, modality="MR")
    first = sorted((t2 / "Ground").iterdir())[0]
    grey = np.asarray(Image.open(first)).copy()
    grey[0, 0] = 100
    Image.fromarray(grey).save(first)
    with pytest.raises(DataLayoutError, match=r"grey levels \[100\] outside the chaos_mr label ranges"):
        _ = load_chaos(tmp_path)[0].labels


def test_t1dual_phase_folders_swapped(tmp_path):
    t1 = tmp_path / "MR" / "1" / "T1DUAL"
    for phase, echo in (("InPhase", 2.3), ("OutPhase", 4.6)):
        write_series(
            t1 / "DICOM_anon" / phase, t1 / "Ground", grey_slices([63]), {63: 1}, modality="MR", echo_time=echo
        )
    with pytest.raises(DataLayoutError, match="look swapped"):
        load_chaos(tmp_path)


def test_amos_without_its_label_list(tmp_path):
    write_amos(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": {"1": "tumour"}}))
    with pytest.raises(DataLayoutError, match="does not list the AMOS22 labels"):
        open_dataset(tmp_path)


def test_loading_never_writes_into_the_data_folder(tmp_path):
    write_btcv(tmp_path / "btcv", "LPS")
    write_amos(tmp_path / "amos")
    patient = tmp_path / "chaos" / "CT" / "1"
    write_series(patient / "DICOM_anon", patient / "Ground", grey_slices([255]), {255: 1})
    before = _snapshot(tmp_path)
    for name in ("btcv", "amos", "chaos"):
        _load_all(tmp_path / name)
    assert _snapshot(tmp_path) == before


def test_a_study_that_is_neither_nifti_nor_dicom_is_named_with_what_a_study_may_be(tmp_path):
    report = tmp_path / "report.txt"
    report.write_text("liver 1500 ml")
    with pytest.raises(DataLayoutError, match=r"report\.txt is not a DICOM file .*A study is a NIfTI file") as error:
        open_study(str(report))
    assert "force=True" not in str(error.value)  # pydicom's advice to programmers is no advice to a user


def test_embedding_a_nifti_file_as_a_dicom_slice_says_it_is_not_dicom(tmp_path):
    save_nifti(np.ones((4, 4, 3), np.float32), ras_affine(), tmp_path / "scan.nii.gz")
    with pytest.raises(DataLayoutError, match=r"scan\.nii\.gz is not a DICOM file \(it has no DICOM header\)"):
        read_dicom_slice(tmp_path / "scan.nii.gz")


def test_a_study_whose_labels_are_on_another_grid_is_refused_when_opened(tmp_path):
    """Not at the first `measure dice`, long after the clinician started correcting it."""
    image, labels = tmp_path / "scan.nii.gz", tmp_path / "scan_seg.nii.gz"
    save_nifti(np.arange(4 * 4 * 3, dtype=np.float32).reshape(4, 4, 3), ras_affine(), image)
    save_nifti(np.zeros((4, 4, 2), np.uint8), ras_affine(), labels)
    with pytest.raises(DataLayoutError, match=r"scan_seg\.nii\.gz has shape \(4, 4, 2\) but its image"):
        open_study(str(image), labels)


def test_a_dicom_seg_or_a_multi_frame_file_opened_as_a_study_says_what_it_is():
    """Both are real DICOM files the loader cannot place slice by slice: the reason is what they are, not a list of
    missing attributes. The shipped liver SEG is not offered as a study."""
    with pytest.raises(DataLayoutError, match="is a DICOM-SEG \\(masks\\), not an image"):
        open_study("sample:liver_seg")
    multi_frame = Path(str(importlib.resources.files("data_store").joinpath("data/emri_small.dcm")))
    with pytest.raises(DataLayoutError, match="is a multi-frame DICOM \\(10 frames\\)"):
        open_study(str(multi_frame))
    with pytest.raises(DataLayoutError, match=r"sample:<abdomen_ct\|abdomen_mr>\.$"):
        open_study("no/such/study.nii.gz")


@pytest.mark.parametrize(
    ("study", "says"),
    [("benchmark:mr_t2-0001", "brings its own"), ("sample:abdomen_ct", "cannot take a label file here")],
)
def test_labels_given_where_they_cannot_apply_are_refused_not_dropped(tmp_path, study, says):
    labels = tmp_path / "seg.nii.gz"
    save_nifti(np.zeros((4, 4, 2), np.uint8), ras_affine(), labels)
    with pytest.raises(DataLayoutError, match=f"reference labels are read for a NIfTI study only; .*{says}"):
        open_study(study, labels)


def test_a_split_the_layout_does_not_publish_is_refused_not_swapped_for_another(tmp_path):
    write_btcv(tmp_path / "btcv")  # Training only, as the built-in benchmark's folders
    write_brats(tmp_path / "brats")
    assert len(open_dataset(tmp_path / "btcv", "train")) == 2
    with pytest.raises(DataLayoutError, match=r"publishes Training \(train\) and Testing \(test\) only"):
        open_dataset(tmp_path / "btcv", "val")  # had listed Training's cases as a validation split
    with pytest.raises(DataLayoutError, match=r"no BTCV Testing split.*it has only Training"):
        open_dataset(tmp_path / "btcv", "test")
    with pytest.raises(DataLayoutError, match="BraTS publishes each split as its own folder"):
        open_dataset(tmp_path / "brats", "test")  # had listed the training cases


def test_a_volume_saved_with_one_time_point_loads_and_a_nan_image_is_named(tmp_path):
    """(X, Y, Z, 1) files, as many converters write one volume, had been refused; an image with NaN was refused only
    at `segment`, without the file's name (a research-user trial)."""
    from causal_sam_llm.datasets.nifti import read_volume

    ct = np.linspace(-200.0, 300.0, 8 * 9 * 5, dtype=np.float32).reshape(8, 9, 5)
    save_nifti(ct[..., None], ras_affine(), tmp_path / "one.nii.gz")
    assert read_volume(tmp_path / "one.nii.gz").array.shape == (8, 9, 5)
    save_nifti(np.stack([ct, ct], axis=-1), ras_affine(), tmp_path / "two.nii.gz")
    with pytest.raises(DataLayoutError, match=r"two\.nii\.gz has shape \(8, 9, 5, 2\); a 3-D volume is expected"):
        read_volume(tmp_path / "two.nii.gz")
    ct[2, 3, 1] = np.nan
    save_nifti(ct, ras_affine(), tmp_path / "nan.nii.gz")
    with pytest.raises(DataLayoutError, match=r"nan\.nii\.gz holds 1 NaN/inf values; replace them"):
        read_volume(tmp_path / "nan.nii.gz")


def test_data_list_check_labels_names_a_label_file_eval_would_refuse(tmp_path, capsys):
    """A label of another shape than its image was listed as "labels: yes" and refused only by eval (a research-user
    trial): --check-labels reads each as eval would, names the broken one, and exits 1."""
    from causal_sam_llm.cli import main

    root = tmp_path / "btcv"
    write_btcv(root, numbers=(1, 2))
    assert main(["data", "list", str(root), "--check-labels"]) == 0
    assert capsys.readouterr().out.count("yes (read)") == 2
    save_nifti(np.zeros((6, 5, 3), np.uint8), ras_affine(), root / "Training" / "label" / "label0002.nii.gz")
    before = _snapshot(root)
    assert main(["data", "list", str(root)]) == 0  # not read: listed, as the table's caption says
    assert "listed, not read" in capsys.readouterr().out
    assert main(["data", "list", str(root), "--check-labels"]) == 1
    listing = capsys.readouterr().out
    assert f"btcv-0002: {root / 'Training' / 'label' / 'label0002.nii.gz'} has shape (6, 5, 3)" in listing
    assert "│ broken " in listing and "1 reference label file(s) above would stop eval." in listing
    assert _snapshot(root) == before
