"""Canonical orientation: every volume is turned into RAS+ voxel order (i → patient Right, j → Anterior,
k → Superior) with nibabel's orientation algebra, and displayed in the radiological convention."""

import nibabel as nib
import numpy as np


def _to_ras_transform(affine: np.ndarray) -> np.ndarray:
    """nibabel's orientation transform from a file's voxel axes (by its affine) to R, A, S."""
    current = nib.orientations.io_orientation(affine)
    return nib.orientations.ornt_transform(current, nib.orientations.axcodes2ornt(("R", "A", "S")))


def to_ras(array: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reorder/flip the voxel axes of a 3-D `array` so they run R, A, S; returns (array, new affine)."""
    transform = _to_ras_transform(affine)
    reoriented = nib.orientations.apply_orientation(array, transform)
    new_affine = affine @ nib.orientations.inv_ornt_aff(transform, array.shape)
    return np.ascontiguousarray(reoriented), new_affine


def ras_grid(shape: tuple[int, ...], affine: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """The (shape, affine) `to_ras` gives a volume of this shape and affine, without reading its voxels."""
    transform = _to_ras_transform(affine)
    order = transform[:, 0].astype(int)  # voxel axis i of the file becomes axis order[i]
    ras_shape = [0, 0, 0]
    for axis, target in enumerate(order):
        ras_shape[target] = shape[axis]
    return tuple(ras_shape), affine @ nib.orientations.inv_ornt_aff(transform, shape)


def voxel_spacing(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size in mm along each voxel axis."""
    return tuple(float(v) for v in np.sqrt((affine[:3, :3] ** 2).sum(axis=0)))


def axcodes(affine: np.ndarray) -> str:
    return "".join(nib.aff2axcodes(affine))


def ras_to_axial_stack(volume: np.ndarray) -> np.ndarray:
    """RAS (x, y, z) → (z, rows, cols) axial slices as a radiologist reads them: anterior at the top, the patient's
    right on the viewer's left, slice 0 the most inferior."""
    return np.ascontiguousarray(np.transpose(volume[::-1, ::-1, :], (2, 1, 0)))


def axial_stack_to_ras(stack: np.ndarray) -> np.ndarray:
    """Inverse of ras_to_axial_stack."""
    return np.ascontiguousarray(np.transpose(stack, (2, 1, 0))[::-1, ::-1, :])


def lps_dicom_affine(
    orientation: np.ndarray, first_position: np.ndarray, pixel_spacing: tuple[float, float], slice_step: np.ndarray
) -> np.ndarray:
    """Voxel (col, row, slice) → RAS mm affine for a DICOM series.

    DICOM patient coordinates are LPS; ImageOrientationPatient gives the row direction (along a row, i.e. the column
    index) and the column direction; `slice_step` is the position difference between consecutive sorted slices.
    """
    row_dir, col_dir = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    lps = np.eye(4)
    lps[:3, 0] = row_dir * pixel_spacing[1]  # column index moves along the row direction, by column spacing
    lps[:3, 1] = col_dir * pixel_spacing[0]  # row index moves along the column direction, by row spacing
    lps[:3, 2] = slice_step
    lps[:3, 3] = first_position
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps  # LPS → RAS


def from_ras(array: np.ndarray, original_affine: np.ndarray) -> np.ndarray:
    """Inverse of to_ras: a RAS+ array back to the voxel order of the file whose affine is `original_affine`."""
    current = nib.orientations.io_orientation(original_affine)
    target = nib.orientations.axcodes2ornt(("R", "A", "S"))
    return np.ascontiguousarray(
        nib.orientations.apply_orientation(array, nib.orientations.ornt_transform(target, current))
    )
