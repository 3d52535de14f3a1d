"""TCI: gates point the way the command says, edits touch only the named organ and gated region, the commanded amount
is the facing surface moved by the reach, the offset moves exactly that amount through the strongest evidence, and
no other organ's mask changes."""

import numpy as np
import pytest
from toy_organs import SPACING, liver_with_blobs, organ_masks

from causal_sam_llm.datasets.label_maps import label_set as named_label_set
from causal_sam_llm.segmentation import tci_gate
from causal_sam_llm.segmentation.clinician import perfect_edit
from causal_sam_llm.segmentation.inference import masks_from_probabilities
from causal_sam_llm.segmentation.intensity_evidence import intensity_log_ratio
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.piece_removal import deleted_whole, detached_pieces
from causal_sam_llm.segmentation.tci_amount import commanded_change, facing_area_mm2, facing_slices, unsaid_strength
from causal_sam_llm.segmentation.tci_apply import intensity_surroundings, keep_other_organs, touched_slices
from causal_sam_llm.segmentation.tci_blind import apply_blind
from causal_sam_llm.segmentation.tci_evaluation import right_share
from causal_sam_llm.segmentation.tci_gate import GATE_BAND, gate_band, intervention_gate, organ_body
from causal_sam_llm.segmentation.tci_placement import drop_islands, offset_for_amount


def test_gates_point_in_patient_directions():
    organ = organ_masks()[:, 0]
    anterior = intervention_gate(Intervention(organ="liver", action="expand", region="anterior"), organ, SPACING)
    assert anterior[4, :12].max() > 0.9 and anterior[4, 28:].max() < 0.1  # rows above the organ, not below
    left = intervention_gate(Intervention(organ="liver", action="expand", region="left"), organ, SPACING)
    assert left[4, :, 26:].max() > 0.9 and left[4, :, :10].max() < 0.1  # patient's left = image right
    superior = intervention_gate(Intervention(organ="liver", action="expand", region="superior"), organ, SPACING)
    touched = np.nonzero(superior.max(axis=(1, 2)) > 0)[0]
    assert touched.min() >= 5 and touched.max() > 6  # upper part of the organ and the slices above it


def test_a_grow_may_reach_deeper_than_its_average_move_but_not_beyond_the_band():
    """The strength fixes how much (area × reach); the gate lets that amount go up to GATE_BAND × reach deep where the
    evidence says, and no further."""
    organ = organ_masks()[:, 0]  # rows 12..27 on slices 3..6
    command = Intervention(organ="liver", action="expand", region="anterior", strength=0.1)  # reach 3 mm = 1.5 rows
    gate = intervention_gate(command, organ, SPACING)
    depth_rows = GATE_BAND * 3.0 / SPACING[1]
    assert GATE_BAND >= 2 and gate[4, 12 - 3, 18] > 0.5  # 6 mm out: twice the 3 mm average move
    assert gate[4, : int(12 - depth_rows) - 2, 18].max() < 0.1  # beyond the band: nothing
    assert commanded_change(organ, command, SPACING) == round(4 * 16 * 10 * 3 / 20)  # the amount: 3 mm of the face


def test_a_grow_onto_slices_past_a_tapering_end_counts_the_faces_that_look_onto_them():
    """ "the spleen is missing its lowest slice" (a grow toward the feet on its end slice and the one below) had
    counted only the faces of its tapering end slice, 9 voxels, and added 9 voxels: the faces of the slice above,
    which look down onto the end slice, now count too."""
    organ = np.zeros((10, 40, 40), bool)
    organ[4:7, 12:28, 12:28] = True
    organ[3, 19:21, 19:21] = True  # a 2 × 2 tip on slice 3
    down = Intervention(organ="liver", action="expand", region="inferior", strength=5 / 30, slices=(2, 3))
    assert facing_slices(down) == (2, 4)
    uniform = int((apply_blind(organ[:, None], 0, down, SPACING)[:, 0] != organ).sum())
    by_area = round((16 * 16) * 4 * 5 / 20)  # slice 4's 252 faces down and the tip's 4, moved 5 mm
    assert commanded_change(organ, down, SPACING) == min(by_area, uniform) > round(4 * 4 * 5 / 20)  # the tip alone
    up = down.model_copy(update={"region": "superior", "slices": (6, 7)})
    assert facing_slices(up) == (5, 7)
    for unchanged in (down.model_copy(update={"action": "shrink"}), down.model_copy(update={"region": "left"})):
        assert facing_slices(unchanged) == (2, 3)  # a shrink's faces, and a side's, lie on its own slices
    assert facing_slices(down.model_copy(update={"slices": None})) is None


