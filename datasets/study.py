"""Open one study for interactive work from what a user types: a built-in benchmark case, a shipped sample, a NIfTI
file (optionally with a label NIfTI in the label set's file convention: BTCV values for the abdomen, BraTS 2021 values
for brain tumours), a DICOM file or a folder holding one DICOM series."""

from pathlib import Path

import numpy as np

from causal_sam_llm.datasets.brats import SEQUENCES, label_edition, load_brats
from causal_sam_llm.datasets.btcv import load_btcv
from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.dicom_series import dicom_files
from causal_sam_llm.datasets.dicom_study import load_dicom_case
from causal_sam_llm.datasets.label_maps import FILE_CONVENTION, remap_labels
from causal_sam_llm.datasets.nifti import check_label_grid, read_label_volume, read_volume
from causal_sam_llm.datasets.protocol import default_benchmark_dir
from causal_sam_llm.datasets.sample_images import IMAGE_SAMPLES, sample_path
from causal_sam_llm.errors import DataLayoutError

BENCHMARK_PREFIX = "benchmark:"
SAMPLE_PREFIX = "sample:"


def open_study(
    spec: str, labels: str | Path | None = None, benchmark: Path | None = None, label_set_name: str = "abdomen"
) -> Case:
    """`benchmark:mr_t2-0011`, `sample:abdomen_ct`, `scan.nii.gz` (+ labels), `slice.dcm` or a DICOM series folder.
    `label_set_name`: the model's, for a study opened by path (a benchmark case knows its own)."""
    spec = str(spec).strip()
    if labels and not spec.endswith((".nii", ".nii.gz")):  # before, they were dropped without a word
        raise DataLayoutError(
            f"reference labels are read for a NIfTI study only; {spec} "
            + ("brings its own." if spec.startswith(BENCHMARK_PREFIX) else "cannot take a label file here.")
        )
    if spec.startswith(BENCHMARK_PREFIX):
        return benchmark_case(spec.removeprefix(BENCHMARK_PREFIX), benchmark or default_benchmark_dir())
    if spec.startswith(SAMPLE_PREFIX):
        return load_dicom_case([sample_path(spec.removeprefix(SAMPLE_PREFIX))])
    path = Path(spec).expanduser()
    if not path.exists():
        raise DataLayoutError(
            f"study not found: {spec!r}. Give a NIfTI/DICOM path, a DICOM folder, "
            f"benchmark:<case id> (e.g. benchmark:mr_t2-0011) or sample:<{'|'.join(IMAGE_SAMPLES)}>."
        )
    if path.is_dir():
        return load_dicom_case(dicom_files(path), label_set_name)
    if path.name.endswith((".nii", ".nii.gz")):
        return nifti_case(path, Path(labels).expanduser() if labels else None, label_set_name)
    try:
        return load_dicom_case([path], label_set_name)
    except DataLayoutError as exc:  # e.g. a report or a PNG given as the study: say what a study may be
        hint = "A study is a NIfTI file (.nii, .nii.gz), a DICOM file or a DICOM folder."
        raise DataLayoutError(f"{exc} {hint}") from exc


def lasting_spec(spec: str) -> str:
    """A study as a session saves it: a path made absolute (so the session resumes from any folder), a benchmark or
    sample name as it is."""
    spec = str(spec).strip()
    if spec.startswith((BENCHMARK_PREFIX, SAMPLE_PREFIX)):
        return spec
    return str(Path(spec).expanduser().resolve())


def benchmark_case(case_id: str, root: Path) -> Case:
    """A case of the built-in benchmark by id: abdomen `<domain>-<number>` (mr_t2-0011) or brain
    `<patient>-<sequence>` (BraTS2021_00006-flair), as `causal-sam-llm data list` prints."""
    if case_id.startswith("BraTS"):
        return _brain_case(case_id, root)
    domain, _, number = case_id.rpartition("-")
    folder = root / "abdomen" / domain
    if not domain or not number or not folder.is_dir():
        known = sorted(p.name for p in (root / "abdomen").glob("*") if p.is_dir()) if root.is_dir() else []
        raise DataLayoutError(
            f"no benchmark case {case_id!r} in {root}; ids look like mr_t2-0011 with a domain among {known or '—'} "
            "(build it with `causal-sam-llm data make-benchmark`)."
        )
    for case in load_btcv(folder):
        if case.case_id == case_id:
            return case
    raise DataLayoutError(f"benchmark domain {domain} has no case {case_id!r}.")


def _brain_case(case_id: str, root: Path) -> Case:
    patient, _, sequence = case_id.rpartition("-")
    folder = root / "brain"
    if not patient or sequence not in SEQUENCES or not (folder / patient).is_dir():
        raise DataLayoutError(
            f"no benchmark brain case {case_id!r} in {folder}; ids look like BraTS2021_00006-flair with a sequence "
            f"among {', '.join(SEQUENCES)} (build it with `causal-sam-llm data make-benchmark`)."
        )
    return next(c for c in load_brats(folder, (sequence,)) if c.case_id == case_id)


def nifti_case(image: Path, labels: Path | None = None, label_set_name: str = "abdomen") -> Case:
    """A user's NIfTI volume; CT is recognised by air near -1000 HU, anything else is treated as MR. Labels are read
    in the label set's file convention (`FILE_CONVENTION`; a BraTS 2023 `BraTS-GLI-…-seg` file in its own), and
    read when the study is opened: a wrong grid or a value the convention lacks is refused now, not at the first
    `measure dice`."""
    volume = read_volume(image)
    read_labels = None
    if labels:
        check_label_grid(labels, image)
        original = read_label_volume(labels, image)
        convention = FILE_CONVENTION[label_set_name]
        convention = label_edition(labels) if convention.startswith("brats") else convention
        read = remap_labels(original, convention, labels), original
        read_labels = lambda: read  # noqa: E731 - the labels read above
    modality = "CT" if float(np.percentile(volume.array, 1)) < -500 else "MR"

    return Case(
        case_id=image.name.removesuffix(".gz").removesuffix(".nii"),
        source="nifti",
        modality=modality,
        sequence="CT" if modality == "CT" else "MR",
        label_set_name=label_set_name,
        source_path=image,
        _load_image=lambda: volume,
        _load_labels=read_labels,
        metadata={"anatomy_key": f"nifti:{image}"},
    )
