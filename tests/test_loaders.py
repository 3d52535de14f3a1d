"""Loaders read tiny files written in each exact published layout, in several orientations, and keep image, labels,
spacing and slice order aligned in canonical RAS."""

import numpy as np
import pydicom
import pytest
from layouts import (
    grey_slices,
    truth_labels,
    write_amos,
    write_brats,
    write_btcv,
    write_series,
)
from pydicom.data import get_testdata_file
from pydicom.uid import MPEG2MPML

from causal_sam_llm.datasets.amos import load_amos
from causal_sam_llm.datasets.brats import load_brats
from causal_sam_llm.datasets.btcv import load_btcv
from causal_sam_llm.datasets.chaos import load_chaos
from causal_sam_llm.datasets.dicom_slice import read_dicom_slice
from causal_sam_llm.datasets.dicom_study import load_dicom_case
from causal_sam_llm.datasets.label_maps import FILE_CONVENTION, label_set, remap_labels, to_source_values
from causal_sam_llm.datasets.orientation import axcodes
from causal_sam_llm.datasets.registry import detect_layout, open_dataset
from causal_sam_llm.datasets.sample_images import sample_path
from causal_sam_llm.datasets.study import open_study
from causal_sam_llm.errors import DataLayoutError

BTCV_TO_UNIFIED = {0: 0, 6: 1, 1: 2, 2: 3, 3: 4}


def _z_index(shape):
    return np.arange(shape[2])[None, None, :]


@pytest.mark.parametrize("codes", ["RAS", "LPS", "LAS", "PIR"])
def test_btcv_round_trips_labels_spacing_and_orientation(tmp_path, codes):
    truth = write_btcv(tmp_path, codes)
    cases = load_btcv(tmp_path)
    assert [c.case_id for c in cases] == ["btcv-0001", "btcv-0002"]
    case = cases[0]
    assert case.modality == "CT"
    assert axcodes(case.volume.affine) == "RAS"
    np.testing.assert_allclose(case.spacing_mm, (0.8, 0.9, 2.5), rtol=1e-5)
    np.testing.assert_array_equal(case.original_labels, truth)
    np.testing.assert_array_equal(case.labels, np.vectorize(BTCV_TO_UNIFIED.get)(truth))
    np.testing.assert_array_equal(case.image, 1000 * _z_index(truth.shape) + 100 * truth)