def test_a_gate_band_sweep_holds_only_inside_its_block():
    """`eval-tci --gate-band B`: every gate made inside the block acts B reaches deep; afterwards the default holds."""
    organ = organ_masks()[:, 0]
    command = Intervention(organ="liver", action="expand", region="anterior", strength=0.1)  # reach 3 mm = 1.5 rows
    with gate_band(1.0):
        shallow = intervention_gate(command, organ, SPACING)
    assert tci_gate.GATE_BAND == GATE_BAND
    deep = intervention_gate(command, organ, SPACING)
    assert shallow[4, 12 - 3, 18] < 0.5 < deep[4, 12 - 3, 18]  # 6 mm out: beyond one reach, within three
    with pytest.raises(ValueError, match="must be positive"), gate_band(0):
        intervention_gate(command, organ, SPACING)  # never reached: the band is refused on entry
    assert tci_gate.GATE_BAND == GATE_BAND


def test_blind_expand_grows_only_inside_the_gate_and_only_that_organ():
    masks = organ_masks()
    command = Intervention(organ="liver", action="expand", region="anterior", strength=0.4)
    edited = apply_blind(masks, 0, command, SPACING)
    gate = intervention_gate(command, masks[:, 0], SPACING) > 0.5
    grown = edited[:, 0] & ~masks[:, 0]
    assert grown.sum() > 0 and not (grown & ~gate).any()
    assert (edited[:, 0] | ~masks[:, 0]).all()  # nothing removed
    np.testing.assert_array_equal(edited[:, 1], masks[:, 1])


def test_blind_remove_region_removes_only_there():
    masks = organ_masks()
    command = Intervention(organ="liver", action="remove_region", region="posterior", strength=0.5)
    edited = apply_blind(masks, 0, command, SPACING)
    removed = masks[:, 0] & ~edited[:, 0]
    assert removed.sum() > 0
    rows = np.nonzero(removed.any(axis=(0, 2)))[0]
    assert rows.min() >= 19  # the posterior half of rows 12..27
    np.testing.assert_array_equal(edited[:, 1], masks[:, 1])


def test_remove_region_deletes_the_detached_pieces_toward_its_region_whole():
    """ "That blob at the front is not liver, delete it": `remove_region` takes the liver's pieces apart from its
    largest that lie toward the named region (the clinician's rule for directions), each whole (blind and perfect
    edits alike), with named slices those touching them. With no such piece it cuts the organ back there. "Delete the
    liver on slices 4 to 5" (`whole` with slices) deletes all of it there, detached or not (deleted_whole)."""
    masks, front, back = liver_with_blobs()
    anterior = Intervention(organ="liver", action="remove_region", region="anterior")
    np.testing.assert_array_equal(detached_pieces(anterior, masks[:, 0], SPACING), front)
    whole = anterior.model_copy(update={"region": "whole"})
    np.testing.assert_array_equal(detached_pieces(whole, masks[:, 0], SPACING), front | back)
    assert not detached_pieces(anterior.model_copy(update={"region": "left"}), masks[:, 0], SPACING).any()
    touching = anterior.model_copy(update={"slices": (5, 9)})  # the front piece lies on slices 3 to 5
    np.testing.assert_array_equal(detached_pieces(touching, masks[:, 0], SPACING), front)
    assert not detached_pieces(anterior.model_copy(update={"slices": (6, 9)}), masks[:, 0], SPACING).any()
    on_slices = whole.model_copy(update={"slices": (4, 5)})
    assert not detached_pieces(on_slices, masks[:, 0], SPACING).any()
    there = np.zeros(masks[:, 0].shape, bool)
    there[4:6] = masks[4:6, 0]
    np.testing.assert_array_equal(deleted_whole(on_slices, masks[:, 0], SPACING), there)
    np.testing.assert_array_equal(apply_blind(masks, 0, on_slices, SPACING)[:, 0], masks[:, 0] & ~there)
    np.testing.assert_array_equal(perfect_edit(on_slices, masks[:, 0], masks[:, 0], SPACING), masks[:, 0] & ~there)
    edited = apply_blind(masks, 0, anterior, SPACING)
    np.testing.assert_array_equal(edited[:, 0], masks[:, 0] & ~front)
    np.testing.assert_array_equal(edited[:, 1], masks[:, 1])
    reference = organ_masks()[:, 0] | back  # the back piece is liver, the front one is not
    np.testing.assert_array_equal(perfect_edit(anterior, masks[:, 0], reference, SPACING), masks[:, 0] & ~front)
    cut_back = apply_blind(masks, 0, anterior.model_copy(update={"region": "left"}), SPACING)[:, 0]
    assert (masks[:, 0] & ~cut_back & ~front & ~back).any()  # no piece toward the left: the liver's own left side


