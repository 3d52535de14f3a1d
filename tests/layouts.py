"""Writers of tiny files in the exact published layouts (BTCV, CHAOS, AMOS22, BraTS), used by the loader tests.

Images encode their own labels and slice index (value = 1000·slice + 100·label) so a test can prove that image,
labels and slice order stay aligned through every reorientation.
"""

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid


def truth_labels(shape=(6, 5, 4), values=(6, 1, 2, 3)) -> np.ndarray:
    """A RAS label volume with one value per organ in distinct, asymmetric places."""
    labels = np.zeros(shape, np.int16)
    labels[4:, 3:, 2:] = values[0]  # right, anterior, superior corner
    labels[0:2, 0:2, 0] = values[1]  # left, posterior, inferior
    labels[4:, 0:1, 0:2] = values[2]
    labels[0:1, 3:, 1:3] = values[3]
    return labels


def encode_image(labels: np.ndarray) -> np.ndarray:
    """value = 1000·z-index + 100·label, in RAS voxel order."""
    z = np.arange(labels.shape[2])[None, None, :]
    return (1000 * z + 100 * labels).astype(np.int16)


def ras_affine(spacing=(0.8, 0.9, 2.5), origin=(-10.0, 20.0, 30.0)) -> np.ndarray:
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = origin
    return affine


def reorient_for_file(array: np.ndarray, ras_aff: np.ndarray, codes: str) -> tuple[np.ndarray, np.ndarray]:
    """Store a RAS array as it would be stored on disk in orientation `codes` (e.g. "LPS"), same world geometry."""
    transform = nib.orientations.ornt_transform(
        nib.orientations.axcodes2ornt("RAS"), nib.orientations.axcodes2ornt(tuple(codes))
    )
    stored = nib.orientations.apply_orientation(array, transform)
    return stored, ras_aff @ nib.orientations.inv_ornt_aff(transform, array.shape)


def save_nifti(array: np.ndarray, affine: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(array), affine), str(path))


def write_btcv(root: Path, codes: str = "RAS", numbers=(1, 2), other_organs: bool = False) -> np.ndarray:
    """`other_organs`: also BTCV's gallbladder (4), oesophagus (5) and 7-13, which the abdomen set does not segment."""
    labels = truth_labels()
    if other_organs:
        free = np.flatnonzero(labels == 0)
        labels.ravel()[free[: 9 * 3 : 3]] = [4, 5, 7, 8, 9, 10, 11, 12, 13]
    for number in numbers:
        image, affine = reorient_for_file(encode_image(labels), ras_affine(), codes)
        stored_labels, _ = reorient_for_file(labels, ras_affine(), codes)
        save_nifti(image, affine, root / "Training" / "img" / f"img{number:04d}.nii.gz")
        save_nifti(stored_labels.astype(np.uint8), affine, root / "Training" / "label" / f"label{number:04d}.nii.gz")
    return labels


AMOS_LABELS = {
    "0": "background",
    "1": "spleen",
    "2": "right kidney",
    "3": "left kidney",
    "4": "gallbladder",
    "5": "esophagus",
    "6": "liver",
    "7": "stomach",
    "8": "aorta",
    "9": "postcava",
    "10": "pancreas",
    "11": "right adrenal gland",
    "12": "left adrenal gland",
    "13": "duodenum",
    "14": "bladder",
    "15": "prostate/uterus",
}


def write_amos(root: Path, ids=(1, 507)) -> np.ndarray:
    labels = truth_labels(values=(6, 1, 2, 14))
    (root / "dataset.json").parent.mkdir(parents=True, exist_ok=True)
    (root / "dataset.json").write_text(json.dumps({"name": "AMOS", "labels": AMOS_LABELS}))
    for case in ids:
        image, affine = reorient_for_file(encode_image(labels), ras_affine(), "LAS")
        stored, _ = reorient_for_file(labels, ras_affine(), "LAS")
        save_nifti(image, affine, root / "imagesTr" / f"amos_{case:04d}.nii.gz")
        save_nifti(stored.astype(np.uint8), affine, root / "labelsTr" / f"amos_{case:04d}.nii.gz")
    return labels


