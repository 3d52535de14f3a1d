"""The learned TCI of a model trained on the tiny benchmark: its ranker learned from the training cases' corrections, a
correction from cached embeddings touching only its organ, a smooth that follows the image evidence, and eval-tci
and eval-smooth through the CLI."""

import json
import shutil

import numpy as np
import torch

from causal_sam_llm.cli import main
from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.segmentation.checkpoint_io import load_generator, load_segmenter, read_checkpoint
from causal_sam_llm.segmentation.training_overlap import trained_anatomy_warning


def test_the_learned_ranker_is_trained_on_the_training_cases_corrections_and_carried_by_the_response(tiny_lad):
    """`train-tci-ranker` (run by the fixture) stores the ranker and what it was fitted to; the learned response
    loads it with the FiLM generator."""
    payload = read_checkpoint(tiny_lad)
    meta = payload["tci_ranker_meta"]
    assert meta["corrections"] >= 1 and meta["epochs"] == 2 and meta["rounds"] == 2
    assert [fold["fold"] for fold in meta["held_out"]] == [0, 1]
    assert all(0 <= fold["ranker"][0] <= 100 and 0 <= fold["fixed_sum"][0] <= 100 for fold in meta["held_out"])
    generator = load_generator(tiny_lad, 4)
    assert generator.ranker is not None
    for name, value in generator.ranker.state_dict().items():
        assert torch.equal(value, payload["tci_ranker"][name])
    last = payload["tci_ranker"]["members.0.learned.6.weight"]
    assert not torch.equal(last, torch.zeros_like(last))  # trained: no longer the fixed sum


def test_learned_correction_uses_cached_embeddings_and_touches_only_its_organ(tiny_benchmark, tiny_lad):
    from causal_sam_llm.datasets.protocol import load_protocol
    from causal_sam_llm.segmentation.checkpoint_io import load_generator
    from causal_sam_llm.segmentation.decoded_volume import decode_volume, organ_probabilities
    from causal_sam_llm.segmentation.embedder import SliceEmbedder
    from causal_sam_llm.segmentation.inference import embed_case, masks_from_probabilities
    from causal_sam_llm.segmentation.intervention import Intervention
    from causal_sam_llm.segmentation.tci_amount import commanded_change
    from causal_sam_llm.segmentation.tci_apply import apply_learned
    from causal_sam_llm.segmentation.tci_gate import intervention_gate

    segmenter, _ = load_segmenter(tiny_lad)
    generator = load_generator(tiny_lad, 4)
    case = load_protocol("ct_to_mr").cases("test", {"benchmark": str(tiny_benchmark)})["MR-T2SPIR"][0]
    embedder = SliceEmbedder(segmenter.backbone)
    decoded = decode_volume(segmenter, embed_case(embedder, case))
    calls = embedder.encoder_calls
    before = organ_probabilities(segmenter, decoded, [0, 1, 2, 3])
    masks = before > 0.5
    masks[:, 0] |= case.label_set.mask(case.axial_labels(), "liver")  # make sure there is a liver to act on
    before[:, 0] = np.maximum(before[:, 0], masks[:, 0] * 0.9)
    before[:, 1] = np.where(masks[:, 0], np.maximum(before[:, 1], 0.7), before[:, 1])  # the spleen second in the liver
    kept = before.copy()
    classes, label_set = segmenter.classes, case.label_set
    spacing, image = case.axial_spacing_mm(), case.axial_image()
    change = {}
    for action in ("expand", "shrink"):
        command = Intervention(organ="liver", action=action, region="anterior", strength=0.8)
        after = apply_learned(segmenter, generator, decoded, before, command, case.label_set, spacing, image)
        gate = intervention_gate(command, masks[:, 0], spacing)
        assert np.isfinite(after).all()
        others_after = masks_from_probabilities(after, label_set, classes)[:, 1:]
        np.testing.assert_array_equal(others_after, masks_from_probabilities(before, label_set, classes)[:, 1:])
        held = after[:, 1:] != before[:, 1:]  # a neighbour held at 0.5 where the liver gave a voxel up
        assert held.any() == (action == "shrink") and (after[:, 1:][held] == 0.5).all()
        assert (after[:, 0][held.any(axis=1)] < before[:, 0][held.any(axis=1)]).all()
        np.testing.assert_array_equal(after[:, 0][gate == 0], before[:, 0][gate == 0])  # nothing outside the gate
        change[action] = float((after[:, 0] - before[:, 0])[gate > 0.5].mean())
        beyond = held.any(axis=1) & (after[:, 0] == 0.5)  # lost as the spleen overtook the liver: held at 0.5
        moved = int((((after[:, 0] > 0.5) != masks[:, 0]) & ~beyond).sum())
        assert 0 < moved <= commanded_change(masks[:, 0], command, spacing)  # how much: what the command says
        if action == "expand":  # a grow never removes, a shrink never adds
            assert (after[:, 0] >= before[:, 0]).all()
        else:
            assert (after[:, 0] <= before[:, 0]).all()
    absent = before.copy()
    absent[:, 1] = 0.0  # no spleen at all: nothing to measure the amount from, the generator's own shift decides
    command = Intervention(organ="spleen", action="add_region", strength=0.5)
    after = apply_learned(segmenter, generator, decoded, absent, command, case.label_set, spacing, image)
    np.testing.assert_array_equal(np.delete(after, 1, axis=1), np.delete(absent, 1, axis=1))
    assert (after[:, 1] >= 0).all() and np.isfinite(after).all()
    assert embedder.encoder_calls == calls  # corrections never run the encoder
    np.testing.assert_array_equal(before[:, 1:], kept[:, 1:])  # the input version is not modified
    assert change["expand"] > 0 > change["shrink"]


