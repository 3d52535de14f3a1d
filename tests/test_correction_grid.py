"""A study finer than the decoder's grid (a clinical 512² slice) is corrected on its planes pooled to about that grid
(segmentation/correction_grid.py), and the change carried back: the same correction as at source resolution, on the
pixels it was pooled from, nothing else touched."""

from dataclasses import replace

import nibabel as nib
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from causal_sam_llm.bench.tool_latency import write_study
from causal_sam_llm.datasets.orientation import axial_stack_to_ras
from causal_sam_llm.segmentation import tci_apply
from causal_sam_llm.segmentation.correction_grid import (
    change_on_source,
    pool_again_within,
    pooled,
    pooled_image,
    pooled_letterbox,
    pooling_factor,
)
from causal_sam_llm.segmentation.decoded_volume import organ_logits, organ_probabilities
from causal_sam_llm.segmentation.film import OrganFilm
from causal_sam_llm.segmentation.inference import masks_from_probabilities
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.letterbox import Letterbox
from causal_sam_llm.segmentation.piece_removal import detached_pieces
from causal_sam_llm.segmentation.training_set import class_masks
from causal_sam_llm.tools.registry import run_tool
from causal_sam_llm.tools.workbench import Workbench

FINE = 512


@pytest.mark.parametrize(
    ("rows", "cols", "factor"),
    [(160, 160, 1), (256, 256, 1), (400, 400, 1), (512, 512, 2), (512, 384, 2), (384, 512, 2), (1024, 1024, 4)],
)
def test_the_pooling_factor_is_the_whole_number_of_source_pixels_per_decoder_pixel(rows, cols, factor):
    assert pooling_factor(Letterbox(rows, cols, 1024)) == factor
    assert pooling_factor(Letterbox(rows, cols, 256)) == factor  # the encoder's input size does not matter


def test_pooling_averages_whole_blocks_and_the_pixels_of_partial_ones():
    planes = np.arange(2 * 5 * 7, dtype=np.float32).reshape(2, 5, 7)
    means = pooled(planes, 2)
    assert means.shape == (2, 3, 4)
    assert means[1, 0, 0] == planes[1, :2, :2].mean()
    assert means[0, 1, 3] == planes[0, 2:4, 6].mean()  # a partial block at the right edge
    assert means[0, 2, 3] == planes[0, 4, 6]  # the corner block holds one pixel


@pytest.mark.parametrize("shape", [(3, 2, 16, 16), (3, 2, 15, 17)])
def test_pooling_again_where_planes_changed_gives_what_pooling_them_whole_gives(shape):
    """To the bit, also for boxes starting mid-block and at a partial last block (odd sides)."""
    rng = np.random.default_rng(0)
    planes = rng.random(shape, dtype=np.float32)
    kept = pooled(planes, 2)
    for box in [
        (slice(1, 2), slice(0, 1), slice(3, 8), slice(5, 6)),
        (slice(0, 3), slice(0, 2), slice(0, shape[2]), slice(shape[3] - 1, shape[3])),
        (slice(2, 3), slice(1, 2), slice(shape[2] - 3, shape[2]), slice(0, 4)),
    ]:
        planes[box] = rng.random(planes[box].shape, dtype=np.float32)
        pool_again_within(kept, planes, box, 2)
        np.testing.assert_array_equal(kept, pooled(planes, 2))


def test_a_change_on_the_pooled_grid_lands_on_the_source_pixels_it_was_pooled_from():
    change = np.zeros((1, 8, 8), np.float32)
    change[0, 3, 5] = 1.0
    fine = change_on_source(change, 2, (15, 16))  # an odd source: the last block is cut
    assert fine.shape == (1, 15, 16)
    peak = {tuple(int(i) for i in p) for p in np.argwhere(fine[0] == fine.max())}
    assert peak == {(6, 10), (6, 11), (7, 10), (7, 11)}
    assert fine.sum() == pytest.approx(4.0)  # the change of one pooled pixel spreads over 2 × 2 source pixels' worth
    assert not fine[0, :5].any() and not fine[0, 9:].any()  # no further than the blocks next to it