def write_brats(root: Path, edition: str = "2021") -> np.ndarray:
    """One patient; seg values per edition (2021: 1 NCR, 2 ED, 4 ET; 2023: 1 NCR, 2 ED, 3 ET)."""
    et = 4 if edition == "2021" else 3
    seg = truth_labels(values=(2, 1, et, 0))
    seg[4:, 3:, 3:] = et  # an enhancing part inside the oedema
    if edition == "2021":
        name, joiner, files = "BraTS2021_00042", "_", ("t1", "t1ce", "t2", "flair")
    else:
        name, joiner, files = "BraTS-GLI-00042-000", "-", ("t1n", "t1c", "t2w", "t2f")
    for index, suffix in enumerate(files):
        save_nifti(
            (encode_image(seg) + index).astype(np.float32), ras_affine(), root / name / f"{name}{joiner}{suffix}.nii.gz"
        )
    save_nifti(seg.astype(np.uint8), ras_affine(), root / name / f"{name}{joiner}seg.nii.gz")
    return seg


def write_dicom_slice(
    path: Path,
    pixels: np.ndarray,
    position,
    orientation,
    modality="CT",
    spacing=(0.7, 0.7),
    echo_time: float | None = None,
    series_uid: str | None = None,
    study_uid: str | None = None,
    frame_uid: str | None = None,
) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2" if modality == "CT" else "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    # CHAOS's anonymised UIDs are inconsistent: a new one per file unless given
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid or generate_uid(), series_uid or generate_uid()
    if frame_uid:
        ds.FrameOfReferenceUID = frame_uid
    ds.Rows, ds.Columns = pixels.shape
    ds.PixelSpacing = list(spacing)
    ds.ImageOrientationPatient = list(orientation)
    ds.ImagePositionPatient = list(position)
    ds.SliceThickness = 3.0
    if echo_time is not None:
        ds.EchoTime = echo_time
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.PixelData = pixels.astype(np.int16).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(str(path), enforce_file_format=True)


def write_series(
    folder: Path,
    ground: Path | None,
    grey_slices: list[np.ndarray],
    grey_to_value: dict,
    *,
    orientation=(1, 0, 0, 0, 1, 0),
    modality="CT",
    echo_time=None,
    png_names=None,
    series_prefix="IMG-0001",
) -> None:
    """One series, files named in an order that differs from anatomy (slice k at z = 3·k mm, but written
    shuffled), with Ground PNGs. Pixel value = 1000·k + 100·unified label of that pixel."""
    order = [2, 0, 3, 1][: len(grey_slices)] if len(grey_slices) == 4 else list(range(len(grey_slices)))[::-1]
    for file_index, k in enumerate(order):
        grey = grey_slices[k]
        unified = np.vectorize(lambda g: grey_to_value.get(int(g), 0))(grey)
        name = f"{series_prefix}-{file_index + 1:05d}"
        write_dicom_slice(
            folder / f"{name}.dcm",
            1000 * k + 100 * unified,
            (-20.0, -30.0, 3.0 * k),
            orientation,
            modality,
            echo_time=echo_time,
        )
        if ground is not None:
            png_name = png_names[file_index] if png_names else f"{name}.png"
            ground.mkdir(parents=True, exist_ok=True)
            Image.fromarray(grey.astype(np.uint8)).save(ground / png_name)


def grey_slices(levels: list[int], count: int = 4, shape=(6, 5)) -> list[np.ndarray]:
    """Per-slice PNG masks: slice k holds `levels` in k-dependent, asymmetric places."""
    slices = []
    for k in range(count):
        grey = np.zeros(shape, np.uint8)
        for index, level in enumerate(levels):
            grey[(k + index) % shape[0], index % shape[1] : index % shape[1] + 2] = level
        slices.append(grey)
    return slices


def read_dicom_pixels(path: Path) -> np.ndarray:
    return pydicom.dcmread(str(path)).pixel_array
