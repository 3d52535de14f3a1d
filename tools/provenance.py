"""Where an exported mask came from, written beside every export as `<export>.json`: the software and checkpoint,
the study, the mask version and the steps that made it (segmentations and the clinician's corrections, the first
first; an undone branch is not among them), and which organs a clinician corrected. A DICOM-SEG also carries the
last in its segments (tools/export.py): SEMIAUTOMATIC for those, AUTOMATIC for the others."""

import hashlib
import json
import time
from pathlib import Path

from causal_sam_llm import __version__
from causal_sam_llm.tools.mask_history import MaskHistory, write_atomically
from causal_sam_llm.tools.workbench import Workbench


def corrected_organs(history: MaskHistory, classes: list[str]) -> list[str]:
    """Organs whose current masks a clinician's correction changed, and no later segmentation of every slice
    replaced, in `classes` order."""
    corrected: set[str] = set()
    for version in history.lineage():
        corrected = (corrected - set(version.segmented)) | set(version.edited)
    return [name for name in classes if name in corrected]


def provenance(bench: Workbench, export: Path, label_values: dict[str, int] | None) -> dict:
    """What `<export>.json` holds. `label_values`: each organ's value in a label-map export (None for DICOM-SEG,
    whose segments name their organs)."""
    case, history = bench.require_case(), bench.require_history()
    corrected = corrected_organs(history, bench.classes)
    record = {
        "export": export.name,
        "software": f"causal-sam-llm {__version__}",
        "checkpoint": {"path": str(bench.checkpoint), "sha256": _sha256(bench.checkpoint)},
        "study": {
            "case_id": case.case_id,
            "source": str(Path(case.source_path).resolve()),
            "format": case.source,
            "sha256": source_sha256(Path(case.source_path)),
        },
        "mask_version": history.current,
        "steps": [{"version": v.number, "did": v.note} for v in history.lineage()],
        "corrected_by_clinician": corrected,
        "automatic": [name for name in bench.classes if name not in corrected],
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if label_values is not None:
        record["label_values"] = label_values
    return record


def write_provenance(bench: Workbench, export: Path, label_values: dict[str, int] | None = None) -> Path:
    """`<export>.json` beside the export (its name without .nii.gz or .dcm)."""
    stem = export.name.removesuffix(".gz").removesuffix(".nii").removesuffix(".dcm")
    path = export.with_name(f"{stem}.json")
    write_atomically(path, json.dumps(provenance(bench, export, label_values), indent=1).encode())
    return path


def source_sha256(source: Path) -> str:
    """The study's file, or for a folder (a DICOM series) its files' names and contents in name order: which images
    the masks were drawn on, should the path later hold others (a research-user trial: only the path was kept)."""
    if source.is_file():
        return _sha256(source)
    digest = hashlib.sha256()
    for file in sorted(f for f in source.rglob("*") if f.is_file()):
        digest.update(f"{file.relative_to(source)}\0{_sha256(file)}\0".encode())
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
