"""BraTS layouts. 2021: `BraTS2021_XXXXX/BraTS2021_XXXXX_{t1,t1ce,t2,flair,seg}.nii.gz` (seg 1 NCR, 2 ED, 4 ET).
2023 GLI: `BraTS-GLI-XXXXX-YYY/BraTS-GLI-XXXXX-YYY-{t1n,t1c,t2w,t2f,seg}.nii.gz` (seg 1 NCR, 2 ED, 3 ET).
Labels become nested regions: whole tumour ⊃ tumour core ⊃ enhancing tumour."""

import re
from pathlib import Path

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.label_maps import remap_labels
from causal_sam_llm.datasets.nifti import read_label_volume, read_volume
from causal_sam_llm.errors import DataLayoutError

SEQUENCES = ("t1", "t1ce", "t2", "flair")
_EDITIONS = {
    "brats2021": (
        re.compile(r"^BraTS2021_\d{5}$"),
        "_",
        dict(zip(SEQUENCES, ("t1", "t1ce", "t2", "flair"), strict=True)),
    ),
    "brats2023": (
        re.compile(r"^BraTS-GLI-\d{5}-\d{3}$"),
        "-",
        dict(zip(SEQUENCES, ("t1n", "t1c", "t2w", "t2f"), strict=True)),
    ),
}


def brats_edition(root: Path) -> str | None:
    names = [p.name for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    for edition, (pattern, _, _) in _EDITIONS.items():
        if names and any(pattern.match(n) for n in names):
            return edition
    return None


def load_brats(root: Path, sequences: tuple[str, ...] = SEQUENCES) -> list[Case]:
    """One Case per (patient, sequence); all sequences of a patient share the patient's segmentation."""
    edition = brats_edition(root)
    if edition is None:
        raise DataLayoutError(f"{root} holds no BraTS2021_XXXXX or BraTS-GLI-XXXXX-YYY case folders.")
    unknown = set(sequences) - set(SEQUENCES)
    if unknown:
        raise DataLayoutError(f"unknown BraTS sequence(s) {sorted(unknown)}; choose from {SEQUENCES}.")
    pattern, joiner, names = _EDITIONS[edition]
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    odd = next((folder for folder in folders if not pattern.match(folder.name)), None)
    if odd is not None:  # plain files (the releases' CSV tables) are left alone; a folder is a case or a mistake
        raise DataLayoutError(
            f"{odd} is no {edition} case folder (like {_EXAMPLES[edition]}); keep one edition's case folders only."
        )
    _check_segmentations(folders, joiner)
    return [_case(folder, joiner, names[seq], seq, edition) for folder in folders for seq in sequences]


_EXAMPLES = {"brats2021": "BraTS2021_00001", "brats2023": "BraTS-GLI-00000-000"}


def _check_segmentations(folders: list[Path], joiner: str) -> None:
    """Every case has its segmentation or none has (a validation release): one missing among others is a broken
    download, not an unlabelled case."""
    missing = [folder / f"{folder.name}{joiner}seg.nii.gz" for folder in folders]
    missing = [path for path in missing if not path.is_file()]
    if missing and len(missing) < len(folders):
        raise DataLayoutError(f"missing BraTS segmentation {missing[0]} (the other cases have theirs).")


_SEG_2023 = re.compile(r"^BraTS-GLI-\d{5}-\d{3}-seg\.nii(\.gz)?$")


def label_edition(label_path: Path) -> str:
    """The BraTS edition a segmentation file's values are in: 2023's by its release name (`BraTS-GLI-…-seg.nii.gz`:
    3 is the enhancing tumour), else 2021's (4; what exports write)."""
    return "brats2023" if _SEG_2023.match(label_path.name) else "brats2021"


def _case(folder: Path, joiner: str, file_suffix: str, sequence: str, edition: str) -> Case:
    image_path = folder / f"{folder.name}{joiner}{file_suffix}.nii.gz"
    seg_path = folder / f"{folder.name}{joiner}seg.nii.gz"
    if not image_path.is_file():
        raise DataLayoutError(f"missing BraTS sequence file: {image_path}")

    def labels():
        original = read_label_volume(seg_path, image_path)
        return remap_labels(original, edition, seg_path), original

    return Case(
        case_id=f"{folder.name}-{sequence}",
        source=edition,
        modality="MR",
        sequence=sequence,
        label_set_name="brain_tumour",
        source_path=image_path,
        _load_image=lambda: read_volume(image_path),
        _load_labels=labels if seg_path.is_file() else None,
        metadata={"patient": folder.name, "file_sequence": file_suffix, "anatomy_key": f"{edition}:{folder.name}"},
    )
