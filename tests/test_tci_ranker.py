"""The learned ranker: where a correction's commanded amount goes, learned from simulated corrections."""

import numpy as np
import pytest
import torch

from causal_sam_llm.segmentation import tci_ranker
from causal_sam_llm.segmentation.correction_window import correction_window
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.letterbox import Letterbox
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator
from causal_sam_llm.segmentation.tci_placement import PlacementEvidence, placement_ranking
from causal_sam_llm.segmentation.tci_ranker import (
    FEATURES,
    PlacementRanker,
    block_px,
    gate_span,
    ranked,
    ranker_features,
    signed_distance_mm,
)
from causal_sam_llm.segmentation.tci_ranker_training import (
    case_folds,
    example_of,
    fit_ranker,
    placement_counts,
    share_set_right,
)
from causal_sam_llm.segmentation.tci_trajectory import PlacedCorrection

SPACING = (3.0, 1.5, 1.5)


def _grow_with_a_misleading_sum(seed: int, side: str = "right") -> PlacedCorrection:
    """One slice, a square organ to grow by 8 voxels into the ring around it. The reference adds them on `side`;
    the decoder's logits (most of the fixed sum) favour the opposite side, while the box evidence, a small part of
    the sum, outlines the reference: only a read-out that trusts the box's shape over the decoder's value places
    the amount right."""
    rng = np.random.default_rng(seed)
    old = np.zeros((1, 16, 16), np.float32)
    old[0, 4:12, 4:12] = 0.9
    ring = np.zeros(old.shape, np.float32)
    ring[0, 3:13, 3:13] = 1.0
    ring[old > 0.5] = 0.0
    reference = old > 0.5
    column = 12 if side == "right" else 3
    reference[0, 4:12, column] = True
    cols = np.mgrid[0:16, 0:16][1]
    slope = (8.0 - cols) if side == "right" else (cols - 8.0)
    decoder = (slope + rng.normal(0, 0.3, cols.shape))[None].astype(np.float32)
    box = np.where(reference, 3.0, -3.0).astype(np.float32)
    intensity = rng.normal(0, 0.1, old.shape).astype(np.float32)
    terms = PlacementEvidence(np.array([0]), decoder, intensity, box, ring, old, 8)
    command = Intervention(organ="liver", action="expand", region="whole", strength=0.1)
    return PlacedCorrection(command, terms, old.copy(), reference, SPACING)


def test_an_untrained_ranker_ranks_by_the_evidences_fixed_sum():
    summed = np.random.default_rng(0).normal(0, 5, (2, 8, 8)).astype(np.float32)
    features = np.random.default_rng(1).normal(0, 1, (2, FEATURES, 4, 4)).astype(np.float32)  # blocks of 2 × 2
    np.testing.assert_allclose(ranked(PlacementRanker(), features, summed), summed, rtol=1e-6)


def test_the_signed_distance_is_in_millimetres_outside_positive_inside_negative():
    member = np.zeros((2, 9, 9), bool)
    member[0, 3:6, 3:6] = True  # slice 1 holds no organ
    distance = signed_distance_mm(member, (2.0, 1.0))
    assert distance[0, 4, 8] == 3.0  # three columns right of the edge, 1 mm each
    assert distance[0, 0, 4] == 6.0  # three rows above it, 2 mm each
    assert distance[0, 4, 4] < 0  # inside
    assert (distance[1] > 0).all()  # no organ on this slice: everything outside


def test_the_features_carry_the_commands_direction_and_depth_in_reaches_on_blocks():
    correction = _grow_with_a_misleading_sum(0)
    terms = correction.terms
    summed = terms.combined(4.0, 1.0)
    grow = ranker_features(
        terms.decoder, terms.intensity, terms.box, summed, terms.weight, terms.old, True, 0.1, SPACING
    )
    shrink = ranker_features(
        terms.decoder, terms.intensity, terms.box, summed, terms.weight, terms.old, False, 0.1, SPACING
    )
    assert grow.shape == (1, FEATURES, 8, 8) and grow.dtype == np.float32  # blocks of 2 × 2 voxels
    assert (grow[:, 5] == 1).all() and (shrink[:, 5] == -1).all()
    # strength 0.1 reaches 3 mm = one block of two 1.5 mm voxels: the block just outside the edge is one reach out,
    # of a cap of 4
    assert grow[0, 6, 4, 6] == np.float32(1 / 4)
    np.testing.assert_allclose(grow[0, 4], terms.old[0].reshape(8, 2, 8, 2).mean(axis=(1, 3)))  # each block's mean