@pytest.fixture(scope="module")
def fine_study(home_benchmark, tmp_path_factory):
    """A benchmark MR case as a 512² study: its image resized, its probabilities decoded onto 512² planes from the
    same cached features (for a square slice the encoder's input is the same whatever its pixel count)."""
    bench = Workbench.create(tmp_path_factory.mktemp("session"))
    run_tool(bench, "load_study", {"study": "benchmark:mr_t2-0001"})
    run_tool(bench, "segment", {"organ": "all"})
    bench.wait_for_box_evidence()
    case = bench.require_case()
    image, spacing = case.axial_image(), case.axial_spacing_mm()
    assert image.shape[1] == image.shape[2] < FINE  # square, and coarser than the study made from it
    decoded = replace(bench.decoded, letterbox=Letterbox(FINE, FINE, bench.decoded.letterbox.size))
    probabilities = organ_probabilities(bench.segmenter, decoded, list(range(len(bench.classes))))
    resized = F.interpolate(torch.from_numpy(image)[:, None], size=(FINE, FINE), mode="bilinear", align_corners=False)
    scale = image.shape[1] / FINE
    fine_spacing = (spacing[0], spacing[1] * scale, spacing[2] * scale)
    return bench, decoded, probabilities, resized[:, 0].numpy(), fine_spacing


@pytest.mark.parametrize("ranking", ["learned ranker", "fixed sum"])
@pytest.mark.parametrize(("action", "region"), [("expand", "superior"), ("shrink", "left"), ("expand", "whole")])
def test_a_512_study_is_corrected_on_pooled_planes_as_at_source_resolution(
    fine_study, monkeypatch, request, action, region, ranking
):
    """The shipped checkpoint's learned ranker reads blocks of 2 × 2 decoder-grid pixels: 2 × 2 pooled pixels, or
    4 × 4 source pixels when computed at source resolution (tci_ranker.block_px)."""
    bench, decoded, probabilities, image, spacing = fine_study
    assert bench.generator.ranker is not None
    if ranking == "fixed sum":  # set aside by hand: monkeypatch's undo deletes a submodule's attribute
        kept, bench.generator.ranker = bench.generator.ranker, None
        request.addfinalizer(lambda: setattr(bench.generator, "ranker", kept))
    case, organ = bench.require_case(), bench.classes.index("liver")
    command = Intervention(organ="liver", action=action, region=region, strength=0.5)
    inputs = (decoded, probabilities, command, case.label_set, spacing, image)
    on_pooled = tci_apply.apply_learned(bench.segmenter, bench.generator, *inputs)
    # as the tool corrects: the image pooled once for every correction, and the box the change lies in said
    evidence = tci_apply.Evidence(bench.segmenter, bench.generator, case.label_set)
    kept_image = pooled_image(image, decoded.letterbox)
    kept_version = pooled(probabilities, pooling_factor(decoded.letterbox))
    correction = tci_apply.correct(evidence, decoded, probabilities, command, spacing, image, kept_image, kept_version)
    by_tool, within = correction.probabilities, correction.changed_within
    np.testing.assert_array_equal(by_tool, on_pooled)
    outside = np.ones(by_tool.shape, bool)
    outside[within] = False
    assert outside.any() and np.array_equal(by_tool[outside], probabilities[outside])
    monkeypatch.setattr(tci_apply, "pooling_factor", lambda _letterbox: 1)
    at_source = tci_apply.apply_learned(bench.segmenter, bench.generator, *inputs)

    others = [c for c in range(len(bench.classes)) if c != organ]
    masks = [masks_from_probabilities(p, case.label_set, bench.classes) for p in (probabilities, on_pooled)]
    np.testing.assert_array_equal(masks[1][:, others], masks[0][:, others])  # no other organ's mask changes
    held = on_pooled[:, others] != probabilities[:, others]
    assert (on_pooled[:, others][held] == 0.5).all()  # only held at 0.5 where the liver gave a voxel up
    touched = np.nonzero((at_source != probabilities).any(axis=(1, 2, 3)))[0]
    untouched = np.setdiff1d(np.arange(len(probabilities)), touched)
    np.testing.assert_array_equal(on_pooled[untouched], probabilities[untouched])  # to the bit

    before = masks_from_probabilities(probabilities, case.label_set, bench.classes)[:, organ]
    pooled_mask = masks_from_probabilities(on_pooled, case.label_set, bench.classes)[:, organ]
    source_mask = masks_from_probabilities(at_source, case.label_set, bench.classes)[:, organ]
    if action == "expand":
        assert (pooled_mask >= before).all() and pooled_mask.sum() > before.sum()
    else:
        assert (pooled_mask <= before).all() and pooled_mask.sum() < before.sum()
    by_pooled, by_source = pooled_mask != before, source_mask != before
    overlap = (by_pooled & by_source).sum() / (by_pooled | by_source).sum()
    # fixed sum: measured 0.93–0.97; the same change carried back one pooled pixel (2 source pixels) aside gave
    # 0.87–0.88. Learned ranker: 0.89–0.97 with step 21's, 0.88–0.96 with step 22's (the shrink on the left 0.882;
    # 0.879 on another machine's CPU, 2026-12-07; 0.869 on an Intel Xeon with AVX-512, the same code and weights,
    # 2026-12-07 23:45 UTC), its learned term amplifying the grids' small differences in what it reads; read at the
    # wrong scale at source resolution (2 × 2 source pixels), 0.79–0.86
    least = 0.9 if ranking == "fixed sum" else 0.86
    assert overlap > least, f"the pooled grid moved other voxels than the source's own pixels would: IoU {overlap:.2f}"
    # The IoU above holds for this case only: on two of the benchmark's own (an MR and a CT) it ranged 0.71–0.98 for
    # either ranking and either abdominal checkpoint, and with ct_to_mr's the pooled result's Dice was never more
    # than 0.34 below the source's, higher in 11 of 12 (results/tci_history.md, step 25). What is kept: the pooled
    # grid loses no more than a point against the reference (here it gains 0.0–0.9).
    reference = fine_reference(case, "liver")
    pooled_dice, source_dice = dice_percent(pooled_mask, reference), dice_percent(source_mask, reference)
    assert pooled_dice > source_dice - 1, f"pooled {pooled_dice:.2f} vs source {source_dice:.2f} Dice"