def test_a_grow_reaches_a_section_cut_short_far_more_than_the_next_one():
    """A grow's band on a slice is measured from the sections next to it too: on MR a predicted liver's lowest
    sections held 121 of 712 voxels, and a band about those alone could not reach what was missing there."""
    organ = organ_masks()[:, 0]  # rows 12..27, columns 10..25 on slices 3..6
    organ[3] = False
    organ[3, 19:21, 17:19] = True  # slice 3 cut down to its middle
    gate = intervention_gate(Intervention(organ="liver", action="expand", strength=0.1), organ, SPACING)  # 9 mm band
    assert gate[3, 13, 11] > 0.5  # slice 4's corner, 8 pixels (16 mm) from what slice 3 holds
    assert gate[3, 7, 18] < 0.5 and gate[3, 20, 32] < 0.5  # but no further than the band beyond slice 4's section
    shrink = intervention_gate(Intervention(organ="liver", action="shrink", strength=0.1), organ, SPACING)
    assert shrink[3, 13, 11] == 0  # a shrink acts on the organ as it is


def test_slices_limit_where_a_command_acts():
    organ = organ_masks()[:, 0]
    gate = intervention_gate(Intervention(organ="liver", action="shrink", slices=(4, 4)), organ, SPACING)
    assert np.nonzero(gate.max(axis=(1, 2)))[0].tolist() == [4]


def test_growing_into_new_slices_stays_under_the_organ():
    organ = organ_masks()[:, 0]  # slices 3..6, rows 12..27, cols 10..25
    gate = intervention_gate(Intervention(organ="liver", action="expand", strength=0.1), organ, SPACING)
    assert gate[7, 20, 18] > 0.9  # above the organ's footprint
    assert gate[7, 2:, 36:].max() < 0.01 and gate[7, :4].max() < 0.01  # not the far corners of the slice


@pytest.mark.parametrize("region", ["anterior", "posterior", "left", "right"])
def test_a_grow_toward_a_side_stays_on_the_organs_slices(region):
    """ "grow the left kidney at the front" had added voxels on slices beyond both its ends (a research-user trial):
    a side is in-plane; only a grow of the whole organ, or toward the head or feet, reaches new slices."""
    organ = organ_masks()[:, 0]  # slices 3..6
    side = intervention_gate(Intervention(organ="liver", action="expand", region=region, strength=0.3), organ, SPACING)
    assert np.nonzero(side.max(axis=(1, 2)) > 0)[0].tolist() == [3, 4, 5, 6]
    whole = intervention_gate(Intervention(organ="liver", action="expand", strength=0.3), organ, SPACING)
    assert whole[2].max() > 0.9 and whole[7].max() > 0.9