def test_the_ranker_learns_to_place_the_amount_where_the_fixed_sum_misleads():
    """Trained on corrections whose reference lies on one side or the other at random, it places a held-out one
    right that the fixed sum places all wrong: it learned to read the box's outline rather than to favour a side."""
    training = [example_of(f"case{i}", _grow_with_a_misleading_sum(i, "right" if i % 2 else "left")) for i in range(8)]
    held_out = example_of("held", _grow_with_a_misleading_sum(99, "right"))
    assert placement_counts(held_out, None) == (8, 0)
    ranker = fit_ranker(training, epochs=30, seed=0)
    assert placement_counts(held_out, ranker) == (8, 8)
    assert share_set_right(training, ranker)[0] > share_set_right(training, None)[0]


def test_cross_validation_holds_out_whole_cases():
    examples = [example_of(f"case{i % 5}", _grow_with_a_misleading_sum(i)) for i in range(10)]
    folds = case_folds(examples, 2)
    assert set().union(*folds) == {f"case{i}" for i in range(5)} and not folds[0] & folds[1]


def test_a_generator_carries_no_ranker_until_one_is_trained():
    generator = InterventionFilmGenerator(4)
    assert generator.ranker is None
    generator.ranker = PlacementRanker()
    assert any(name.startswith("ranker.") for name, _ in generator.named_parameters())
    with torch.no_grad():
        assert sum(p.numel() for p in generator.ranker.parameters()) < 20_000


def _random_evidence(rng: np.random.Generator, shape: tuple[int, int, int]) -> PlacementEvidence:
    maps = [rng.normal(0, 3, shape).astype(np.float32) for _ in range(3)]
    old = rng.uniform(0, 1, shape).astype(np.float32)
    return PlacementEvidence(np.arange(shape[0]), *maps, np.zeros(shape, np.float32), old, 20)


@pytest.mark.parametrize("block", [2, 4])  # on the decoder's grid; on a 512² study's source pixels
def test_a_learned_ranking_reads_only_the_gates_span_so_a_window_ranks_as_the_whole_volume(block, monkeypatch):
    """The same correction inside a window (a part of the volume whose rows and columns start on a block's edge)
    and over the whole volume, whose evidence differs beyond the gate's span: the same ranking in the gate, the
    fixed sum outside it."""
    monkeypatch.setattr(tci_ranker, "native_bf16", lambda _device: False)  # fp32: crops of other sizes round alike
    rng = np.random.default_rng(0)
    ranker = PlacementRanker()
    with torch.no_grad():
        for member in ranker.members:
            torch.nn.init.normal_(member.learned[-1].weight, 0, 0.5)
    whole = _random_evidence(rng, (3, 130, 140))
    weight = np.zeros(whole.old.shape, np.float32)
    weight[1, 51:60, 67:75] = rng.uniform(0.2, 1.0, (9, 8))  # starting off a block's edge
    whole = whole._replace(weight=weight)
    rows, cols = slice(4 * block, 110), slice(8 * block, 120)
    window = whole.in_plane(rows, cols)
    command = Intervention(organ="liver", action="expand", region="whole", strength=0.5)

    def ranking(terms: PlacementEvidence) -> np.ndarray:
        return placement_ranking(terms, terms.combined(4.0, 1.0), ranker, command, SPACING, block)

    on_whole, on_window = ranking(whole), ranking(window)
    np.testing.assert_allclose(on_window, on_whole[:, rows, cols], rtol=1e-5, atol=1e-5)
    gate = weight > 0
    summed = whole.combined(4.0, 1.0)
    np.testing.assert_array_equal(on_whole[~gate], summed[~gate])  # no voxel moves there: the fixed sum
    assert not np.allclose(on_whole[gate], summed[gate])  # the learned term is there
    span = gate_span(gate, block)
    assert span[0].start % block == 0 and span[0].start <= 51 < span[0].start + block and span[0].stop == 60


