"""A tiny end-to-end run through the CLI: train → eval with real weights on a tiny benchmark; DDP with 2 CPU
processes on gloo; runs of several seeds summarised across seeds; clear errors for bad protocol input."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from causal_sam_llm.cli import main
from causal_sam_llm.datasets.benchmark.make import BenchmarkSpec, make_benchmark
from causal_sam_llm.errors import CheckpointError, DataLayoutError
from causal_sam_llm.segmentation.checkpoint_io import load_generator, load_segmenter, read_checkpoint
from causal_sam_llm.segmentation.checkpoints import file_sha256
from causal_sam_llm.segmentation.encoder_registry import resolve_weights
from causal_sam_llm.segmentation.trainer import TrainConfig, shard, train

TINY = BenchmarkSpec(
    cases=4, variant_cases=0, brain_cases=0, seed=3, abdomen_shape=(48, 48, 12), abdomen_spacing_mm=(7.3, 7.3, 20.0)
)


@pytest.fixture(scope="module")
def tiny_benchmark(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    make_benchmark(out, TINY, progress=False)
    return out


def _train_args(benchmark: Path, out: Path, method: str) -> list[str]:
    return [
        "train",
        "--protocol",
        "ct_to_mr",
        "--method",
        method,
        "--epochs",
        "1",
        "--slice-stride",
        "6",
        "--set",
        f"benchmark={benchmark}",
        "--out",
        str(out),
        "--device",
        "cpu",
    ]


@pytest.fixture(scope="module")
def tiny_lad(tiny_benchmark, tmp_path_factory) -> Path:
    """A LAD checkpoint trained for one epoch on the tiny benchmark, with a learned TCI response."""
    out = tmp_path_factory.mktemp("lad")
    assert main(_train_args(tiny_benchmark, out, "lad")) == 0
    assert (
        main(
            [
                "train-tci",
                "--checkpoint",
                str(out / "model.pt"),
                "--steps",
                "80",
            ]  # no --set: the response trains on the data the run was trained on (its stored variables)
        )
        == 0
    )
    ranker = ["train-tci-ranker", "--checkpoint", str(out / "model.pt"), "--epochs", "2", "--rounds", "2"]
    assert main(ranker) == 0
    return out / "model.pt"


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


def test_train_then_eval_end_to_end(tiny_benchmark, tiny_lad, tmp_path):
    checkpoint = tiny_lad
    meta = read_checkpoint(checkpoint)
    assert meta["method"] == "lad" and meta["parameters"]["trainable_fraction"] < 0.08
    assert (checkpoint.parent / "state.pt").is_file()
    report = tmp_path / "report" / "eval.json"
    assert (
        main(
            [
                "eval",
                "--protocol",
                "ct_to_mr",
                "--checkpoint",
                str(checkpoint),
                "--set",
                f"benchmark={tiny_benchmark}",
                "--json",
                str(report),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    result = json.loads(report.read_text())
    organs = {s["organ"] for s in result["scores"]}
    assert organs == {"liver", "spleen", "right_kidney", "left_kidney"}
    assert {s["domain"] for s in result["scores"]} == {"MR-T2SPIR", "MR-T1-InPhase"}
    assert all(0.0 <= s["dice"] <= 1.0 for s in result["scores"] if s["dice"] == s["dice"])
    assert "lad Dice % / HD95 mm" in report.with_suffix(".md").read_text()
    assert report.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_training_resumes_from_its_saved_state(tiny_benchmark, tmp_path):
    out = tmp_path / "erm"
    assert main(_train_args(tiny_benchmark, out, "erm")) == 0
    first = torch.load(out / "state.pt", weights_only=False)
    assert first["epoch"] == 0
    assert main([*_train_args(tiny_benchmark, out, "erm")[:6], "2", *_train_args(tiny_benchmark, out, "erm")[7:]]) == 0
    assert torch.load(out / "state.pt", weights_only=False)["epoch"] == 1
    assert len(read_checkpoint(out / "model.pt")["history"]) == 2


def test_gradient_clipping_is_on_by_default_and_kept_with_the_run(tiny_benchmark, tiny_lad, tmp_path, capsys):
    assert read_checkpoint(tiny_lad)["config"]["grad_clip"] == 1.0
    out = tmp_path / "unclipped"
    assert main([*_train_args(tiny_benchmark, out, "erm"), "--grad-clip", "none"]) == 0
    assert read_checkpoint(out / "model.pt")["config"]["grad_clip"] is None
    with pytest.raises(SystemExit):
        main([*_train_args(tiny_benchmark, tmp_path / "bad", "lad"), "--grad-clip", "0"])
    assert "must be above 0" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_data_parallel_training_with_torchrun_on_two_cpu_processes(tiny_benchmark, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        str(torchrun),
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "causal_sam_llm.cli",
        *_train_args(tiny_benchmark, tmp_path / "ddp", "erm"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_checkpoint(tmp_path / "ddp" / "model.pt")["method"] == "erm"


def test_an_encoder_with_a_1024_input_trains_against_targets_on_the_decoders_256_grid(tiny_benchmark, tmp_path):
    """MobileSAM takes 1024×1024 images, but the mask decoder answers on 256×256 (4 × the 64×64 embedding) for every
    encoder: targets made on the input grid could not meet the logits."""
    config = TrainConfig(
        "ct_to_mr", "erm", encoder="mobilesam", epochs=1, slice_stride=12, max_cases=1,
        variables={"benchmark": str(tiny_benchmark)},
    )  # fmt: skip
    path = train(config, tmp_path / "mobilesam", "cpu", progress=False)
    meta = read_checkpoint(path)
    assert meta["encoder"] == "mobilesam" and meta["training_slices"] >= 1 and meta["encoder_weights"] is None
    assert all(math.isfinite(epoch["seg"]) for epoch in meta["history"])


def test_an_encoder_trained_from_a_users_weights_file_is_rebuilt_from_it(tiny_benchmark, tmp_path):
    """As with an official SAM / MedSAM ViT-B checkpoint, which no package ships: `train --encoder-checkpoint`
    records the file, and loading the trained checkpoint (chat, eval) rebuilds the encoder from it, or says it is
    gone. (MobileSAM's shipped weights, copied, stand in for the user's file: the ViT-B ones cannot be had here.)"""
    weights = tmp_path / "my_encoder.pt"
    shutil.copy(resolve_weights("mobilesam"), weights)
    config = TrainConfig(
        "ct_to_mr", "erm", encoder="mobilesam", encoder_weights=str(weights), epochs=1, slice_stride=24,
        max_cases=1, variables={"benchmark": str(tiny_benchmark)},
    )  # fmt: skip
    path = train(config, tmp_path / "users", "cpu", progress=False)
    assert read_checkpoint(path)["encoder_weights"] == str(weights.resolve())
    segmenter, _ = load_segmenter(path)
    assert segmenter.backbone.weights_sha256 == file_sha256(weights)
    weights.rename(tmp_path / "moved.pt")
    with pytest.raises(CheckpointError, match=r"my_encoder\.pt, which is no longer there"):
        load_segmenter(path)


def test_every_process_gets_the_same_number_of_batches():
    """An epoch of 7 batches on 2 processes: 3 each (one skipped), never 4 against 3, which would leave one process
    waiting in DDP's all-reduce forever."""
    batches = list(range(7))
    shares = [shard(batches, rank, 2) for rank in range(2)]
    assert [len(s) for s in shares] == [3, 3] and not set(shares[0]) & set(shares[1])
    assert shard(batches, 0, 1) == batches  # one process: everything, as the shipped runs trained


