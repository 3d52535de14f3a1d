"""A DICOM file (or a list of slices of one series) as a `Case`: for a user's own study and the shipped samples."""

from pathlib import Path

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.dicom_series import header_depth_mm, read_files, read_header
from causal_sam_llm.errors import DataLayoutError


def load_dicom_case(files: list[Path], label_set_name: str = "abdomen") -> Case:
    """A CT or MR series as an unlabelled Case (canonical RAS). Header fields used by describe_style are kept."""
    if not files:
        raise DataLayoutError("no DICOM files given.")
    header = read_header(files[0])  # a file that is not DICOM is named, not a pydicom traceback
    modality = str(header.get("Modality", ""))
    if modality not in ("CT", "MR"):
        raise DataLayoutError(f"{files[0]} has modality {modality!r}; only CT and MR images are supported.")
    fields = (
        "Manufacturer",
        "ManufacturerModelName",
        "MagneticFieldStrength",
        "KVP",
        "SliceThickness",
        "EchoTime",
        "RepetitionTime",
        "ConvolutionKernel",
        "SeriesDescription",
        "BodyPartExamined",
    )
    return Case(
        case_id=f"dicom-{files[0].stem}",
        source="dicom",
        modality=modality,
        sequence=str(header.get("SeriesDescription", modality)) if modality == "MR" else "CT",
        label_set_name=label_set_name,
        source_path=files[0] if len(files) == 1 else files[0].parent,
        _load_image=lambda: read_files(files)[0],
        metadata={
            "header": {f: str(header.get(f)) for f in fields if header.get(f) is not None},
            "anatomy_key": f"dicom:{header.get('StudyInstanceUID', files[0])}",
            # a lone slice has no neighbour to measure its depth from: without a header value it is assumed
            "depth_assumed": len(files) == 1 and header_depth_mm(header) is None,
        },
    )
