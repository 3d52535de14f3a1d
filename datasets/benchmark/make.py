"""`make_benchmark`: write the built-in multi-domain benchmark in standard layouts.

    OUT/benchmark.json                         what was built: seed, counts, styles, assumptions
    OUT/abdomen/<style>/domain.json            modality, sequence and scanner of the domain
    OUT/abdomen/<style>/Training/{img,label}/  BTCV layout (imgNNNN.nii.gz / labelNNNN.nii.gz, BTCV label values)
    OUT/abdomen/<style>_variants/...           the same, for displaced / enlarged / lesion anatomy
    OUT/brain/BraTS2021_NNNNN/                 BraTS 2021 layout (t1, t1ce, t2, flair, seg)

Case NNNN has the same anatomy (and identical labels) in every style folder of its kind. Seeded and deterministic.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from rich.progress import Progress

from causal_sam_llm.datasets.benchmark.abdomen_anatomy import Variant, build_abdomen
from causal_sam_llm.datasets.benchmark.abdomen_styles import STYLES, render
from causal_sam_llm.datasets.benchmark.brain_phantom import SEQUENCE_VALUES, build_brain, render_sequence
from causal_sam_llm.datasets.benchmark.shapes import Grid
from causal_sam_llm.errors import DataLayoutError

MANIFEST = "benchmark.json"
VARIANTS: tuple[Variant, ...] = ("displaced", "enlarged", "lesion")
VARIANT_STYLES = ("ct_a", "mr_t2")


@dataclass(frozen=True)
class BenchmarkSpec:
    cases: int = 16
    variant_cases: int = 6
    brain_cases: int = 6
    seed: int = 0
    abdomen_shape: tuple[int, int, int] = (160, 160, 24)
    abdomen_spacing_mm: tuple[float, float, float] = (2.2, 2.2, 10.0)
    brain_shape: tuple[int, int, int] = (96, 112, 40)
    brain_spacing_mm: tuple[float, float, float] = (1.8, 1.8, 3.5)


def make_benchmark(out: Path, spec: BenchmarkSpec = BenchmarkSpec(), progress: bool = True) -> dict:
    """Build every domain into `out` (created; an existing folder must be empty or a previous benchmark)."""
    _check_target(out, spec)
    abdomen_grid = Grid.centred(spec.abdomen_shape, spec.abdomen_spacing_mm)
    brain_grid = Grid.centred(spec.brain_shape, spec.brain_spacing_mm)
    jobs = spec.cases + spec.variant_cases + spec.brain_cases
    with Progress(disable=not progress) as bar:
        task = bar.add_task("building benchmark", total=jobs)
        for number in range(1, spec.cases + 1):
            _write_abdomen_case(out, abdomen_grid, spec.seed, number, "standard", tuple(STYLES))
            bar.advance(task)
        for number in range(1, spec.variant_cases + 1):
            variant = VARIANTS[(number - 1) % len(VARIANTS)]
            _write_abdomen_case(out, abdomen_grid, spec.seed, number, variant, VARIANT_STYLES)
            bar.advance(task)
        for number in range(1, spec.brain_cases + 1):
            _write_brain_case(out, brain_grid, spec.seed, number)
            bar.advance(task)
    _write_domain_files(out, spec)
    manifest = _manifest(spec)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _check_target(out: Path, spec: BenchmarkSpec) -> None:
    """An empty or new folder, or one holding a benchmark of the same settings (rewritten alike). One made with
    other settings is refused: its cases beyond the new ones would stay, and every data set reader would list them
    although the new manifest does not."""
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise DataLayoutError(f"{out} is not empty and holds no {MANIFEST}; choose a new or empty folder.")
    if (out / MANIFEST).is_file():
        made = json.loads((out / MANIFEST).read_text()).get("spec", {})
        wanted = json.loads(json.dumps(asdict(spec)))  # tuples as the manifest's lists
        changed = [f"{key} {made.get(key)} → {value}" for key, value in wanted.items() if made.get(key) != value]
        if changed:
            raise DataLayoutError(
                f"{out} holds a benchmark made with other settings ({'; '.join(changed)}); its extra cases would "
                "stay beside the new ones. Choose a new folder, or delete this one first."
            )
    out.mkdir(parents=True, exist_ok=True)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


def _write_abdomen_case(out, grid, seed, number, variant: Variant, styles) -> None:
    variant_index = 0 if variant == "standard" else 1 + VARIANTS.index(variant)
    anatomy = build_abdomen(grid, _rng(seed, 1, variant_index, number), variant)
    for style_index, name in enumerate(styles):
        folder = out / "abdomen" / (name if variant == "standard" else f"{name}_variants") / "Training"
        image = render(anatomy, STYLES[name], _rng(seed, 2, variant_index, number, style_index))
        _save(image, grid.affine(), folder / "img" / f"img{number:04d}.nii.gz")
        _save(anatomy.btcv_labels, grid.affine(), folder / "label" / f"label{number:04d}.nii.gz")


def _write_brain_case(out, grid, seed, number) -> None:
    tissue, seg = build_brain(grid, _rng(seed, 3, number))
    case = f"BraTS2021_{number:05d}"
    folder = out / "brain" / case
    for index, sequence in enumerate(SEQUENCE_VALUES):
        image = render_sequence(tissue, sequence, _rng(seed, 4, number, index))
        _save(image, grid.affine(), folder / f"{case}_{sequence}.nii.gz")
    _save(seg, grid.affine(), folder / f"{case}_seg.nii.gz")


def _save(array: np.ndarray, affine: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(array, affine)
    image.header.set_xyzt_units("mm")
    nib.save(image, str(path))


def _write_domain_files(out: Path, spec: BenchmarkSpec) -> None:
    for name, style in STYLES.items():
        for suffix, anatomy in (("", "standard"), ("_variants", "variants")):
            folder = out / "abdomen" / f"{name}{suffix}"
            if not folder.is_dir():
                continue
            info = {
                "source": "benchmark",
                "prefix": f"{name}{suffix}",
                "modality": style.modality,
                "sequence": style.sequence,
                "style": name,
                "anatomy": anatomy,
                "description": style.description,
                "manufacturer": style.manufacturer,
                "kvp": style.kvp,
                "field_strength_t": style.field_strength_t,
            }
            (folder / "domain.json").write_text(json.dumps(info, indent=2))


def _manifest(spec: BenchmarkSpec) -> dict:
    return {
        "format": 1,
        "spec": asdict(spec),
        "styles": {name: style.description for name, style in STYLES.items()},
        "variants": {"styles": list(VARIANT_STYLES), "kinds": list(VARIANTS)},
        "brain_sequences": list(SEQUENCE_VALUES),
        "assumptions": [
            "Procedural phantoms, not patients: shapes are smooth random solids placed around textbook anatomy.",
            "CT values in HU per contrast phase; MR in arbitrary units with realistic tissue order, bias and Rician "
            "noise; MR resolution differences are simulated as blur on the same grid, so labels are identical "
            "across styles.",
            "Abdominal labels use BTCV values (1 spleen, 2 right kidney, 3 left kidney, 6 liver); lesions and cysts "
            "are labelled as their organ; brain labels use BraTS 2021 values (1 NCR, 2 ED, 4 ET).",
        ],
    }
