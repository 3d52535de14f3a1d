"""Open any supported data set folder by recognising its layout, and filter its cases."""

from pathlib import Path

from causal_sam_llm.datasets.amos import is_amos_layout, load_amos
from causal_sam_llm.datasets.brats import brats_edition, load_brats
from causal_sam_llm.datasets.btcv import is_btcv_layout, load_btcv
from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.chaos import is_chaos_layout, load_chaos
from causal_sam_llm.errors import DataLayoutError

LAYOUTS = ("btcv", "chaos", "amos", "brats")
BTCV_SPLITS = {"train": "Training", "test": "Testing"}  # BTCV publishes no validation split
FOLDER_PER_SPLIT = {  # layouts whose every split is a folder of its own: (name, those folders)
    "chaos": ("CHAOS", "CHAOS_Train_Sets/Train_Sets or CHAOS_Test_Sets/Test_Sets"),
    "brats": ("BraTS", "the TrainingData or ValidationData folder"),
}


def detect_layout(root: Path) -> str:
    if not root.is_dir():
        raise DataLayoutError(f"data folder not found: {root}")
    if not any(root.iterdir()):
        raise DataLayoutError(f"data folder {root} is empty.")
    for name, test in (("btcv", is_btcv_layout), ("amos", is_amos_layout), ("chaos", is_chaos_layout)):
        if test(root):
            return name
    if brats_edition(root):
        return "brats"
    raise DataLayoutError(
        f"{root} is in no known layout: expected BTCV (Training/img), AMOS22 (dataset.json + imagesTr), "
        "CHAOS (CT/<id>/DICOM_anon or MR/<id>/T2SPIR) or BraTS (BraTS2021_XXXXX/ folders)."
    )


def open_dataset(
    root: Path, split: str = "train", modality: str | None = None, sequence: str | None = None
) -> list[Case]:
    """All cases of a folder's split that match `modality` and `sequence` (None: any)."""
    root = Path(root).expanduser()
    layout = detect_layout(root)
    _require_published_split(root, layout, split)
    if layout == "btcv":
        cases = load_btcv(root, BTCV_SPLITS[split])
    elif layout == "amos":
        cases = load_amos(root, split)
    elif layout == "chaos":
        cases = load_chaos(root)
    else:
        cases = load_brats(root)
    selected = [c for c in cases if (modality in (None, c.modality)) and (sequence in (None, c.sequence))]
    if not selected:
        found = sorted({(c.modality, c.sequence) for c in cases})
        raise DataLayoutError(f"{root} ({layout}) has no {modality or ''} {sequence or ''} cases; it has {found}.")
    return selected


def _require_published_split(root: Path, layout: str, split: str) -> None:
    """A split the layout does not publish is an error, not silently another split's cases: BTCV has Training and
    Testing only; CHAOS and BraTS publish each split as a folder of its own, so the folder given is the split."""
    if layout == "btcv" and split not in BTCV_SPLITS:
        raise DataLayoutError(
            f"{root} (BTCV layout) has no {split} split: BTCV publishes Training (train) and Testing (test) only. "
            "The protocols hold cases out of Training by share instead (datasets/protocols/*.yaml, `cases`)."
        )
    if layout in FOLDER_PER_SPLIT and split != "train":
        name, folders = FOLDER_PER_SPLIT[layout]
        raise DataLayoutError(
            f"{root} ({name} layout) is one split already: {name} publishes each split as its own folder "
            f"({folders}). Give that folder, without --split {split}."
        )