def test_eval_on_an_empty_folder_and_a_missing_domain(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main(
            [
                "eval",
                "--protocol",
                "ct_to_mr",
                "--checkpoint",
                str(tmp_path / "x.pt"),
                "--data",
                str(empty),
                "--json",
                str(tmp_path / "r.json"),
            ]
        )
        == 2
    )
    assert "is empty" in capsys.readouterr().err
    assert main(_train_args(tmp_path / "no-benchmark", tmp_path / "run", "erm")) == 2
    assert "domain 'CT' (train) points to" in capsys.readouterr().err


def test_runs_of_one_method_with_several_seeds_are_summarised_across_seeds():
    from causal_sam_llm.segmentation.evaluation import Score, seed_summary, seed_table

    dice = {(0, "A"): (0.8, 0.6), (0, "B"): (0.9, 0.7), (1, "A"): (0.6, 0.4), (1, "B"): (0.7, 0.5)}
    scores = [
        Score("lad", domain, "case-1", organ, value, 10.0 + 10 * seed, seed)
        for (seed, domain), values in dice.items()
        for organ, value in zip(("liver", "spleen"), values, strict=True)
    ]
    scores.append(Score("erm", "A", "case-1", "liver", 0.5, 30.0, 0))  # one seed: nothing to summarise
    summary = seed_summary(scores)
    assert list(summary) == ["lad"]
    assert summary["lad"]["A"]["seeds"] == {"0": {"dice": 70.0, "hd95": 10.0}, "1": {"dice": 50.0, "hd95": 20.0}}
    overall = summary["lad"]["mean of domains"]  # seed 0: (70 + 80) / 2 = 75; seed 1: (50 + 60) / 2 = 55
    assert overall["dice_mean"] == pytest.approx(65.0) and overall["dice_std"] == pytest.approx(200**0.5)
    assert overall["hd95_mean"] == pytest.approx(15.0) and overall["hd95_std"] == pytest.approx(50**0.5)
    assert "| lad | **mean of domains** | s0: 75.0 / 10.0, s1: 55.0 / 20.0 | 65.0 ± 14.1 / 15.0 ± 7.1 |" in seed_table(
        summary
    )


