"""Open any supported data set folder by recognising its layout, and filter its cases."""

from pathlib import Path

from causal_sam_llm.datasets.amos import is_amos_layout, load_amos
from causal_sam_llm.datasets.brats import brats_edition, load_brats
from causal_sam_llm.datasets.btcv import is_btcv_layout, load_btcv
from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.chaos import is_chaos_layout, load_chaos
from causal_sam_llm.errors import DataLayoutError

LAYOUTS = ("btcv", "chaos", "amos", "brats")


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
    if layout == "btcv":
        cases = load_btcv(root, "Training" if split in ("train", "val") else "Testing")
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
