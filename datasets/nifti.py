"""NIfTI volumes → canonical RAS arrays, with the checks that make a broken image/label pair fail loudly."""

from pathlib import Path

import nibabel as nib
import numpy as np

from causal_sam_llm.datasets.case import Volume
from causal_sam_llm.datasets.orientation import ras_grid, to_ras, voxel_spacing
from causal_sam_llm.errors import DataLayoutError


def _open(path: Path) -> nib.Nifti1Image:
    if not path.is_file():
        raise DataLayoutError(f"missing file: {path}")
    try:
        image = nib.load(str(path))
    except Exception as exc:
        raise DataLayoutError(f"{path} is not a readable NIfTI image: {exc}") from exc
    while len(image.shape) > 3 and image.shape[-1] == 1:  # (X, Y, Z, 1), as many converters write one volume
        image = image.slicer[..., 0]
    if len(image.shape) != 3:
        raise DataLayoutError(
            f"{path} has shape {image.shape}; a 3-D volume is expected. Save one time point or channel of it "
            "(with nibabel: image.slicer[..., 0])."
        )
    return image


def read_volume(path: Path, dtype: type = np.float32) -> Volume:
    """A 3-D NIfTI file as a RAS+ Volume (never modifies the file)."""
    image = _open(path)
    array, affine = to_ras(np.asarray(image.dataobj).astype(dtype), image.affine)
    _require_finite(array, path)
    return Volume(array=array, spacing_mm=voxel_spacing(affine), affine=affine)


def _require_finite(array: np.ndarray, path: Path) -> None:
    """Refused when the file is read, naming it: the segmenter's own check came only at `segment`, without the file's
    name (a research-user trial). Some registration tools write NaN outside the brain or body."""
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise DataLayoutError(
            f"{path} holds {bad} NaN/inf values; replace them with the background value (numpy.nan_to_num) and "
            "save a copy."
        )


def read_label_volume(label_path: Path, image_path: Path) -> np.ndarray:
    """A label NIfTI as a RAS+ integer array, after checking its grid against the image's."""
    label = check_label_grid(label_path, image_path)
    raw = np.asarray(label.dataobj)
    if np.issubdtype(raw.dtype, np.floating) and not np.all(raw == np.round(raw)):
        raise DataLayoutError(f"{label_path} holds non-integer values; a label map must hold class integers.")
    array, _ = to_ras(raw.astype(np.int32), label.affine)
    return array


def check_label_grid(label_path: Path, image_path: Path) -> nib.Nifti1Image:
    """The label NIfTI, opened (headers only: nibabel reads voxels lazily) once its grid is checked against the
    image's — cheap enough to run when a study is opened, long before the labels are first needed."""
    label, image = _open(label_path), _open(image_path)
    # compared as both are read, in RAS+ voxel order: a label saved flipped or with its axes in another order (LPS
    # beside an RAS image, as some tools save) covers the same voxels (a research-user trial had it refused)
    (label_shape, label_affine), (image_shape, image_affine) = (ras_grid(v.shape, v.affine) for v in (label, image))
    if label_shape != image_shape:
        raise DataLayoutError(f"{label_path} has shape {label.shape} but its image {image_path} has {image.shape}.")
    if not np.allclose(label_affine, image_affine, atol=1e-3, rtol=1e-4):
        raise DataLayoutError(
            f"{label_path} and {image_path} have different affines (voxel-to-world maps); "
            "the label was saved on another grid."
        )
    return label
