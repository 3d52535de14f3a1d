"""Real images shipped inside installed packages, for smoke tests and the demo. Read-only: never written to."""

import importlib.resources
from pathlib import Path

from causal_sam_llm.errors import DataLayoutError

# name → (package, path inside it, what it is)
SAMPLES: dict[str, tuple[str, str, str]] = {
    "abdomen_ct": ("data_store", "data/explicit_VR-UN.dcm", "abdominal CT slice (Pancreas-CT, 512², pydicom-data)"),
    "abdomen_mr": (
        "data_store",
        "data/MR-SIEMENS-DICOM-WithOverlays.dcm",
        "abdominal MR slice (Siemens 1.5 T GRE, 484², pydicom-data)",
    ),
    "liver_seg": ("data_store", "data/liver.dcm", "DICOM-SEG of a liver (pydicom-data)"),
}
IMAGE_SAMPLES = [name for name in SAMPLES if name != "liver_seg"]  # what can be opened as a study or embedded


def sample_path(name: str) -> Path:
    """Path of a shipped sample image by name; see SAMPLES."""
    if name not in SAMPLES:
        raise DataLayoutError(f"unknown sample {name!r}; choose one of: {', '.join(SAMPLES)}.")
    package, relative, _ = SAMPLES[name]
    try:
        path = Path(str(importlib.resources.files(package).joinpath(relative)))
    except ModuleNotFoundError as exc:
        raise DataLayoutError(f"sample {name!r} needs the {package} package (pip install pydicom-data).") from exc
    if not path.is_file():
        raise DataLayoutError(f"sample {name!r} is missing from the installed package: {path}.")
    return path
