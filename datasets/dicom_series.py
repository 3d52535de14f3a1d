"""A folder of single-frame DICOM slices → one canonical RAS volume, ordered by slice position (never by UID or
file name: CHAOS anonymised UIDs are inconsistent)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from causal_sam_llm.datasets.case import Volume
from causal_sam_llm.datasets.orientation import lps_dicom_affine, to_ras, voxel_spacing
from causal_sam_llm.errors import DataLayoutError


@dataclass(frozen=True)
class SeriesOrder:
    """The files of a series in anatomical order, with what is needed to place any per-slice grid (e.g. a PNG)."""

    files: list[Path]  # sorted by position along the slice normal
    affine: np.ndarray  # voxel (col, row, slice) → RAS mm
    rows: int
    cols: int


def dicom_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataLayoutError(f"missing DICOM folder: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataLayoutError(f"{folder} holds no DICOM files.")
    return files


def order_series(folder: Path) -> SeriesOrder:
    """Read headers only, check the series is one consistent grid, and sort it along the slice normal."""
    return order_files(dicom_files(folder))


def order_files(files: list[Path]) -> SeriesOrder:
    headers = [(path, read_header(path)) for path in files]
    first_path, first = headers[0]
    size = (int(first.Rows), int(first.Columns))
    orientation = np.asarray(first.ImageOrientationPatient, float)
    for path, header in headers[1:]:
        if (int(header.Rows), int(header.Columns)) != size:
            raise DataLayoutError(
                f"{path} is {header.Rows}×{header.Columns} but {first_path} is {size[0]}×{size[1]}: "
                "the folder mixes series; keep one series per folder."
            )
        if not np.allclose(np.asarray(header.ImageOrientationPatient, float), orientation, atol=1e-3):
            raise DataLayoutError(f"{path} has another slice orientation than {first_path}: mixed series.")
    normal = np.cross(orientation[:3], orientation[3:])
    positions = {path: np.asarray(header.ImagePositionPatient, float) for path, header in headers}
    ordered = sorted(positions, key=lambda path: float(positions[path] @ normal))
    step = _slice_step([positions[p] for p in ordered], normal, ordered, first)
    spacing = tuple(float(v) for v in first.PixelSpacing)
    affine = lps_dicom_affine(orientation, positions[ordered[0]], (spacing[0], spacing[1]), step)
    return SeriesOrder(files=ordered, affine=affine, rows=size[0], cols=size[1])


def stack_to_volume(slices: list[np.ndarray], order: SeriesOrder, dtype: type = np.float32) -> Volume:
    """Per-slice (rows, cols) arrays in `order.files` order → RAS Volume."""
    voxels = np.stack(slices, axis=-1).transpose(1, 0, 2)  # (cols, rows, slices) = voxel (i, j, k)
    array, affine = to_ras(voxels.astype(dtype), order.affine)
    return Volume(array=array, spacing_mm=voxel_spacing(affine), affine=affine)


def read_series(folder: Path) -> tuple[Volume, SeriesOrder]:
    return read_files(dicom_files(folder))


def read_files(files: list[Path]) -> tuple[Volume, SeriesOrder]:
    """Slices of one series given as files (one file: a single-slice volume)."""
    order = order_files(files)
    return stack_to_volume([_pixels(path) for path in order.files], order), order


def series_header(folder: Path) -> pydicom.Dataset:
    return read_header(dicom_files(folder)[0])


def read_header(path: Path) -> pydicom.Dataset:
    """One slice's header, or a DataLayoutError naming the file when it is no DICOM image that can be placed in 3-D."""
    try:
        header = pydicom.dcmread(str(path), stop_before_pixels=True)
    except InvalidDicomError as exc:  # pydicom's own text advises force=True, which is no advice for a user
        raise DataLayoutError(f"{path} is not a DICOM file (it has no DICOM header).") from exc
    except Exception as exc:
        raise DataLayoutError(f"{path} is not a DICOM file: {exc}") from exc
    if header.get("Modality") == "SEG":
        raise DataLayoutError(f"{path} is a DICOM-SEG (masks), not an image: open the images it segments.")
    if int(header.get("NumberOfFrames") or 1) > 1:
        raise DataLayoutError(
            f"{path} is a multi-frame DICOM ({header.NumberOfFrames} frames); only single-frame slices (a file per "
            "slice, as most CT and MR series are exported) are read: convert it, e.g. to NIfTI."
        )
    missing = [
        k
        for k in ("Rows", "Columns", "ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing")
        if k not in header
    ]
    if missing:
        raise DataLayoutError(f"{path} lacks {missing}: not an image slice that can be placed in 3-D.")
    return header


def _pixels(path: Path) -> np.ndarray:
    dataset = pydicom.dcmread(str(path))
    slope, intercept = float(dataset.get("RescaleSlope", 1.0)), float(dataset.get("RescaleIntercept", 0.0))
    return _decoded(dataset, path).astype(np.float32) * slope + intercept


def _decoded(dataset: pydicom.Dataset, path: Path) -> np.ndarray:
    """The stored pixel values. JPEG (baseline, lossless, LS) and JPEG 2000 decode through pylibjpeg and Pillow; a
    compression none of them reads is refused with its name, not passed on as pydicom's RuntimeError."""
    try:
        return dataset.pixel_array
    except (RuntimeError, NotImplementedError) as exc:
        syntax = dataset.file_meta.get("TransferSyntaxUID")
        name = getattr(syntax, "name", syntax)
        raise DataLayoutError(
            f"{path}: its pixel data is compressed as {name}, which no installed decoder reads "
            f"({str(exc).splitlines()[0]}). Convert the series to uncompressed DICOM (e.g. `gdcmconv --raw`) or to "
            "NIfTI (e.g. `dcm2niix`)."
        ) from exc


def _slice_step(
    positions: list[np.ndarray], normal: np.ndarray, files: list[Path], header: pydicom.Dataset
) -> np.ndarray:
    """The offset from one slice to the next. A single slice has no neighbour to measure it from: the header's
    spacing between slices, else its slice thickness (the slab a volume in ml must count), else 1 mm."""
    if len(positions) == 1:
        return normal * single_slice_depth_mm(header)
    steps = np.diff(np.stack(positions), axis=0)
    distances = steps @ normal
    if np.any(distances < 1e-3):
        duplicate = files[int(np.argmin(distances)) + 1]
        raise DataLayoutError(f"{duplicate} sits at the same position as another slice: duplicate or mixed series.")
    return steps.mean(axis=0)


ASSUMED_DEPTH_MM = 1.0  # a lone slice's depth when its header gives none (the load says it was assumed)


def single_slice_depth_mm(header: pydicom.Dataset) -> float:
    """How deep a lone slice's voxels are: SpacingBetweenSlices, else SliceThickness, else ASSUMED_DEPTH_MM."""
    given = header_depth_mm(header)
    return ASSUMED_DEPTH_MM if given is None else given


def header_depth_mm(header: pydicom.Dataset) -> float | None:
    """SpacingBetweenSlices, else SliceThickness (mm); None when neither is one positive number."""
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        try:
            value = float(header.get(keyword))
        except (TypeError, ValueError):  # absent, empty or not one number: no evidence
            continue
        if value > 0:
            return value
    return None