def test_a_smooth_pulls_a_ragged_edge_toward_the_organ_with_the_image_evidence(tiny_benchmark, tiny_lad):
    """`smooth` re-decides the thin band around the edge from the decoder's logits plus the image's intensity and
    box evidence, at their own threshold (no commanded amount): a liver whose edge voxels were flipped at random comes
    closer to the reference, and closer than with the decoder's logits alone (how `smooth` worked before)."""
    from scipy.ndimage import binary_dilation, binary_erosion

    from causal_sam_llm.datasets.protocol import load_protocol
    from causal_sam_llm.segmentation.checkpoint_io import load_generator
    from causal_sam_llm.segmentation.decoded_volume import decode_volume, organ_probabilities
    from causal_sam_llm.segmentation.embedder import SliceEmbedder
    from causal_sam_llm.segmentation.inference import embed_case, masks_from_probabilities
    from causal_sam_llm.segmentation.intervention import Intervention
    from causal_sam_llm.segmentation.metrics import dice_hd95
    from causal_sam_llm.segmentation.tci_apply import apply_learned
    from causal_sam_llm.segmentation.tci_gate import intervention_gate

    segmenter, _ = load_segmenter(tiny_lad)
    generator = load_generator(tiny_lad, 4)
    case = load_protocol("ct_to_mr").cases("test", {"benchmark": str(tiny_benchmark)})["MR-T2SPIR"][0]
    decoded = decode_volume(segmenter, embed_case(SliceEmbedder(segmenter.backbone), case))
    spacing, image = case.axial_spacing_mm(), case.axial_image()
    reference = case.label_set.mask(case.axial_labels(), "liver")
    edge = binary_dilation(reference, iterations=1) & ~binary_erosion(reference, iterations=1)
    ragged = np.where(edge & (np.random.default_rng(0).random(reference.shape) < 0.5), ~reference, reference)
    before = organ_probabilities(segmenter, decoded, [0, 1, 2, 3])
    before[:, 0] = np.where(ragged, 0.9, 0.1)
    smooth = Intervention(organ="liver", action="smooth")
    gate = intervention_gate(smooth, ragged, spacing)
    dice = {}
    for way, weights in {"evidence": {}, "decoder_only": {"intensity_weight": 0.0, "box_weight": 0.0}}.items():
        after = apply_learned(segmenter, generator, decoded, before, smooth, case.label_set, spacing, image, **weights)
        others = [masks_from_probabilities(p, case.label_set, segmenter.classes)[:, 1:] for p in (before, after)]
        np.testing.assert_array_equal(*others)  # other organs' masks untouched (held at 0.5 where the liver gave up)
        assert (after[:, 1:][after[:, 1:] != before[:, 1:]] == 0.5).all()
        np.testing.assert_array_equal(after[:, 0][gate == 0], before[:, 0][gate == 0])  # only the band around the edge
        dice[way] = dice_hd95(after[:, 0] > 0.5, reference, spacing)[0]
    ragged_dice = dice_hd95(ragged, reference, spacing)[0]
    assert dice["evidence"] > ragged_dice + 0.02 and dice["evidence"] > dice["decoder_only"] + 0.02, (dice, ragged_dice)


