"""AMOS22 layout: `imagesTr/ labelsTr/ imagesVa/ labelsVa/ imagesTs/` with `amos_XXXX.nii.gz` and `dataset.json`.
Ids below 500 are CT, 500 and above MR."""

import json
import re
from pathlib import Path

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.label_maps import remap_labels
from causal_sam_llm.datasets.nifti import read_label_volume, read_volume
from causal_sam_llm.errors import DataLayoutError

_NAME = re.compile(r"^amos_(\d{4})\.nii\.gz$")
SPLITS = {"train": ("imagesTr", "labelsTr"), "val": ("imagesVa", "labelsVa"), "test": ("imagesTs", None)}
MR_FIRST_ID = 500


def is_amos_layout(root: Path) -> bool:
    return (root / "dataset.json").is_file() and any((root / images).is_dir() for images, _ in SPLITS.values())


def load_amos(root: Path, split: str = "train") -> list[Case]:
    _check_dataset_json(root)
    images_name, labels_name = SPLITS[split]
    image_dir = root / images_name
    if not image_dir.is_dir():
        raise DataLayoutError(f"{root} has no {images_name}/ folder for the {split} split.")
    cases = [_case(image_dir, labels_name and root / labels_name, path) for path in sorted(image_dir.iterdir())]
    if not cases:
        raise DataLayoutError(f"{image_dir} holds no images.")
    return cases


def _case(image_dir: Path, label_dir: Path | None, image_path: Path) -> Case:
    match = _NAME.match(image_path.name)
    if not match:
        raise DataLayoutError(f"{image_path} does not follow the AMOS naming amos_XXXX.nii.gz.")
    label_path = label_dir / image_path.name if label_dir else None
    if label_path is not None and not label_path.is_file():
        raise DataLayoutError(f"missing label for {image_path}: expected {label_path}.")
    modality = "CT" if int(match.group(1)) < MR_FIRST_ID else "MR"

    def labels():
        original = read_label_volume(label_path, image_path)
        return remap_labels(original, "amos", label_path), original

    return Case(
        case_id=f"amos-{match.group(1)}",
        source="amos",
        modality=modality,
        sequence=modality,
        label_set_name="abdomen",
        source_path=image_path,
        _load_image=lambda: read_volume(image_path),
        _load_labels=labels if label_path else None,
    )


def _check_dataset_json(root: Path) -> None:
    path = root / "dataset.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataLayoutError(f"{path} is missing or not valid JSON: {exc}") from exc
    labels = meta.get("labels", {})
    if labels.get("6", "").lower() != "liver" or labels.get("1", "").lower() != "spleen":
        raise DataLayoutError(f"{path} does not list the AMOS22 labels (1 spleen … 6 liver …); is this AMOS?")