def test_eval_refuses_two_checkpoints_of_the_same_method_and_seed(tiny_benchmark, tiny_lad, tmp_path, capsys):
    args = ["eval", "--protocol", "ct_to_mr", "--checkpoint", str(tiny_lad), str(tiny_lad)]
    args += ["--set", f"benchmark={tiny_benchmark}"]
    assert main([*args, "--json", str(tmp_path / "r.json")]) == 2
    assert "both method 'lad' with seed 0" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_eval_refuses_a_checkpoint_trained_under_another_protocol(tiny_benchmark, tiny_lad, tmp_path, capsys):
    """cross_scanner has the same four organs, but its test cases may be ct_to_mr's training anatomies."""
    args = ["eval", "--protocol", "cross_scanner", "--checkpoint", str(tiny_lad)]
    args += ["--set", f"benchmark={tiny_benchmark}", "--json", str(tmp_path / "r.json")]
    assert main(args) == 2
    assert "trained under protocol 'ct_to_mr', not 'cross_scanner'" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_protocol_errors_are_data_layout_errors():
    from causal_sam_llm.datasets.protocol import load_protocol

    with pytest.raises(DataLayoutError, match="no protocol named 'nope'"):
        load_protocol("nope")


def test_learned_correction_uses_cached_embeddings_and_touches_only_its_organ(tiny_benchmark, tiny_lad):
    from causal_sam_llm.datasets.protocol import load_protocol
    from causal_sam_llm.segmentation.checkpoint_io import load_generator, load_segmenter
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
    from causal_sam_llm.segmentation.checkpoint_io import load_generator, load_segmenter
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


@pytest.mark.parametrize("method", ["erm", "lad"])
def test_foreground_slices_are_repeated_per_epoch(method):
    from causal_sam_llm.segmentation.trainer import TrainConfig, _batches
    from causal_sam_llm.segmentation.training_set import EmbeddedSlices

    targets = torch.zeros(6, 1, 4, 4, dtype=torch.uint8)
    targets[[0, 1], 0, 1, 1] = 1  # slice 0 and its second style view (1) show the organ; 2..5 do not
    data = EmbeddedSlices(
        embeddings=torch.zeros(6, 1, 1, 1),
        targets=targets,
        style_text=torch.zeros(6, 384),
        style_ids=torch.zeros(6, dtype=torch.long),
        pair_ids=torch.tensor([0, 0, 1, 1, 2, 2]),
        sentences=[""],
    )
    config = TrainConfig(protocol="ct_to_mr", method=method, batch_size=4, foreground_repeats=3)
    used = torch.cat(_batches(data, config, epoch=0)).tolist()
    assert sorted(used) == [0, 0, 0, 1, 1, 1, 2, 3, 4, 5]
    if method == "lad":  # still in pairs of two views of one anatomy slice
        pairs = [sorted(used[i : i + 2]) for i in range(0, len(used), 2)]
        assert all(data.pair_ids[a] == data.pair_ids[b] for a, b in pairs)


def test_eval_scores_only_the_organs_a_reference_marks_and_each_sequence_apart(tiny_lad, tmp_path):
    """CHAOS CT ground truth marks the liver only: its spleen and kidneys are unknown, not background, so they are
    not scored (they had scored 0 % / the image diagonal); a folder of several sequences is scored per sequence.
    Training and simulated corrections, which would take them as background, refuse such a case."""
    from layouts import grey_slices, write_series

    from causal_sam_llm.datasets.chaos import load_chaos
    from causal_sam_llm.segmentation.training_set import require_every_class_annotated

    root = tmp_path / "Train_Sets"
    ct = root / "CT" / "1"
    names = [f"liver_GT_{i:03d}.png" for i in range(4)]
    write_series(ct / "DICOM_anon", ct / "Ground", grey_slices([255]), {255: 1}, png_names=names)
    mapping = {63: 1, 126: 3, 189: 4, 252: 2}
    t2 = root / "MR" / "2" / "T2SPIR"
    write_series(t2 / "DICOM_anon", t2 / "Ground", grey_slices(list(mapping)), mapping, modality="MR")
    report = tmp_path / "chaos.json"
    args = ["eval", "--protocol", "ct_to_mr", "--checkpoint", str(tiny_lad), "--data", str(root), "--json", str(report)]
    assert main(args) == 0
    scores = json.loads(report.read_text())["scores"]
    organs = {domain: {s["organ"] for s in scores if s["domain"] == domain} for domain in {s["domain"] for s in scores}}
    assert organs == {
        "Train_Sets CT": {"liver"},
        "Train_Sets T2SPIR": {"liver", "spleen", "right_kidney", "left_kidney"},
    }
    cases = {c.sequence: c for c in load_chaos(root)}
    assert cases["CT"].annotated_classes == ("liver",)
    require_every_class_annotated([cases["T2SPIR"]], ["liver", "spleen"], "training")
    with pytest.raises(DataLayoutError, match="reference marks only liver, not spleen, right_kidney, left_kidney"):
        require_every_class_annotated([cases["CT"]], ["liver", "spleen", "right_kidney", "left_kidney"], "training")