def test_eval_smooth_scores_each_organ_with_and_without_the_image_evidence(tiny_benchmark, tiny_lad, tmp_path):
    report = tmp_path / "smooth.json"
    arguments = ["eval-smooth", "--protocol", "ct_to_mr", "--checkpoint", str(tiny_lad), "--json", str(report)]
    assert main([*arguments, "--set", f"benchmark={tiny_benchmark}", "--max-cases", "1", "--device", "cpu"]) == 0
    result = json.loads(report.read_text())
    assert set(result["summary"]) == {"image_evidence", "decoder_only"}
    assert result["organs"] and all(set(r["dice_after"]) == set(result["summary"]) for r in result["organs"])
    assert all(result["summary"][way]["organs"] == len(result["organs"]) for way in result["summary"])
    assert all(0 <= r["dice_before"] <= 100 and min(r["dice_after"].values()) >= 0 for r in result["organs"])
    assert "organs made worse" in report.with_suffix(".md").read_text()


def test_eval_tci_compares_learned_blind_none_and_an_oracle(tiny_benchmark, tiny_lad, tmp_path):
    report = tmp_path / "tci.json"
    assert (
        main(
            [
                "eval-tci",
                "--protocol",
                "ct_to_mr",
                "--checkpoint",
                str(tiny_lad),
                "--set",
                f"benchmark={tiny_benchmark}",
                "--json",
                str(report),
                "--rounds",
                "2",
                "--max-cases",
                "1",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    result = json.loads(report.read_text())
    assert set(result["curves"]) == {"none", "blind", "learned", "oracle"}
    assert all(len(v["dice"]) == 3 for v in result["curves"].values())
    none = result["curves"]["none"]["dice"]
    assert none[0] == none[1] == none[2]  # no correction, no change
    oracle = result["curves"]["oracle"]["dice"]
    assert oracle[0] == none[0] and oracle[2] >= oracle[1] >= oracle[0]  # a perfect edit in the gate never hurts
    shares = {strategy: values["right_share"] for strategy, values in result["curves"].items()}
    assert shares["none"] == [None, None, None] and shares["learned"][0] is None  # nothing changed yet
    assert all(0 <= share <= 100 for values in shares.values() for share in values[1:] if share is not None)
    assert "set right" in report.with_suffix(".md").read_text()
    ablation = tmp_path / "identity.json"
    arguments = ["eval-tci", "--protocol", "ct_to_mr", "--checkpoint", str(tiny_lad), "--json", str(ablation)]
    arguments += ["--set", f"benchmark={tiny_benchmark}", "--rounds", "1", "--max-cases", "1", "--film", "identity"]
    assert main(arguments) == 0
    assert "untrained (identity) FiLM" in json.loads(ablation.read_text())["title"]
    fixed_sum = tmp_path / "fixed_sum.json"  # the checkpoint's learned ranker set aside (tiny_lad has one)
    arguments = [a if a != str(ablation) else str(fixed_sum) for a in arguments[:-2]]
    assert main([*arguments, "--ranker", "none"]) == 0
    assert "no learned ranker" in json.loads(fixed_sum.read_text())["title"]


def test_an_evaluation_on_other_folders_warns_of_cases_the_checkpoint_was_trained_on(
    tiny_benchmark, tiny_lad, tmp_path
):
    """A copy of the benchmark it was trained on, given by --set: the same phantoms under the same case numbers, so
    whichever of them an evaluation reads that were training cases are named. With the folders it was trained with
    the protocol's split keeps them apart, and nothing is checked."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny_benchmark, copy)
    protocol = load_protocol("ct_to_mr")
    elsewhere = {"benchmark": str(copy)}
    trained = protocol.cases("train", elsewhere)  # read from the copy: the checkpoint's own training anatomies
    warning = trained_anatomy_warning(tiny_lad, trained, elsewhere)
    count = sum(len(cases) for cases in trained.values())
    assert warning is not None and warning.startswith(f"warning: {count} evaluated case(s) share an anatomy")
    assert trained_anatomy_warning(tiny_lad, protocol.cases("test", elsewhere), elsewhere) is None
    assert trained_anatomy_warning(tiny_lad, trained, {"benchmark": str(tiny_benchmark)}) is None
