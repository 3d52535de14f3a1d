"""A study whose anatomy nothing names (a NIfTI file) is measured across: a body as narrow as a head given to the
abdominal model is said so at load (it would get a "765 ml liver"), not refused."""

import nibabel as nib
import numpy as np
import pytest

from causal_sam_llm.datasets.body_width import body_width_mm
from causal_sam_llm.datasets.study import open_study
from causal_sam_llm.tools.load_study import width_note
from causal_sam_llm.tools.registry import run_tool
from causal_sam_llm.tools.workbench import Workbench

ABDOMEN = ["liver", "spleen", "right_kidney", "left_kidney"]


@pytest.mark.parametrize("sample", ["abdomen_ct", "abdomen_mr"])
def test_the_real_abdominal_slices_measure_as_wide_as_an_adult_abdomen(sample):
    case = open_study(f"sample:{sample}")
    width = body_width_mm(case.axial_image(), case.axial_spacing_mm(), case.modality)
    assert 280 <= width <= 340, width  # 309 mm both (pydicom-data's CT and MR slices)


def _head_sized_study(folder, across_mm: float = 150.0):
    """An MR-like volume of an ellipse `across_mm` wide (left-right) and 180 mm deep, 1 mm pixels, noise around it."""
    rng = np.random.default_rng(0)
    x, y = np.meshgrid(np.arange(220) - 110.0, np.arange(220) - 110.0, indexing="ij")  # RAS: x left-right
    inside = (x / (across_mm / 2)) ** 2 + (y / 90.0) ** 2 <= 1
    planes = np.where(inside, 600.0, 0.0)[..., None] + rng.normal(0, 20, (220, 220, 12))
    path = folder / "head.nii.gz"
    nib.save(nib.Nifti1Image(np.clip(planes, 0, None).astype(np.float32), np.diag([1.0, 1.0, 3.0, 1.0])), path)
    return path


def test_a_head_sized_nifti_given_to_the_abdominal_model_is_loaded_with_a_note(tmp_path):
    bench = Workbench.create(tmp_path / "session")
    result = run_tool(bench, "load_study", {"study": str(_head_sized_study(tmp_path))})
    assert bench.case is not None  # a warning, not a refusal: a child's abdomen may be as narrow
    assert 145 <= result.data["body_width_mm"] <= 152
    assert "the body here is 15" in result.message and "where abdomen studies measure 200–700 mm" in result.message
    assert "as wide as a brain tumour study" in result.message
    assert "load it with a matching checkpoint" in result.message


def test_a_body_as_wide_as_the_models_anatomy_gets_no_note_and_the_other_way_round_it_does():
    assert width_note(309.0, "abdomen", ABDOMEN) == ""
    assert width_note(None, "abdomen", ABDOMEN) == ""  # nothing measured (a benchmark case knows its label set)
    brain = ["whole_tumour", "tumour_core", "enhancing_tumour"]
    note = width_note(309.0, "brain_tumour", brain)
    assert "where brain tumour studies measure 60–200 mm, as wide as an abdomen study" in note
    assert "whole tumour, tumour core, enhancing tumour" in note
    assert "as wide as" not in width_note(40.0, "abdomen", ABDOMEN)  # no set's anatomy is that narrow
