"""CHAOS layout: `CT/<id>/DICOM_anon/*.dcm` + `CT/<id>/Ground/*.png` (liver), `MR/<id>/T2SPIR/{DICOM_anon,Ground}`,
`MR/<id>/T1DUAL/DICOM_anon/{InPhase,OutPhase}` + `MR/<id>/T1DUAL/Ground`. Slices are ordered by DICOM position; each
Ground PNG lies on the pixel grid of its DICOM slice (paired by file stem, else by file-name order)."""

from pathlib import Path

import numpy as np
from PIL import Image

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.dicom_series import (
    SeriesOrder,
    dicom_files,
    order_series,
    read_series,
    series_header,
    stack_to_volume,
)
from causal_sam_llm.datasets.label_maps import png_grey_to_labels
from causal_sam_llm.errors import DataLayoutError

SEQUENCES = ("CT", "T2SPIR", "T1DUAL-InPhase", "T1DUAL-OutPhase")


def is_chaos_layout(root: Path) -> bool:
    return any(
        ((root / m).is_dir() and any((root / m).glob("*/*/DICOM_anon"))) or any((root / m).glob("*/DICOM_anon"))
        for m in ("CT", "MR")
    )


def load_chaos(root: Path, sequences: tuple[str, ...] = SEQUENCES) -> list[Case]:
    cases: list[Case] = []
    if "CT" in sequences and (root / "CT").is_dir():
        cases += [_case(f, f / "DICOM_anon", f / "Ground", "CT", "CT", "chaos_ct") for f in _patients(root / "CT")]
    for patient in _patients(root / "MR") if (root / "MR").is_dir() else []:
        cases += _mr_cases(patient, sequences)
    if not cases:
        raise DataLayoutError(f"{root} holds no CHAOS studies (expected CT/<id>/DICOM_anon or MR/<id>/T2SPIR).")
    return cases


def _mr_cases(patient: Path, sequences: tuple[str, ...]) -> list[Case]:
    """The sequences a patient folder has (a study may lack T1DUAL or T2SPIR; one with neither is an error)."""
    t2, t1 = patient / "T2SPIR", patient / "T1DUAL"
    if not t2.is_dir() and not t1.is_dir():
        raise DataLayoutError(f"{patient} has neither T2SPIR/ nor T1DUAL/: not a CHAOS MR study.")
    cases = []
    if "T2SPIR" in sequences and t2.is_dir():
        cases.append(_case(patient, t2 / "DICOM_anon", t2 / "Ground", "MR", "T2SPIR", "chaos_mr"))
    phases = [s.split("-")[1] for s in sequences if s.startswith("T1DUAL-")]
    if phases and t1.is_dir():
        _check_t1dual_phases(t1)
        for phase in phases:
            cases.append(_case(patient, t1 / "DICOM_anon" / phase, t1 / "Ground", "MR", f"T1DUAL-{phase}", "chaos_mr"))
    return cases


def _patients(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: (len(p.name), p.name))


def _case(patient: Path, dicom_dir: Path, ground_dir: Path, modality: str, sequence: str, label_source: str) -> Case:
    def image():
        return read_series(dicom_dir)[0]

    def labels():
        order = order_series(dicom_dir)
        grey = _ground_slices(order, ground_dir)
        unified = [png_grey_to_labels(g, label_source, ground_dir) for g in grey]
        return stack_to_volume(unified, order, np.uint8).array, stack_to_volume(grey, order, np.uint8).array

    return Case(
        case_id=f"chaos-{modality}-{patient.name}-{sequence}",
        source="chaos",
        modality=modality,
        sequence=sequence,
        label_set_name="abdomen",
        source_path=dicom_dir,
        _load_image=image,
        _load_labels=labels if ground_dir.is_dir() else None,
        metadata={
            "patient": patient.name,
            "anatomy_key": f"chaos:{modality}:{patient.name}",
            "voxel_key": f"chaos:{modality}:{patient.name}:{sequence.split('-')[0]}",  # T1DUAL's phases: one grid
            **({"annotated": ("liver",)} if modality == "CT" else {}),  # CHAOS CT ground truth marks the liver only
        },
    )


def _ground_slices(order: SeriesOrder, ground_dir: Path) -> list[np.ndarray]:
    pngs = sorted(p for p in ground_dir.iterdir() if p.suffix.lower() == ".png")
    by_stem = {p.stem: p for p in pngs}
    if all(f.stem in by_stem for f in order.files):
        paired = [by_stem[f.stem] for f in order.files]
    else:
        if len(pngs) != len(order.files):
            raise DataLayoutError(
                f"{ground_dir} has {len(pngs)} PNG masks for {len(order.files)} DICOM slices; they must match."
            )
        by_name = dict(zip(sorted(order.files), pngs, strict=True))
        paired = [by_name[f] for f in order.files]
    return [_read_png(p, order) for p in paired]


def _read_png(path: Path, order: SeriesOrder) -> np.ndarray:
    try:
        grey = np.asarray(Image.open(path).convert("L"))
    except Exception as exc:
        raise DataLayoutError(f"{path} is not a readable PNG: {exc}") from exc
    if grey.shape != (order.rows, order.cols):
        raise DataLayoutError(f"{path} is {grey.shape}; its DICOM slice is {(order.rows, order.cols)} (rows, cols).")
    return grey


def _check_t1dual_phases(t1dual: Path) -> None:
    """In-phase echoes are longer than opposed-phase ones (≈4.6 vs 2.3 ms at 1.5 T); a swap would mislabel them."""
    echo = {
        phase: float(series_header(t1dual / "DICOM_anon" / phase).get("EchoTime", 0.0))
        for phase in ("InPhase", "OutPhase")
    }
    if echo["InPhase"] and echo["OutPhase"] and echo["InPhase"] <= echo["OutPhase"]:
        raise DataLayoutError(
            f"{t1dual}/DICOM_anon: InPhase EchoTime {echo['InPhase']} ms is not longer than OutPhase "
            f"{echo['OutPhase']} ms; the two folders look swapped."
        )


__all__ = ["SEQUENCES", "dicom_files", "is_chaos_layout", "load_chaos"]