def test_btcv_organs_outside_the_abdomen_set_become_background(tmp_path):
    """BTCV's 4 is the gallbladder, not the unified left kidney (4): it and every other unsegmented organ read as 0."""
    truth = write_btcv(tmp_path, other_organs=True)
    assert set(np.unique(truth)) == {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
    case = load_btcv(tmp_path)[0]
    np.testing.assert_array_equal(case.labels, np.vectorize(lambda v: BTCV_TO_UNIFIED.get(v, 0))(truth))
    assert not case.labels[truth == 4].any() and (case.labels[truth == 3] == 4).all()


def test_axial_stack_puts_anterior_up_and_patient_right_on_the_left(tmp_path):
    write_btcv(tmp_path, "LPS")
    case = load_btcv(tmp_path)[0]
    axial = case.axial_labels()  # (z, rows, cols)
    # the liver block sits at the right-anterior-superior corner of the RAS volume
    assert axial.shape == (4, 5, 6)
    assert (axial[3, 0, 0]) == case.label_set.classes["liver"]
    assert case.axial_spacing_mm() == pytest.approx((2.5, 0.9, 0.8))


def _expected_ras(grey, mapping, flipped_rows: bool):
    """Where a PNG pixel (row r, col c) of slice k must land in RAS: rows run posterior (LPS +y) so j = rows-1-r;
    columns run to the patient's left (+x) unless the row direction is flipped (then to the right)."""
    stack = np.stack([np.vectorize(lambda g: mapping.get(int(g), 0))(s) for s in grey], axis=-1)  # (r, c, k)
    ras = stack.transpose(1, 0, 2)[:, ::-1, :]
    return ras if flipped_rows else ras[::-1]


@pytest.mark.parametrize("flipped_rows", [False, True])
def test_chaos_ct_orders_slices_by_position_and_aligns_ground_png(tmp_path, flipped_rows):
    orientation = (-1, 0, 0, 0, 1, 0) if flipped_rows else (1, 0, 0, 0, 1, 0)
    grey = grey_slices([255])
    patient = tmp_path / "CT" / "1"
    write_series(
        patient / "DICOM_anon",
        patient / "Ground",
        grey,
        {255: 1},
        orientation=orientation,
        png_names=[f"liver_GT_{i:03d}.png" for i in range(4)],
    )
    (case,) = load_chaos(tmp_path)
    assert (case.modality, case.sequence) == ("CT", "CT")
    expected = _expected_ras(grey, {255: 1}, flipped_rows)
    np.testing.assert_array_equal(case.labels, expected)
    np.testing.assert_array_equal(case.image, 1000 * _z_index(expected.shape) + 100 * case.labels.astype(int))
    assert case.spacing_mm == pytest.approx((0.7, 0.7, 3.0))


def test_chaos_mr_grey_ranges_and_t1dual_phases(tmp_path):
    mapping = {63: 1, 126: 3, 189: 4, 252: 2}  # liver, right kidney, left kidney, spleen
    grey = grey_slices(list(mapping))
    t2 = tmp_path / "MR" / "3" / "T2SPIR"
    write_series(t2 / "DICOM_anon", t2 / "Ground", grey, mapping, modality="MR")
    t1 = tmp_path / "MR" / "3" / "T1DUAL"
    write_series(t1 / "DICOM_anon" / "InPhase", t1 / "Ground", grey, mapping, modality="MR", echo_time=4.6)
    # OutPhase files are named unlike the Ground PNGs (as in CHAOS, where one phase's names match): paired by order
    write_series(
        t1 / "DICOM_anon" / "OutPhase", None, grey, mapping, modality="MR", echo_time=2.3, series_prefix="IMG-0002"
    )
    cases = {c.sequence: c for c in load_chaos(tmp_path)}
    assert set(cases) == {"T2SPIR", "T1DUAL-InPhase", "T1DUAL-OutPhase"}
    expected = _expected_ras(grey, mapping, flipped_rows=False)
    for case in cases.values():
        assert case.modality == "MR"
        np.testing.assert_array_equal(case.labels, expected)
        np.testing.assert_array_equal(case.image, 1000 * _z_index(expected.shape) + 100 * case.labels.astype(int))
    assert set(np.unique(cases["T2SPIR"].original_labels)) == {0, 63, 126, 189, 252}
    # one patient (never tested on after training on it), but LAD may pair slices only within one grid
    assert len({c.anatomy_key for c in cases.values()}) == 1
    assert cases["T1DUAL-InPhase"].voxel_key == cases["T1DUAL-OutPhase"].voxel_key != cases["T2SPIR"].voxel_key


def test_amos_modality_from_id_and_label_remap(tmp_path):
    truth = write_amos(tmp_path)
    cases = load_amos(tmp_path)
    assert [(c.case_id, c.modality) for c in cases] == [("amos-0001", "CT"), ("amos-0507", "MR")]
    assert detect_layout(tmp_path) == "amos"
    labels = cases[1].labels
    assert set(np.unique(labels)) == {0, 1, 2, 3}  # bladder (14) is not in the abdomen label set
    np.testing.assert_array_equal(labels == 1, truth == 6)
    np.testing.assert_array_equal(cases[1].original_labels, truth)


@pytest.mark.parametrize("edition", ["2021", "2023"])
def test_brats_sequences_and_nested_regions(tmp_path, edition):
    seg = write_brats(tmp_path, edition)
    cases = load_brats(tmp_path)
    assert [c.sequence for c in cases] == ["t1", "t1ce", "t2", "flair"]
    case = cases[3]
    et_value = 4 if edition == "2021" else 3
    regions = case.label_set
    np.testing.assert_array_equal(regions.mask(case.labels, "whole_tumour"), seg > 0)
    np.testing.assert_array_equal(regions.mask(case.labels, "tumour_core"), (seg == 1) | (seg == et_value))
    np.testing.assert_array_equal(regions.mask(case.labels, "enhancing_tumour"), seg == et_value)
    np.testing.assert_array_equal(case.image, 1000 * _z_index(seg.shape) + 100 * seg + 3)


@pytest.mark.parametrize("edition", ["2021", "2023"])
def test_a_brain_nifti_opened_by_path_reads_its_labels_as_brats_nested_regions(tmp_path, edition):
    """With the brain model (label set brain_tumour), a user's own FLAIR + seg NIfTI give the same nested regions as
    the BraTS loader, in the edition the seg file's release name says (2023: 3 is the enhancing tumour); read as
    abdomen, BraTS's 4 would be an error and its 1/2 would become organs."""
    seg = write_brats(tmp_path, edition)
    folder = next(p for p in tmp_path.iterdir() if p.is_dir())
    joiner, flair_name = ("_", "flair") if edition == "2021" else ("-", "t2f")
    flair, labels = folder / f"{folder.name}{joiner}{flair_name}.nii.gz", folder / f"{folder.name}{joiner}seg.nii.gz"
    case = open_study(str(flair), labels, label_set_name="brain_tumour")
    assert case.label_set_name == "brain_tumour"
    et = 4 if edition == "2021" else 3
    regions = {"whole_tumour": seg > 0, "tumour_core": (seg == 1) | (seg == et), "enhancing_tumour": seg == et}
    for region, truth in regions.items():
        np.testing.assert_array_equal(case.label_set.mask(case.labels, region), truth)
    renamed = tmp_path / "my_seg.nii.gz"  # another name: 2021's values, so a 2023 file's 3 is refused at once
    renamed.write_bytes(labels.read_bytes())
    if edition == "2023":
        with pytest.raises(DataLayoutError, match="label values \\[3\\]"):
            open_study(str(flair), renamed, label_set_name="brain_tumour")


def test_a_broken_brats_folder_fails_with_one_error_naming_what_is_wrong(tmp_path):
    """As the other loaders: a folder that is no case of the edition (another edition's, a stray copy) and one case
    missing its segmentation among cases that have theirs are named; the release's plain files are left alone."""
    root = tmp_path / "brats"
    write_brats(root)
    (root / "name_mapping.csv").write_text("BraTS_2021_subject_ID\n")
    assert len(load_brats(root)) == 4
    (root / "BraTS2021_00042_old").mkdir()
    with pytest.raises(DataLayoutError, match="BraTS2021_00042_old is no brats2021 case folder"):
        load_brats(root)
    (root / "BraTS2021_00042_old").rmdir()
    write_brats(tmp_path / "other")
    (tmp_path / "other" / "BraTS2021_00042").rename(root / "BraTS2021_00043")
    for path in (root / "BraTS2021_00043").iterdir():
        path.rename(path.with_name(path.name.replace("00042", "00043")))
    (root / "BraTS2021_00043" / "BraTS2021_00043_seg.nii.gz").unlink()
    with pytest.raises(DataLayoutError, match=r"missing BraTS segmentation .*BraTS2021_00043_seg\.nii\.gz"):
        load_brats(root)


@pytest.mark.parametrize(("label_set_name", "source"), [("abdomen", "btcv"), ("brain_tumour", "brats2021")])
def test_unified_values_written_in_a_data_sets_own_values_read_back_unchanged(label_set_name, source, tmp_path):
    unified = np.array([*sorted(label_set(label_set_name).classes.values()), 0], np.uint8)
    written = to_source_values(unified, source)
    assert FILE_CONVENTION[label_set_name] == source
    np.testing.assert_array_equal(remap_labels(written, source, tmp_path / "export.nii.gz"), unified)


def test_registry_detects_each_layout_and_filters(tmp_path):
    write_btcv(tmp_path / "btcv")
    write_brats(tmp_path / "brats")
    assert detect_layout(tmp_path / "btcv") == "btcv"
    assert detect_layout(tmp_path / "brats") == "brats"
    flair = open_dataset(tmp_path / "brats", sequence="flair")
    assert [c.case_id for c in flair] == ["BraTS2021_00042-flair"]


def test_real_ct_slice_loads_as_ct_in_radiological_orientation():
    case = load_dicom_case([sample_path("abdomen_ct")])
    raw = read_dicom_slice(sample_path("abdomen_ct")).pixels
    assert case.modality == "CT"
    assert axcodes(case.volume.affine) == "RAS"
    # this file's rows run from posterior to anterior (column direction -y in LPS): the display flips them
    np.testing.assert_array_equal(case.axial_image()[0], raw[::-1, :])
    display = case.axial_image()[0]
    body_rows = np.nonzero((display > -300).any(axis=1))[0]
    spine_row = np.unravel_index(np.argmax(np.where(display > 300, 1, 0).sum(axis=1)), display.shape[:1])[0]
    assert spine_row > body_rows.mean(), "bone (spine, table) must be in the lower, posterior half"


def test_real_mr_slice_loads_as_mr_with_header_fields():
    case = load_dicom_case([sample_path("abdomen_mr")])
    raw = read_dicom_slice(sample_path("abdomen_mr")).pixels
    assert case.modality == "MR"
    np.testing.assert_array_equal(case.axial_image()[0], raw)  # standard orientation: displayed as stored
    assert case.metadata["header"]["Manufacturer"] == "SIEMENS"
    assert float(case.metadata["header"]["MagneticFieldStrength"]) == pytest.approx(1.5, abs=0.01)


def test_a_single_slice_is_as_deep_as_its_header_says(tmp_path):
    """A lone slice has no neighbour to measure the slice step from: its depth (what a volume in ml counts) comes
    from the header — SpacingBetweenSlices, else SliceThickness — and is 1 mm only when neither is given (the real
    CT sample's SliceThickness is empty)."""
    mr = pydicom.dcmread(str(sample_path("abdomen_mr")))
    assert mr.SliceThickness == 4 and "SpacingBetweenSlices" not in mr
    assert load_dicom_case([sample_path("abdomen_mr")]).axial_spacing_mm()[0] == pytest.approx(4.0)
    mr.SpacingBetweenSlices = 5.5
    mr.save_as(tmp_path / "spaced.dcm")
    assert load_dicom_case([tmp_path / "spaced.dcm"]).axial_spacing_mm()[0] == pytest.approx(5.5)
    assert pydicom.dcmread(str(sample_path("abdomen_ct"))).SliceThickness is None
    assert load_dicom_case([sample_path("abdomen_ct")]).axial_spacing_mm()[0] == pytest.approx(1.0)


def test_truth_labels_fixture_is_asymmetric():
    truth = truth_labels()
    for axis in range(3):
        assert not np.array_equal(truth, np.flip(truth, axis))


# bad_sequence.dcm was anonymised with hashes in its UIDs (not digits and dots): pydicom warns on reading them
@pytest.mark.filterwarnings("ignore:Invalid value for VR UI:UserWarning")
def test_compressed_dicom_as_archives_export_it_opens_with_the_same_pixels():
    """JPEG Lossless (process 14, the usual CT archive compression) and JPEG-LS decode through pylibjpeg: a real CT
    slice of pydicom-data, and pydicom's MR slice compressed two ways against its uncompressed original. Before,
    JPEG Lossless stopped at pydicom's RuntimeError."""
    ct = open_study(get_testdata_file("bad_sequence.dcm", download=False))  # a neck CT, JPEG Lossless SV1
    assert ct.image.shape == (512, 512, 1) and -1100 < ct.image.min() < -900 < 1000 < ct.image.max()
    original = open_study(get_testdata_file("MR_small.dcm", download=False)).image
    for name in ("MR_small_jpeg_ls_lossless.dcm", "MR_small_RLE.dcm"):
        np.testing.assert_array_equal(open_study(get_testdata_file(name, download=False)).image, original)


def test_a_compression_no_installed_decoder_reads_is_named(tmp_path):
    dataset = pydicom.dcmread(get_testdata_file("MR_small_jpeg_ls_lossless.dcm", download=False))
    dataset.file_meta.TransferSyntaxUID = MPEG2MPML  # encapsulated like JPEG-LS, but nothing decodes MPEG-2
    dataset.save_as(tmp_path / "mpeg.dcm")
    with pytest.raises(DataLayoutError, match="compressed as MPEG2 Main Profile / Main Level, which no installed"):
        _ = open_study(tmp_path / "mpeg.dcm").image  # the pixels are decoded when first asked for