def test_the_commanded_amount_is_the_facing_surface_moved_by_the_reach():
    organ = organ_masks()[:, 0]  # 4 slices of a 16 × 16 square
    up = Intervention(organ="liver", action="expand", region="superior", strength=0.5)
    # the top face: 16 × 16 voxels of 2 × 2 mm, moved by 15 mm, in voxels of 5 × 2 × 2 mm
    assert commanded_change(organ, up, SPACING) == round(16 * 16 * 4 * 15 / 20)
    front = up.model_copy(update={"region": "anterior"})
    assert commanded_change(organ, front, SPACING) == round(4 * 16 * 10 * 15 / 20)
    whole = up.model_copy(update={"region": "whole", "strength": 0.2})
    faces = 2 * 16 * 16 * 4 + 4 * 4 * 16 * 10  # top and bottom, four sides
    uniform = int((apply_blind(organ[:, None], 0, whole, SPACING)[:, 0] != organ).sum())
    assert commanded_change(organ, whole, SPACING) == min(round(faces / 1.5 * 6 / 20), uniform)
    # shrinking by 30 mm would, by area × reach, remove more than the organ holds: capped by what erosion removes
    gone = whole.model_copy(update={"action": "shrink", "strength": 1.0})
    eroded = int((apply_blind(organ[:, None], 0, gone, SPACING)[:, 0] != organ).sum())
    assert commanded_change(organ, gone, SPACING) == eroded <= organ.sum() < faces / 1.5 * 30 / 20


def test_a_grow_acts_on_the_organs_body_not_on_specks_elsewhere():
    """A speck the segmenter left far from the organ neither receives the growth nor adds to its amount; a shrink
    may still take it."""
    organ = organ_masks()[:, 0]
    speckled = organ.copy()
    speckled[8, 34:36, 34:36] = True  # 4 voxels, 0.4 % of the organ, on another slice
    grow = Intervention(organ="liver", action="expand", strength=0.2)
    np.testing.assert_array_equal(intervention_gate(grow, speckled, SPACING), intervention_gate(grow, organ, SPACING))
    assert commanded_change(speckled, grow, SPACING) == commanded_change(organ, grow, SPACING)
    assert organ_body(speckled).sum() == organ.sum()
    shrink = grow.model_copy(update={"action": "shrink"})
    assert intervention_gate(shrink, speckled, SPACING)[8, 34:36, 34:36].max() > 0.2


@pytest.mark.parametrize("action", ["expand", "shrink"])
def test_the_offset_moves_exactly_the_commanded_amount_through_the_strongest_evidence(action):
    rng = np.random.default_rng(0)
    logits = rng.normal(-4 if action == "expand" else 4, 2, size=(3, 20, 20))
    weight = np.zeros(logits.shape)
    weight[1] = 1.0
    weight[2] = 0.7  # a softer gate: the blend with the old probability counts
    old = 1 / (1 + np.exp(-logits))
    offset = offset_for_amount(action, logits, weight, old, amount=50)
    new = weight / (1 + np.exp(-(logits + offset * weight))) + (1 - weight) * old
    crossed = (new > 0.5) != (old > 0.5)
    assert crossed.sum() == 50 and not crossed[0].any()
    # where the gate is full, the voxels that moved are exactly the most (shrinking: least) organ-like ones
    evidence = logits[1] if action == "expand" else -logits[1]
    movable = (old[1] > 0.5) != (action == "expand")
    assert crossed[1].any() and evidence[crossed[1]].min() > evidence[movable & ~crossed[1]].max()


def test_growth_that_does_not_touch_the_organ_is_put_back():
    old = np.zeros((3, 20, 20), np.float32)
    old[1, 5:10, 5:10] = 0.9
    grown = old.copy()
    grown[1, 10:12, 5:10] = 0.8  # touches the organ
    grown[1, 16:19, 16:19] = 0.8  # an island
    drop_islands(grown, old)
    assert (grown[1, 10:12, 5:10] == 0.8).all() and (grown[1, 16:19, 16:19] == 0).all()


def test_a_tumour_region_grown_past_its_enclosing_regions_grows_them_too():
    from causal_sam_llm.datasets.label_maps import label_set
    from causal_sam_llm.segmentation.inference import masks_from_probabilities
    from causal_sam_llm.segmentation.tci_apply import _grow_enclosing_regions

    classes = ["whole_tumour", "tumour_core", "enhancing_tumour"]
    probabilities = np.zeros((1, 3, 10, 10), np.float32)
    probabilities[0, :, 3:6, 3:6] = 0.9  # all three regions on the same 3 × 3 voxels
    probabilities[0, 2, 6, 3:6] = 0.8  # the enhancing tumour grown by one row
    nested = label_set("brain_tumour")
    assert not masks_from_probabilities(probabilities, nested, classes)[0, 2, 6].any()  # nesting clips it away
    _grow_enclosing_regions(probabilities, 2, nested, classes)
    masks = masks_from_probabilities(probabilities, nested, classes)
    assert masks[0, :, 6, 3:6].all() and masks[0, 0].sum() == 12


