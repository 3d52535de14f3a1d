"""BTCV (Synapse multi-organ, RawData) layout: `Training/img/imgXXXX.nii.gz`, `Training/label/labelXXXX.nii.gz`,
`Testing/img/imgXXXX.nii.gz`. Any folder in this layout (the built-in benchmark's domains included) loads here."""

import json
import re
from pathlib import Path

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.label_maps import remap_labels
from causal_sam_llm.datasets.nifti import read_label_volume, read_volume
from causal_sam_llm.errors import DataLayoutError

_IMAGE_NAME = re.compile(r"^img(\d+)\.nii(\.gz)?$")
DOMAIN_FILE = "domain.json"  # optional: {"modality": "MR", "sequence": "mr_t2", ...} for non-CT folders


def is_btcv_layout(root: Path) -> bool:
    return (root / "Training" / "img").is_dir() or (root / "Testing" / "img").is_dir()


def load_btcv(root: Path, split: str = "Training") -> list[Case]:
    """Cases of one split, sorted by id; images and labels load lazily."""
    image_dir = root / split / "img"
    if not image_dir.is_dir():
        present = [name for name in ("Training", "Testing") if (root / name / "img").is_dir()]
        has = f"; it has only {present[0]}" if present else ""
        raise DataLayoutError(f"{root} has no BTCV {split} split: {image_dir} is missing{has}.")
    domain = _domain_info(root)
    label_dir = root / split / "label"
    cases = []
    for image_path in sorted(image_dir.iterdir()):
        match = _IMAGE_NAME.match(image_path.name)
        if not match:
            raise DataLayoutError(f"{image_path} does not follow the BTCV naming imgXXXX.nii.gz.")
        label_path = label_dir / f"label{match.group(1)}.nii{match.group(2) or ''}"
        if split == "Training" and not label_path.is_file():
            raise DataLayoutError(f"missing label for {image_path}: expected {label_path}.")
        cases.append(_case(match.group(1), image_path, label_path if label_path.is_file() else None, domain))
    if not cases:
        raise DataLayoutError(f"{image_dir} holds no images.")
    _check_no_orphan_labels(label_dir, image_dir)
    return cases


def _case(number: str, image_path: Path, label_path: Path | None, domain: dict) -> Case:
    def labels():
        original = read_label_volume(label_path, image_path)
        return remap_labels(original, "btcv", label_path), original

    return Case(
        case_id=f"{domain.get('prefix', 'btcv')}-{number}",
        source=domain.get("source", "btcv"),
        modality=domain.get("modality", "CT"),
        sequence=domain.get("sequence", "CT"),
        label_set_name="abdomen",
        source_path=image_path,
        _load_image=lambda: read_volume(image_path),
        _load_labels=labels if label_path else None,
        metadata={
            **{k: v for k, v in domain.items() if k not in ("modality", "sequence", "source", "prefix")},
            "anatomy_key": f"{domain.get('source', 'btcv')}:{domain.get('anatomy', 'patient')}:{number}",
        },
    )


def _domain_info(root: Path) -> dict:
    path = root / DOMAIN_FILE
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataLayoutError(f"{path} is not valid JSON: {exc}") from exc
    if info.get("modality", "CT") not in ("CT", "MR"):
        raise DataLayoutError(f"{path}: modality must be CT or MR, got {info.get('modality')!r}.")
    return info


def _check_no_orphan_labels(label_dir: Path, image_dir: Path) -> None:
    if not label_dir.is_dir():
        return
    for label_path in sorted(label_dir.iterdir()):
        image_name = label_path.name.replace("label", "img", 1)
        if not (image_dir / image_name).is_file():
            raise DataLayoutError(f"{label_path} has no image: expected {image_dir / image_name}.")
