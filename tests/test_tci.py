"""TCI: gates point the way the command says, edits touch only the named organ and gated region, corrections re-use
cached embeddings (zero encoder calls), every version is kept, and the simulated clinician speaks plainly."""

import numpy as np
import pytest

from causal_sam_llm.segmentation.clinician import choose_intervention, say
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.tci_apply import apply_blind
from causal_sam_llm.segmentation.tci_gate import intervention_gate

SPACING = (5.0, 2.0, 2.0)  # slice, row, col (mm)


def _organ_masks() -> np.ndarray:
    """(Z=10, C=2, 40, 40): organ 0 a box on slices 3..6, organ 1 a small box elsewhere."""
    masks = np.zeros((10, 2, 40, 40), bool)
    masks[3:7, 0, 12:28, 10:26] = True
    masks[2:5, 1, 30:36, 30:36] = True
    return masks


def test_gates_point_in_patient_directions():
    organ = _organ_masks()[:, 0]
    anterior = intervention_gate(Intervention(organ="liver", action="expand", region="anterior"), organ, SPACING)
    assert anterior[4, :12].max() > 0.9 and anterior[4, 28:].max() < 0.1  # rows above the organ, not below
    left = intervention_gate(Intervention(organ="liver", action="expand", region="left"), organ, SPACING)
    assert left[4, :, 26:].max() > 0.9 and left[4, :, :10].max() < 0.1  # patient's left = image right
    superior = intervention_gate(Intervention(organ="liver", action="expand", region="superior"), organ, SPACING)
    touched = np.nonzero(superior.max(axis=(1, 2)) > 0)[0]
    assert touched.min() >= 5 and touched.max() > 6  # upper part of the organ and the slices above it


def test_blind_expand_grows_only_inside_the_gate_and_only_that_organ():
    masks = _organ_masks()
    command = Intervention(organ="liver", action="expand", region="anterior", strength=0.4)
    edited = apply_blind(masks, 0, command, SPACING)
    gate = intervention_gate(command, masks[:, 0], SPACING) > 0.5
    grown = edited[:, 0] & ~masks[:, 0]
    assert grown.sum() > 0 and not (grown & ~gate).any()
    assert (edited[:, 0] | ~masks[:, 0]).all()  # nothing removed
    np.testing.assert_array_equal(edited[:, 1], masks[:, 1])


def test_blind_remove_region_removes_only_there():
    masks = _organ_masks()
    command = Intervention(organ="liver", action="remove_region", region="posterior", strength=0.5)
    edited = apply_blind(masks, 0, command, SPACING)
    removed = masks[:, 0] & ~edited[:, 0]
    assert removed.sum() > 0
    rows = np.nonzero(removed.any(axis=(0, 2)))[0]
    assert rows.min() >= 19  # the posterior half of rows 12..27
    np.testing.assert_array_equal(edited[:, 1], masks[:, 1])


def test_slices_limit_where_a_command_acts():
    organ = _organ_masks()[:, 0]
    gate = intervention_gate(Intervention(organ="liver", action="shrink", slices=(4, 4)), organ, SPACING)
    assert np.nonzero(gate.max(axis=(1, 2)))[0].tolist() == [4]


def test_simulated_clinician_asks_to_grow_a_liver_cut_short_toward_the_head():
    reference = _organ_masks()
    prediction = reference.copy()
    prediction[6, 0] = False  # the top slice of organ 0 is missing
    command = choose_intervention(prediction, reference, ["liver", "spleen"], SPACING)
    assert (command.organ, command.action, command.region) == ("liver", "expand", "superior")
    assert choose_intervention(reference, reference, ["liver", "spleen"], SPACING) is None
    # the same request again means the last one was not enough: asked at least twice as strongly
    again = choose_intervention(prediction, reference, ["liver", "spleen"], SPACING, previous=command)
    assert (again.organ, again.action, again.region) == ("liver", "expand", "superior")
    assert again.strength == min(1.0, round(2 * command.strength, 2))
    other = command.model_copy(update={"region": "inferior"})
    assert choose_intervention(prediction, reference, ["liver", "spleen"], SPACING, previous=other) == command


def test_simulated_clinician_phrasings_vary_and_use_lay_words():
    command = Intervention(organ="right_kidney", action="expand", region="posterior", strength=0.8)
    phrases = {say(command, np.random.default_rng(seed)) for seed in range(30)}
    assert len(phrases) > 5
    assert any("at the back" in p or "toward the spine" in p for p in phrases)
    assert all("kidney" in p for p in phrases)


@pytest.mark.parametrize("action", ["expand", "shrink", "add_region", "smooth"])
def test_every_action_yields_a_nonempty_gate(action):
    gate = intervention_gate(Intervention(organ="liver", action=action, strength=0.6), _organ_masks()[:, 0], SPACING)
    assert gate.max() > 0.5


@pytest.mark.parametrize("gated", [False, True])
def test_film_logits_equal_the_dot_product_over_explicitly_modulated_features(gated):
    import torch

    from causal_sam_llm.segmentation.film import OrganFilm, modulated_logits

    generator = torch.Generator().manual_seed(0)
    features = torch.randn(3, 32, 8, 8, generator=generator)
    weights = torch.randn(3, 32, generator=generator)
    gamma, beta = 1 + 0.3 * torch.randn(32, generator=generator), torch.randn(32, generator=generator)
    gate = torch.rand(3, 1, 8, 8, generator=generator) if gated else None
    explicit = features + (1 if gate is None else gate) * (
        (gamma[None, :, None, None] - 1) * features + beta[None, :, None, None]
    )
    expected = (weights[:, :, None, None] * explicit).sum(1)
    assert torch.allclose(modulated_logits(features, weights, OrganFilm(gamma, beta, gate)), expected, atol=1e-4)
    assert torch.allclose(
        modulated_logits(features, weights, None), (weights[:, :, None, None] * features).sum(1), atol=1e-4
    )