def test_intensity_evidence_favours_the_organs_own_intensities():
    rng = np.random.default_rng(0)
    image = rng.normal(0, 5, (4, 30, 30))
    organ = np.zeros(image.shape, bool)
    organ[:, 5:15, 5:15] = True
    image[organ] += 100  # the organ is bright in this image, its surroundings dark
    surroundings = ~organ
    ratio = intensity_log_ratio(image, organ, surroundings)
    assert ratio[organ].min() > 0 > ratio[surroundings].max()
    assert np.isfinite(ratio).all()  # intensities between the two (no samples on either side) weigh nothing
    few = np.zeros(image.shape, bool)
    few[0, 0, :10] = True  # ten voxels make no histogram: no evidence either way
    assert not intensity_log_ratio(image, few, surroundings).any()


def test_a_shrink_weighs_the_organ_against_the_band_outside_it():
    """A shrink's gate lies inside the organ, so the intensity evidence must take its surroundings from outside:
    the band the same command would grow into. (Weighed against the gate, a shrink had no evidence at all.)"""
    organ = organ_masks()[:, 0]
    rng = np.random.default_rng(1)
    image = rng.normal(0, 5, organ.shape) + 100 * organ  # a bright organ on dark surroundings
    for action in ("shrink", "remove_region"):
        command = Intervention(organ="liver", action=action, region="anterior", strength=0.2)
        gate = intervention_gate(command, organ, SPACING)
        slices = touched_slices(gate)
        member, weight = organ[slices], gate[slices]
        around = intensity_surroundings(command, organ, SPACING, slices, weight, member)
        assert not ((weight > 0.5) & ~member).any()  # the shrink's own gate has no surroundings
        assert around.any() and not (around & member).any()
        assert around[:, :12].any() and not around[:, 28:].any()  # outside, on the commanded (anterior) side
        ratio = intensity_log_ratio(image[slices], member, around)
        assert ratio[member].min() > 0 > ratio[around].max()
    grow = Intervention(organ="liver", action="expand", region="anterior", strength=0.2)
    gate = intervention_gate(grow, organ, SPACING)
    slices = touched_slices(gate)
    around = intensity_surroundings(grow, organ, SPACING, slices, gate[slices], organ[slices])
    np.testing.assert_array_equal(around, (gate[slices] > 0.5) & ~organ[slices])  # a grow: what it may take
    smooth = Intervention(organ="liver", action="smooth")
    gate = intervention_gate(smooth, organ, SPACING)
    slices = touched_slices(gate)
    around = intensity_surroundings(smooth, organ, SPACING, slices, gate[slices], organ[slices])
    assert around.any() and not (around & organ[slices]).any()  # a smooth: the band's outer half, around the edge
    np.testing.assert_array_equal(around, (gate[slices] > 0.5) & ~organ[slices])


def test_the_facing_surface_of_some_slices_counts_only_their_faces():
    organ = organ_masks()[:, 0]  # 4 slices of a 16 × 16 square
    assert facing_area_mm2(organ, "anterior", SPACING, (3, 4)) == 2 * 16 * 10
    assert facing_area_mm2(organ, "superior", SPACING, (3, 5)) == 0  # the top face lies on slice 6
    assert facing_area_mm2(organ, "superior", SPACING, (6, 6)) == 16 * 16 * 4


@pytest.mark.parametrize("action", ["expand", "shrink", "add_region", "smooth"])
def test_every_action_yields_a_nonempty_gate(action):
    gate = intervention_gate(Intervention(organ="liver", action=action, strength=0.6), organ_masks()[:, 0], SPACING)
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


