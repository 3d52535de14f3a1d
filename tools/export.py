"""Tool `export`: the current masks as a NIfTI label map (the study's geometry, in the values its labels are read in:
BTCV for the abdomen, BraTS 2021 for brain tumours, so an export loads back as labels) or, for a DICOM study, a
DICOM-SEG (highdicom) referencing the source images; beside each, `<export>.json` says where its masks came from
(tools/provenance.py). Files go into the session's exports/ folder only."""

import time
import warnings
from pathlib import Path
from typing import Literal

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
from pydantic import BaseModel, ConfigDict
from pydicom.sr.codedict import codes

from causal_sam_llm import __version__
from causal_sam_llm.datasets.dicom_series import dicom_files, order_files, single_slice_depth_mm
from causal_sam_llm.datasets.label_maps import FILE_CONVENTION, to_source_values
from causal_sam_llm.datasets.label_maps import label_set as unified_label_set
from causal_sam_llm.datasets.orientation import axial_stack_to_ras, from_ras
from causal_sam_llm.tools.provenance import corrected_organs, write_provenance
from causal_sam_llm.tools.schemas import ToolResult
from causal_sam_llm.tools.workbench import Workbench

_ALGORITHM = hd.seg.SegmentAlgorithmTypeValues
_ALGORITHM_TYPE = {True: _ALGORITHM.SEMIAUTOMATIC, False: _ALGORITHM.AUTOMATIC}  # corrected by a clinician?
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
    history = bench.require_history()
    if args.format == "nifti":
        path = out / f"{case.case_id}-v{history.current}-{stamp}.nii.gz"
        _write_nifti(ras, bench.classes, *_grid_of(case), case.label_set_name, path)
        label_values = file_label_values(bench.classes, case.label_set_name)
    else:
        path = out / f"{case.case_id}-v{history.current}-{stamp}-seg.dcm"
        corrected = corrected_organs(history, bench.classes)
        write_dicom_seg(ras, bench.classes, Path(case.source_path), path, corrected, history.current)
        label_values = None
    record = write_provenance(bench, path, label_values)
    return ToolResult(
        tool="export",
        message=f"Saved {path} (where it came from: {record.name})." + _dicom_seg_hint(case.source, args.format),
        data={"path": str(path), "provenance": str(record)},
    )


def _dicom_seg_hint(source: str, format: str) -> str:
    """A DICOM study saved as NIfTI (what "save it" gives): the clinician may want the SEG their viewer opens."""
    return (
        " Ask for DICOM-SEG for masks that reference the source images."
        if source == "dicom" and format == "nifti"
        else ""
    )


def _check_dicom_seg_possible(source: str, classes: list[str]) -> None:
    if source != "dicom":
        raise ValueError("DICOM-SEG needs a DICOM study; this one is NIfTI. Export format nifti instead.")
    uncoded = [name for name in classes if name not in SEGMENT_CODES]
    if uncoded:
        raise ValueError(
            f"DICOM-SEG has no SNOMED code here for {', '.join(uncoded)} (coded: {', '.join(SEGMENT_CODES)}); "
            "export format nifti instead."
        )


def _grid_of(case) -> tuple[np.ndarray, tuple[int, int] | None]:
    """The affine to write with and the (qform, sform) codes to keep, from one read of the source's header: a NIfTI
    source's own (so the export overlays it voxel for voxel), else RAS and nibabel's default codes."""
    source = Path(case.source_path)
    if not source.name.endswith((".nii", ".nii.gz")):
        return case.volume.affine, None
    image = nib.load(str(source))
    return image.affine, _codes_of(image.header)


def _codes_of(header) -> tuple[int, int] | None:
    """A NIfTI header's (qform, sform) codes, which the export keeps: a qform-only "scanner" source had been saved with
    an "aligned" sform instead (a research-user trial; the same geometry, but some viewers read the codes)."""
    codes = int(header["qform_code"]), int(header["sform_code"])
    return codes if any(codes) else None  # neither set: the affine came from the voxel sizes; nibabel's default


def file_label_values(classes: list[str], label_set: str) -> dict[str, int]:
    """Each class's value in an exported label map (the data set's own convention, FILE_CONVENTION)."""
    unified = unified_label_set(label_set).classes
    values = to_source_values(np.array([unified[name] for name in classes]), FILE_CONVENTION[label_set])
    return {name: int(value) for name, value in zip(classes, values, strict=True)}


def _write_nifti(
    ras: np.ndarray,
    classes: list[str],
    affine: np.ndarray,
    codes: tuple[int, int] | None,
    label_set: str,
    path: Path,
) -> None:
    values = unified_label_set(label_set).classes
    labels = np.zeros(ras.shape[1:], np.uint8)
    for index, name in sorted(enumerate(classes), key=lambda item: values[item[1]]):  # nested: innermost wins
        labels[ras[index]] = values[name]
    written = to_source_values(labels, FILE_CONVENTION[label_set])
    image = nib.Nifti1Image(from_ras(written, affine), affine)
    if codes is not None:
        image.set_qform(affine, code=codes[0])
        image.set_sform(affine, code=codes[1])
    nib.save(image, str(path))


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


def write_dicom_seg(
    ras: np.ndarray,
    classes: list[str],
    source: Path,
    path: Path,
    corrected: list[str] | tuple[str, ...] = (),
    version: int | None = None,
) -> None:
    """`corrected`: organs a clinician's correction changed — their segments are SEMIAUTOMATIC (DICOM's "calculated
    automatically with manual input"), the others AUTOMATIC. `version`: the mask version, named in the series
    description."""
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
            algorithm_type=_ALGORITHM_TYPE[name in corrected],
            algorithm_identification=algorithm,
        )
        for i, name in enumerate(classes)
    ]
    with warnings.catch_warnings():
        # the patient's name is the source's, copied as it is: highdicom doubts one without a "^" (e.g. an
        # anonymised "PANCREAS_0001"), but a SEG must name the patient exactly as its images do
        warnings.filterwarnings("ignore", "The string .* is unlikely to represent the intended person name")
        seg = _segmentation(images, frames, descriptions, corrected, version)
    seg.save_as(str(path))


def _segmentation(
    images: list[pydicom.Dataset],
    frames: np.ndarray,
    descriptions: list[hd.seg.SegmentDescription],
    corrected: list[str] | tuple[str, ...],
    version: int | None,
) -> hd.seg.Segmentation:
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
        content_description=_content_description(corrected),
    )
    measures = seg.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    if len(images) == 1:  # not highdicom's 1 mm: the depth the study was read with, so a reader measures our volumes
        measures.SpacingBetweenSlices = f"{single_slice_depth_mm(images[0]):g}"
    if measures.get("SliceThickness") in (None, ""):
        # highdicom copies the source's thickness, and a source without one (the real CT sample) gave a SEG that
        # readers, highdicom's own among them, refuse: the depth the study was read with stands in
        measures.SliceThickness = measures.get("SpacingBetweenSlices") or f"{single_slice_depth_mm(images[0]):g}"
    seg.SeriesDescription = "Causal-SAM-LLM masks" + (f" v{version}" if version is not None else "")
    return seg


def _content_description(corrected: list[str] | tuple[str, ...]) -> str:
    """DICOM LO: at most 64 characters."""
    text = f"corrected by a clinician: {', '.join(corrected)}" if corrected else "automatic, not corrected"
    return text if len(text) <= 64 else text[:61] + "..."