def fine_reference(case, organ: str) -> np.ndarray:
    """The case's reference mask of `organ` on the FINE² planes (nearest neighbour, as the study was resized)."""
    reference = class_masks(case, [organ])[:, 0].astype(np.float32)
    resized = F.interpolate(torch.from_numpy(reference)[:, None], size=(FINE, FINE), mode="nearest")
    return resized[:, 0].numpy() > 0.5


def dice_percent(mask: np.ndarray, reference: np.ndarray) -> float:
    """Dice alone: metrics.dice_hd95 would add an HD95 over 512² planes to each of the six runs."""
    return 200 * float((mask & reference).sum()) / float(mask.sum() + reference.sum())


def test_a_fine_study_keeps_its_versions_pooled_as_pooling_each_whole_would(home_benchmark, tmp_path):
    """The tool pools a 512² study's segmentation once and then only where each correction changed it
    (tools/pooled_version.py), in place: after grows, a shrink, an undo and a correction from there, what it keeps is
    the current version pooled whole, to the bit."""
    study, _volume = write_study(tmp_path, 12, FINE)
    bench = Workbench.create(tmp_path / "session")
    run_tool(bench, "load_study", {"study": str(study)})
    run_tool(bench, "segment", {"organ": "all"})
    bench.wait_for_box_evidence()
    pooled_at_segmentation = bench._pooled  # `segment` pools it, so that the first correction does not wait for it
    assert pooled_at_segmentation is not None and pooled_at_segmentation.version == bench.require_history().current
    corrections = [
        {"organ": "liver", "action": "expand", "strength": 0.3},
        {"organ": "spleen", "action": "shrink", "region": "posterior", "strength": 0.3},
        {"organ": "liver", "action": "shrink", "strength": 0.2},
    ]
    for step, args in enumerate(corrections):
        kept = bench.pooled_probabilities()
        run_tool(bench, "intervene_decoder", args)
        assert bench.pooled_probabilities() is kept  # updated where the correction changed it, not pooled again
        np.testing.assert_array_equal(kept, pooled(bench.probabilities(), 2))
        if step == 1:
            run_tool(bench, "undo", {"steps": 1})
            np.testing.assert_array_equal(bench.pooled_probabilities(), pooled(bench.probabilities(), 2))


@pytest.mark.parametrize(
    ("rows", "cols", "on_grid"),
    [(256, 256, True), (256, 200, True), (200, 256, True), (160, 160, False), (512, 512, False), (300, 256, False)],
)
def test_a_study_is_on_the_mask_grid_when_its_pixels_are_the_grids_one_to_one(rows, cols, on_grid):
    assert Letterbox(rows, cols, 1024).is_mask_grid() is on_grid


def test_logits_read_on_a_window_are_those_of_the_whole_slices_cut_to_it(fine_study):
    """The correction reads only its window's features where the grid is the source's own (a 512² study pooled):
    the same FiLM-modulated logits, to the bit, as whole slices cut to the window."""
    bench, decoded, _probabilities, _image, _spacing = fine_study
    organ, slices = bench.classes.index("liver"), np.arange(3, 9)
    gate = torch.rand(len(slices), 1, 256, 256, generator=torch.Generator().manual_seed(0))
    film = OrganFilm(torch.full((32,), 1.3), torch.full((32,), -0.2), gate)
    rows, cols = slice(40, 171), slice(17, 230)
    for letterbox in (pooled_letterbox(decoded.letterbox, 2), decoded.letterbox):  # on the grid, then not
        grid = replace(decoded, letterbox=letterbox)
        whole = organ_logits(bench.segmenter, grid, [organ], slices, {organ: film})
        cut = organ_logits(bench.segmenter, grid, [organ], slices, {organ: film}, in_plane=(rows, cols))
        assert cut.shape == (len(slices), 1, rows.stop - rows.start, cols.stop - cols.start)
        np.testing.assert_array_equal(cut, whole[..., rows, cols])