def test_the_share_of_a_corrections_changed_voxels_that_it_set_right():
    reference = np.zeros((1, 1, 4, 4), bool)
    reference[0, 0, :2] = True  # the organ: the top two rows
    before = np.zeros_like(reference)
    before[0, 0, 0] = True  # cut short by a row
    after = before.copy()
    after[0, 0, 1] = True  # a grow by one row: 4 voxels, all right
    after[0, 0, 2, :1] = True  # and one too far
    assert right_share(before, after, reference) == 80.0
    assert right_share(before, before, reference) is None  # nothing changed: no share


def test_a_correction_window_reaches_as_far_as_the_gate_band_in_force():
    """`eval-tci --gate-band` sweeps widen every gate; the window a correction is computed in must widen with them."""
    from causal_sam_llm.segmentation.correction_window import correction_window

    organ = np.zeros((10, 200, 200), bool)
    organ[4:6, 90:110, 90:110] = True
    command = Intervention(organ="liver", action="expand", region="whole", strength=0.25)
    shipped = correction_window(command, organ, (5.0, 1.0, 1.0)).rows
    with gate_band(2 * GATE_BAND):
        wider = correction_window(command, organ, (5.0, 1.0, 1.0)).rows
    reach_px = GATE_BAND * 0.25 * tci_gate.MAX_REACH_MM  # 22.5 px at 1 mm pixels
    assert shipped.start <= 90 - reach_px and wider.start <= 90 - 2 * reach_px < shipped.start


def _a_grow_that_ties_a_neighbour_once_kept_in_float16_leaves_it_alone(label_set, classes) -> None:
    """A kept version holds float16 (tools/mask_history.py): a grown liver just below a right kidney in float32 but
    equal to it in float16 would take the voxel by argmax's tie rule once kept; its value is put back instead."""
    kidney = np.float32(np.float16(0.5263672))
    before = np.zeros((1, 4, 1, 1), np.float32)
    before[0, :, 0, 0] = [0.01, 0.0, kidney, 0.0]
    after = before.copy()
    after[0, 0, 0, 0] = np.nextafter(kidney, np.float32(0))  # below the kidney, the same once rounded
    assert np.float16(after[0, 0, 0, 0]) == np.float16(kidney)
    keep_other_organs(after, before, organ=0)
    kept = after.astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(masks_from_probabilities(kept, label_set, classes), masks_from_probabilities(
        before, label_set, classes))  # fmt: skip


def test_a_correction_changes_no_other_organs_mask():
    """Exclusive sets: where a corrected organ's mask loses a voxel and a neighbour was also above 0.5 there, every
    channel still above 0.5 is held at 0.5, so the voxel becomes background and the organ loses the same voxels as
    it would have; where the organ rose over a voxel another organ held, its probability is put back. A voxel the
    neighbour keeps or the organ keeps is left alone; a tie goes to the first organ, as argmax's."""
    classes = ["liver", "spleen", "right_kidney", "left_kidney"]
    label_set = named_label_set("abdomen")
    before = np.zeros((1, 4, 1, 9), np.float32)
    before[0, :, 0, 0] = [0.9, 0.7, 0.6, 0.1]  # the spleen second: given up by the liver, it would take the voxel
    before[0, :, 0, 1] = [0.8, 0.9, 0.0, 0.0]  # the spleen's already
    before[0, :, 0, 2] = [0.8, 0.0, 0.0, 0.0]  # nobody else's
    before[0, :, 0, 3] = [0.7, 0.0, 0.0, 0.7]  # a tie: the liver, the first, held it; the left kidney is next
    before[0, :, 0, 4] = [0.9, 0.8, 0.0, 0.0]  # the liver does not change here
    before[0, :, 0, 5] = [0.9, 0.7, 0.0, 0.0]  # the liver falls but stays above 0.5, below the spleen
    before[0, :, 0, 6] = [0.9, 0.7, 0.0, 0.0]  # the liver falls and stays the most likely
    before[0, :, 0, 7] = [0.3, 0.8, 0.0, 0.0]  # the spleen's: a grow of the liver must not take it
    before[0, :, 0, 8] = [0.3, 0.1, 0.0, 0.0]  # background: a grow may take it
    after = before.copy()
    after[0, 0, 0, [0, 1, 2, 3, 5, 6, 7, 8]] = [0.2, 0.3, 0.1, 0.4, 0.6, 0.8, 0.9, 0.7]
    assert keep_other_organs(after, before, organ=0)  # it says that another organ's values were held at 0.5
    masks_before = masks_from_probabilities(before, label_set, classes)
    masks_after = masks_from_probabilities(after, label_set, classes)
    np.testing.assert_array_equal(masks_after[:, 1:], masks_before[:, 1:])  # no other organ's mask changed
    assert not masks_after[0, :, 0, [0, 3, 5]].any()  # background now
    np.testing.assert_array_equal(masks_after[0, 0, 0], [False, False, False, False, True, False, True, False, True])
    np.testing.assert_array_equal(after[0, :, 0, 0], np.float32([0.2, 0.5, 0.5, 0.1]))  # held at 0.5
    np.testing.assert_array_equal(after[0, :, 0, 5], np.float32([0.5, 0.5, 0.0, 0.0]))  # the organ too
    assert after[0, 3, 0, 3] == 0.5 and after[0, 0, 0, 7] == before[0, 0, 0, 7] and after[0, 0, 0, 8] == np.float32(0.7)
    np.testing.assert_array_equal(after[0, 1:, 0, [1, 2, 4, 6, 7, 8]], before[0, 1:, 0, [1, 2, 4, 6, 7, 8]])
    _a_grow_that_ties_a_neighbour_once_kept_in_float16_leaves_it_alone(label_set, classes)
    alone = before[..., [2, 8]].copy()  # where no other organ is above 0.5, only the liver's values change
    shrunk = alone.copy()
    shrunk[0, 0] = [[0.1, 0.2]]
    assert not keep_other_organs(shrunk, alone, organ=0)
    np.testing.assert_array_equal(shrunk[:, 1:], alone[:, 1:])