def test_the_ranker_reads_blocks_of_the_decoders_grid_whatever_grid_the_correction_runs_on():
    """Two decoder-grid pixels per side: on a 256² study (its own grid) and on a 512² one's pooled planes, 2 pixels;
    at a 512² study's source resolution, 4."""
    assert block_px(Letterbox(256, 256, 1024)) == 2
    assert block_px(Letterbox(512, 512, 1024)) == 4


@pytest.mark.parametrize("block", [2, 4])
def test_a_rankers_correction_window_starts_on_a_block_edge_and_is_no_wider(block):
    """So that the window's blocks are the whole volume's: a correction inside its window then equals one over the
    whole volume (tests/test_box_pass_tools.py). The ranker reads only the gate's span, which the window holds."""
    organ = np.zeros((10, 200, 200), bool)
    organ[4:6, 91:111, 93:110] = True
    command = Intervention(organ="liver", action="expand", region="whole", strength=0.25)
    plain = correction_window(command, organ, (5.0, 1.0, 1.0))
    read = correction_window(command, organ, (5.0, 1.0, 1.0), block)
    assert read.slices == plain.slices
    for before, after in ((plain.rows, read.rows), (plain.cols, read.cols)):
        assert after.start % block == 0 and after.start <= before.start < after.start + block
        assert after.stop == before.stop


@pytest.mark.parametrize("bf16", [False, True])
def test_the_ranker_is_the_mean_of_its_members(monkeypatch, bf16):
    """It runs the members' shared steps (interpolation, the scaled sum) once; the result is their mean. Its
    convolutions run in bf16 where the CPU has bf16 in hardware: within 0.1 logits of fp32 (measured 0.03)."""
    monkeypatch.setattr(tci_ranker, "native_bf16", lambda _device: bf16)
    rng = np.random.default_rng(1)
    ranker = PlacementRanker()
    with torch.no_grad():
        for member in ranker.members:
            torch.nn.init.normal_(member.learned[-1].weight, 0, 0.5)
            member.sum_scale.fill_(float(rng.uniform(0.5, 1.5)))
    summed = torch.from_numpy(rng.normal(0, 5, (2, 37, 41)).astype(np.float32))
    with torch.no_grad():
        for block in (2, 4):
            blocks = (-(-37 // block), -(-41 // block))
            features = torch.from_numpy(rng.normal(0, 1, (2, FEATURES, *blocks)).astype(np.float32))
            each = torch.stack([member(features, summed, block) for member in ranker.members]).mean(dim=0)
            tolerance = 0.1 if bf16 else 1e-5
            torch.testing.assert_close(ranker(features, summed, block), each, rtol=0, atol=tolerance)


def test_the_rounds_bench_trains_on_each_cases_first_rounds_and_scores_the_held_out_first_three():
    from causal_sam_llm.bench.tci_ranker_rounds import first_rounds, fold_rows

    corrections = [_grow_with_a_misleading_sum(i, "right" if i % 2 else "left") for i in range(20)]
    examples = [  # 4 cases × 5 rounds
        example_of(f"case{i % 4}", correction._replace(round_index=i // 4)) for i, correction in enumerate(corrections)
    ]
    assert len(first_rounds(examples, 3)) == 12
    rows = fold_rows(examples, [1, 5], 2, 0)
    assert len(rows) == 2 and all(len(row) == 4 for row in rows)
    assert all("6 corrections" in row[0] for row in rows)  # 2 held-out cases × their first 3 rounds
    assert all("(from 2)" in row[2] and "(from 10)" in row[3] for row in rows)  # 2 training cases × 1 or 5 rounds


def test_the_rounds_bench_on_test_cases_scores_the_checkpoints_ranker_beside_the_fixed_sum():
    from causal_sam_llm.bench.tci_ranker_rounds import fold_rows

    corrections = [_grow_with_a_misleading_sum(i, "right" if i % 2 else "left") for i in range(8)]
    examples = [example_of(f"case{i % 4}", c._replace(round_index=i // 4)) for i, c in enumerate(corrections)]
    rows = fold_rows(examples, [2], 2, 0, shipped=PlacementRanker().eval())
    assert all(len(row) == 4 for row in rows)
    assert all(row[2] == row[1] for row in rows)  # an untrained ranker is the fixed sum: the same share, the same net
