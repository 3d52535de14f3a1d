"""Tool `export`: the current masks as a NIfTI label map (the study's geometry, in the values its labels are read in:
BTCV for the abdomen, BraTS 2021 for brain tumours, so an export loads back as labels) or, for a DICOM study, a
DICOM-SEG (highdicom) referencing the source images. Files go into the session's exports/ folder only."""

import time
from pathlib import Path
from typing import Literal

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
from pydantic import BaseModel, ConfigDict
from pydicom.sr.codedict import codes

from causal_sam_llm import __version__
from causal_sam_llm.datasets.dicom_series import dicom_files, order_files
from causal_sam_llm.datasets.label_maps import FILE_CONVENTION, to_source_values
from causal_sam_llm.datasets.label_maps import label_set as unified_label_set
from causal_sam_llm.datasets.orientation import axial_stack_to_ras, from_ras
from causal_sam_llm.tools.schemas import ToolResult
from causal_sam_llm.tools.workbench import Workbench

DESCRIPTION = "Save the current masks: format nifti (label map) or dicom_seg (only for a DICOM study)."
# DICOM-SEG (category, type) per class, SNOMED CT as DICOM CID 7150/7151 use them; the side of a kidney is in the
# segment label. The tumour regions are all neoplasm: BraTS's nesting (core inside whole) is in their labels.
_ORGAN, _ABNORMAL = codes.SCT.Organ, codes.SCT.MorphologicallyAbnormalStructure
SEGMENT_CODES = {
    "liver": (_ORGAN, codes.SCT.Liver),
    "spleen": (_ORGAN, codes.SCT.Spleen),
    "right_kidney": (_ORGAN, codes.SCT.Kidney),
    "left_kidney": (_ORGAN, codes.SCT.Kidney),
    "whole_tumour": (_ABNORMAL, codes.SCT.Neoplasm),
    "tumour_core": (_ABNORMAL, codes.SCT.Neoplasm),
    "enhancing_tumour": (_ABNORMAL, codes.SCT.Neoplasm),
}


class ExportArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["nifti", "dicom_seg"] = "nifti"


def export(bench: Workbench, args: ExportArgs) -> ToolResult:
    case = bench.require_case()
    masks = bench.masks()  # (Z, C, rows, cols) axial
    ras = np.stack([axial_stack_to_ras(masks[:, c]) for c in range(masks.shape[1])])  # (C, X, Y, Z)
    if args.format == "dicom_seg":
        _check_dicom_seg_possible(case.source, bench.classes)  # refused before anything is written
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = bench.folder / "exports"
    out.mkdir(parents=True, exist_ok=True)
    if args.format == "nifti":
        path = out / f"{case.case_id}-v{bench.require_history().current}-{stamp}.nii.gz"
        _write_nifti(ras, bench.classes, _grid_of(case), case.label_set_name, path)
    else:
        path = out / f"{case.case_id}-v{bench.require_history().current}-{stamp}-seg.dcm"
        write_dicom_seg(ras, bench.classes, Path(case.source_path), path)
    return ToolResult(tool="export", message=f"Saved {path}.", data={"path": str(path)})


def _check_dicom_seg_possible(source: str, classes: list[str]) -> None:
    if source != "dicom":
        raise ValueError("DICOM-SEG needs a DICOM study; this one is NIfTI. Export format nifti instead.")
    uncoded = [name for name in classes if name not in SEGMENT_CODES]
    if uncoded:
        raise ValueError(
            f"DICOM-SEG has no SNOMED code here for {', '.join(uncoded)} (coded: {', '.join(SEGMENT_CODES)}); "
            "export format nifti instead."
        )


def _grid_of(case) -> np.ndarray:
    """The affine to write with: a NIfTI source's own (so the export overlays it voxel for voxel), else RAS."""
    source = Path(case.source_path)
    if source.name.endswith((".nii", ".nii.gz")):
        return nib.load(str(source)).affine
    return case.volume.affine


def _write_nifti(ras: np.ndarray, classes: list[str], affine: np.ndarray, label_set: str, path: Path) -> None:
    values = unified_label_set(label_set).classes
    labels = np.zeros(ras.shape[1:], np.uint8)
    for index, name in sorted(enumerate(classes), key=lambda item: values[item[1]]):  # nested: innermost wins
        labels[ras[index]] = values[name]
    written = to_source_values(labels, FILE_CONVENTION[label_set])
    nib.save(nib.Nifti1Image(from_ras(written, affine), affine), str(path))


# Patient and study attributes DICOM requires to be present, though possibly empty (type 2), and that highdicom
# copies from the source images; anonymisers often delete them outright.
TYPE2_ATTRIBUTES = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "StudyID",
    "ReferringPhysicianName", "AccessionNumber",
)  # fmt: skip


def _with_type2_attributes(image: pydicom.Dataset) -> pydicom.Dataset:
    """The source image as read, with each missing type 2 attribute present and empty (in memory only)."""
    for keyword in TYPE2_ATTRIBUTES:
        if keyword not in image:
            setattr(image, keyword, "")
    return image


def write_dicom_seg(ras: np.ndarray, classes: list[str], source: Path, path: Path) -> None:
    order = order_files(dicom_files(source) if source.is_dir() else [source])
    images = [_with_type2_attributes(pydicom.dcmread(str(f))) for f in order.files]
    series = {(image.get("StudyInstanceUID"), image.get("SeriesInstanceUID")) for image in images}
    if len(series) > 1:  # e.g. CHAOS: its anonymiser gave each file new UIDs, which the loader tolerates
        raise ValueError(
            f"the {len(images)} source slices carry {len(series)} different study/series UIDs (renewed per file by "
            "an anonymiser?), and a DICOM-SEG references one series. Export format nifti instead."
        )
    # back to the files' own voxel order (cols, rows, slices), then one (rows, cols) frame per source image
    voxels = np.stack([from_ras(ras[c], order.affine) for c in range(len(classes))], axis=-1)
    frames = voxels.transpose(2, 1, 0, 3).astype(np.uint8)  # (slices, rows, cols, segments)
    algorithm = hd.AlgorithmIdentificationSequence(
        name="causal-sam-llm", family=codes.cid7162.ArtificialIntelligence, version=__version__
    )
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=i + 1,
            segment_label=name,
            segmented_property_category=SEGMENT_CODES[name][0],
            segmented_property_type=SEGMENT_CODES[name][1],
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for i, name in enumerate(classes)
    ]
    seg = hd.seg.Segmentation(
        source_images=images,
        pixel_array=frames,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=900,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="causal-sam-llm",
        manufacturer_model_name="Causal-SAM-LLM",
        software_versions=__version__,
        device_serial_number="0",
        omit_empty_frames=False,
    )
    seg.save_as(str(path))