def test_a_separate_piece_is_deleted_whole_on_a_512_study(fine_study):
    """ "That blob at the front is not spleen, delete it" on a 512² study: every pixel of the piece goes, on the
    study's own grid (on pooled planes its edge pixels had stayed: 54 of 810), and nothing but the spleen's separate
    pieces at the front changes."""
    bench, decoded, probabilities, image, spacing = fine_study
    case, spleen = bench.require_case(), bench.classes.index("spleen")
    probabilities = probabilities.copy()
    masks = masks_from_probabilities(probabilities, case.label_set, bench.classes)
    slices, rows, cols = np.nonzero(masks[:, spleen])
    middle, column = int(np.median(slices)), int(np.median(cols))
    blob = np.zeros(masks[:, spleen].shape, bool)
    blob[middle - 1 : middle + 2, rows.min() - 40 : rows.min() - 25, column - 9 : column + 9] = True
    assert not (masks.any(axis=1) & blob).any()  # planted where no organ is
    for channel in range(len(bench.classes)):
        values = probabilities[:, channel]  # a view
        values[blob] = 0.9 if channel == spleen else 0.02
    command = Intervention(organ="spleen", action="remove_region", region="anterior")
    after = tci_apply.apply_learned(
        bench.segmenter, bench.generator, decoded, probabilities, command, case.label_set, spacing, image
    )
    deleted = detached_pieces(
        command, masks_from_probabilities(probabilities, case.label_set, bench.classes)[:, spleen], spacing
    )
    assert (deleted & blob).sum() == blob.sum() and not (after[:, spleen][blob] > 0.5).any()
    np.testing.assert_array_equal(after[:, spleen][~deleted], probabilities[:, spleen][~deleted])
    np.testing.assert_array_equal(np.delete(after, spleen, axis=1), np.delete(probabilities, spleen, axis=1))


def test_a_512_case_gives_the_ranker_corrections_read_on_its_pooled_planes(home_benchmark, tmp_path):
    """train-tci-ranker on a clinical 512² data set (BTCV, AMOS): each correction is followed and read on the
    planes its correction is computed on, so the ranker learns from the grid it will rank on."""
    from causal_sam_llm.datasets.study import open_study
    from causal_sam_llm.segmentation.tci_trajectory import placed_corrections

    bench = Workbench.create(tmp_path / "session")
    coarse = open_study("benchmark:mr_t2-0001")
    image, labels = coarse.axial_image(), coarse.axial_labels()
    spacing = coarse.axial_spacing_mm()
    scale = image.shape[1] / FINE
    fine_image = F.interpolate(torch.from_numpy(image)[:, None], size=(FINE, FINE), mode="bilinear")[:, 0].numpy()
    fine_labels = F.interpolate(torch.from_numpy(labels)[:, None].float(), size=(FINE, FINE), mode="nearest")
    affine = np.diag([spacing[2] * scale, spacing[1] * scale, spacing[0], 1.0])
    nib.save(nib.Nifti1Image(axial_stack_to_ras(fine_image), affine), tmp_path / "ct.nii.gz")
    nib.save(
        nib.Nifti1Image(axial_stack_to_ras(fine_labels[:, 0].numpy().astype(np.uint8)), affine), tmp_path / "l.nii.gz"
    )
    fine = open_study(str(tmp_path / "ct.nii.gz"), labels=tmp_path / "l.nii.gz")
    assert fine.axial_image().shape[1:] == (FINE, FINE)

    placed = list(placed_corrections(bench.segmenter, bench.generator, bench.embedder, fine, rounds=2))
    assert len(placed) == 2
    for correction in placed:
        assert correction.spacing_mm == pytest.approx((spacing[0], 2 * spacing[1] * scale, 2 * spacing[2] * scale))
        assert correction.before.shape == correction.truth.shape and correction.truth.dtype == bool
        assert max(correction.before.shape[1:]) <= FINE // 2  # on the pooled planes, not the source's
        assert correction.truth.any() and correction.terms.amount is not None
