"""DICOM-SEG export (highdicom): a real CT slice's masks as a SEG whose frames lie on the source images they reference,
one code per shipped class, and the series it cannot describe refused with the reason."""

import highdicom as hd
import numpy as np
import pydicom
import pytest
from layouts import write_dicom_slice
from pydicom.uid import generate_uid

from causal_sam_llm.datasets.orientation import axial_stack_to_ras
from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.datasets.study import open_study
from causal_sam_llm.tools.export import SEGMENT_CODES, write_dicom_seg
from causal_sam_llm.tools.registry import run_tool
from causal_sam_llm.tools.workbench import Workbench

AXIAL = (1, 0, 0, 0, 1, 0)  # DICOM ImageOrientationPatient of an axial slice
CASE = "benchmark:mr_t2-0001"


def test_dicom_seg_export_of_a_real_ct_slice(tmp_path):
    bench = Workbench.create(tmp_path / "dicom")
    run_tool(bench, "load_study", {"study": "sample:abdomen_ct"})
    run_tool(bench, "segment", {"organ": "all"})
    assert run_tool(bench, "export", {"format": "nifti"}).message.endswith(
        "Ask for DICOM-SEG for masks that reference the source images."
    )
    exported = run_tool(bench, "export", {"format": "dicom_seg"})
    assert "DICOM-SEG" not in exported.message
    seg = pydicom.dcmread(exported.data["path"])
    assert seg.Modality == "SEG"
    assert [s.SegmentLabel for s in seg.SegmentSequence] == bench.classes
    types = [s.SegmentedPropertyTypeCodeSequence[0].CodeMeaning for s in seg.SegmentSequence]
    assert types == ["Liver", "Spleen", "Kidney", "Kidney"]
    # the source gives no slice thickness; the SEG must still carry one, or readers refuse it
    assert hd.seg.segread(exported.data["path"]).number_of_segments == len(bench.classes)


def test_a_slice_depth_the_header_does_not_give_is_said_to_be_assumed(tmp_path):
    """The real CT slice's header gives no thickness: its volumes in ml count an assumed 1 mm, and the load and the
    style description say so; the MR slice's 4 mm is the header's own and nothing is said."""
    bench = Workbench.create(tmp_path / "dicom")
    loaded = run_tool(bench, "load_study", {"study": "sample:abdomen_ct"}).message
    assert "no slice thickness, so each slice is taken as 1 mm deep" in loaded
    assert "1 mm slice depth is assumed" in run_tool(bench, "describe_style", {}).message
    loaded = run_tool(bench, "load_study", {"study": "sample:abdomen_mr"}).message
    assert "slice thickness" not in loaded
    assert "assumed" not in run_tool(bench, "describe_style", {}).message


def test_a_single_slice_dicom_seg_is_as_deep_as_the_study_was_read(tmp_path):
    """The real MR slice is 4 mm thick: its SEG says so (not highdicom's 1 mm default), so a reader of the SEG
    measures the volumes `measure` reports."""
    bench = Workbench.create(tmp_path / "dicom")
    run_tool(bench, "load_study", {"study": "sample:abdomen_mr"})
    run_tool(bench, "segment", {"organ": "all"})
    path = run_tool(bench, "export", {"format": "dicom_seg"}).data["path"]
    measures = pydicom.dcmread(path).SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    assert float(measures.SpacingBetweenSlices) == float(measures.SliceThickness) == 4.0
    assert bench.require_case().axial_spacing_mm()[0] == 4.0


@pytest.mark.parametrize(
    "orientation", [AXIAL, (-1, 0, 0, 0, -1, 0), (1, 0, 0, 0, 0, -1)], ids=["axial", "rotated", "coronal"]
)
def test_each_dicom_seg_frame_lies_on_the_source_image_it_references(tmp_path, orientation):
    """A series' DICOM-SEG, whatever order its files are named in and however it was acquired: masks made by
    thresholding the loaded image come back, frame by frame, as each source file's own pixels thresholded."""
    folder, rng = tmp_path / "series", np.random.default_rng(0)
    uids = {"study_uid": generate_uid(), "series_uid": generate_uid(), "frame_uid": generate_uid()}
    normal = np.cross(orientation[:3], orientation[3:])
    for k, name in enumerate("cadb"):  # file names out of anatomical order; 6 × 5 pixels: a transpose shows
        pixels = rng.integers(-100, 200, (6, 5))
        write_dicom_slice(folder / f"{name}.dcm", pixels, (0, 0, 0) + 3.0 * k * normal, orientation, **uids)
    axial = open_study(str(folder)).axial_image()
    thresholds = np.percentile(axial, [20, 40, 60, 80])
    classes = ["liver", "spleen", "right_kidney", "left_kidney"]  # one per threshold
    ras = np.stack([axial_stack_to_ras(axial > t) for t in thresholds])
    write_dicom_seg(ras, classes, folder, tmp_path / "seg.dcm")
    seg = hd.seg.segread(str(tmp_path / "seg.dcm"))
    for path in sorted(folder.iterdir()):
        image = pydicom.dcmread(str(path))
        frames = seg.get_pixels_by_source_instance([image.SOPInstanceUID], segment_numbers=[1, 2, 3, 4])[0]
        np.testing.assert_array_equal(frames.astype(bool), np.stack([image.pixel_array > t for t in thresholds], -1))


def test_a_series_whose_files_carry_different_series_uids_is_refused_as_dicom_seg_with_the_reason(tmp_path):
    for k in range(3):  # as CHAOS's anonymiser left them: new UIDs in every file
        write_dicom_slice(tmp_path / "series" / f"{k}.dcm", np.arange(30).reshape(6, 5) * k, (0, 0, 3.0 * k), AXIAL)
    masks = np.ones((1, 5, 6, 3), bool)
    with pytest.raises(ValueError, match="3 source slices carry 3 different study/series UIDs"):
        write_dicom_seg(masks, ["liver"], tmp_path / "series", tmp_path / "seg.dcm")
    assert not (tmp_path / "seg.dcm").exists()


def test_every_shipped_class_has_its_own_dicom_seg_code():
    """Tumour regions are coded as neoplasm under 'morphologically abnormal structure', organs as themselves."""
    shipped = {name for protocol in ("ct_to_mr", "brats_cross_sequence") for name in load_protocol(protocol).classes}
    assert shipped <= set(SEGMENT_CODES)
    assert SEGMENT_CODES["enhancing_tumour"][0].meaning == "Morphologically Abnormal Structure"
    assert SEGMENT_CODES["enhancing_tumour"][1].meaning in ("Neoplasm", "Tumor")


def test_dicom_seg_of_a_nifti_study_is_refused_clearly(home_benchmark, tmp_path):
    fresh = Workbench.create(tmp_path / "fresh")
    run_tool(fresh, "load_study", {"study": CASE})
    run_tool(fresh, "segment", {"organ": "liver"})
    before = sorted(fresh.folder.rglob("*"))
    with pytest.raises(ValueError, match="needs a DICOM study"):
        run_tool(fresh, "export", {"format": "dicom_seg"})
    assert sorted(fresh.folder.rglob("*")) == before  # refused before anything was written (no exports/ either)