def _box_mm(shape_mm: tuple[int, int, int], spacing: float = 2.0) -> np.ndarray:
    """A box of `shape_mm` (slices, rows, cols) on a grid of `spacing` mm with a margin of 10 voxels around it."""
    size = [round(extent / spacing) for extent in shape_mm]
    mask = np.zeros([n + 20 for n in size], bool)
    mask[10 : 10 + size[0], 10 : 10 + size[1], 10 : 10 + size[2]] = True
    return mask


def test_a_grow_or_shrink_with_no_amount_said_changes_about_a_fifth_of_the_organ_within_3_to_7_mm():
    """Facing area × reach = a fifth of what the command moves, in whole millimetres, at least 3 and at most 7 (never
    more than "a little", 7.5 mm: 15 mm had cost a liver 5.7 Dice in a clinician-language trial)."""
    spacing = (2.0, 2.0, 2.0)

    def said_mm(mask: np.ndarray, action: str, region: str, slices: tuple[int, int] | None = None) -> float:
        command = Intervention(organ="liver", action=action, region=region, slices=slices)
        return unsaid_strength(mask, command, spacing) * tci_gate.MAX_REACH_MM

    large, small = _box_mm((120, 120, 120)), _box_mm((40, 40, 40))
    assert said_mm(large, "expand", "whole") == pytest.approx(6.0)  # 0.2 × 120³ / (6 × 120² / 1.5)
    assert said_mm(large, "shrink", "whole") == pytest.approx(6.0)
    assert said_mm(small, "expand", "whole") == pytest.approx(3.0)  # 2 mm by the rule: at least 3
    assert said_mm(small, "expand", "superior") == pytest.approx(7.0)  # 0.2 × 40 mm of depth behind the face: 8
    assert said_mm(_box_mm((200, 40, 40)), "expand", "superior") == pytest.approx(7.0)  # 40 mm by the rule
    # on named slices only what lies on them counts: 10 of the 20 slices of the small box, its left face there; toward
    # the head only its real top face counts, none on its lower ten slices (no surface: the cap)
    assert said_mm(small, "expand", "left", (10, 19)) == pytest.approx(7.0)  # 8 by the rule
    assert said_mm(small, "expand", "superior", (10, 19)) == pytest.approx(7.0)
    assert said_mm(small, "expand", "superior", (20, 29)) == pytest.approx(4.0)  # its top slices: 20 mm behind it
    assert said_mm(np.zeros((5, 5, 5), bool), "expand", "whole") == pytest.approx(7.0)  # no surface: the cap
