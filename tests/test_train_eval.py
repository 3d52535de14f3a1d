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
from layouts import ras_affine, save_nifti, write_amos, write_brats, write_btcv
from tiny_run import train_args

from causal_sam_llm.cli import main
from causal_sam_llm.errors import CheckpointError, DataLayoutError
from causal_sam_llm.paths import BENCHMARK_ENV
from causal_sam_llm.segmentation.checkpoint_io import load_segmenter, read_checkpoint
from causal_sam_llm.segmentation.checkpoints import file_sha256
from causal_sam_llm.segmentation.encoder_registry import resolve_weights
from causal_sam_llm.segmentation.trainer import TrainConfig, shard, train
from causal_sam_llm.segmentation.training_overlap import training_cases


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
    picture = report.with_suffix(".png").read_bytes()
    assert picture[:4] == b"\x89PNG"
    width, height = (int.from_bytes(picture[at : at + 4], "big") for at in (16, 20))  # the PNG header's size
    assert (width, height) == (4 * 320, 2 * 300 + 60)  # a row of organs per test domain (they had been pooled)


def test_training_resumes_from_its_saved_state(tiny_benchmark, tmp_path, capfd):
    out = tmp_path / "erm"
    assert main(train_args(tiny_benchmark, out, "erm")) == 0
    first = torch.load(out / "state.pt", weights_only=False)
    assert first["epoch"] == 0
    shown = capfd.readouterr()
    # the epoch's bar ends on the epoch's mean losses, those recorded (it had shown the last batch's)
    assert f"seg {first['history'][0]['seg']:.3f} total {first['history'][0]['total']:.3f}" in shown.out
    assert "Loading weights" not in shown.err  # the text encoder's own tqdm bar, which broke into rich's
    assert main([*train_args(tiny_benchmark, out, "erm")[:6], "2", *train_args(tiny_benchmark, out, "erm")[7:]]) == 0
    assert torch.load(out / "state.pt", weights_only=False)["epoch"] == 1
    assert len(read_checkpoint(out / "model.pt")["history"]) == 2
    # the resumed run's time adds to the first's; a finished run asked again trains nothing and rewrites nothing
    record = (out / "train.json").read_text()
    assert json.loads(record)["train_seconds"] > first["seconds"]
    assert main([*train_args(tiny_benchmark, out, "erm")[:6], "2", *train_args(tiny_benchmark, out, "erm")[7:]]) == 0
    assert (out / "train.json").read_text() == record


def test_a_benchmark_chosen_by_environment_is_recorded_and_read_again(tiny_benchmark, tmp_path, monkeypatch):
    """Trained on the benchmark CAUSAL_SAM_LLM_BENCHMARK names, without --set: train.json's command and the
    checkpoint say which folder, and its training cases resolve from that folder when the variable is gone."""
    monkeypatch.setenv(BENCHMARK_ENV, str(tiny_benchmark))
    out = tmp_path / "by_environment"
    arguments = train_args(tiny_benchmark, out, "erm")
    at = arguments.index("--set")
    assert main(arguments[:at] + arguments[at + 2 :]) == 0
    record = json.loads((out / "train.json").read_text())
    assert record["command"].startswith(f"{BENCHMARK_ENV}={tiny_benchmark} causal-sam-llm train")
    assert record["benchmark"] == str(tiny_benchmark.resolve())
    monkeypatch.delenv(BENCHMARK_ENV)  # the default benchmark folder is another one now
    cases = training_cases(read_checkpoint(out / "model.pt"))
    assert cases and all(tiny_benchmark.resolve() in case.source_path.resolve().parents for case in cases)


def test_gradient_clipping_is_on_by_default_and_kept_with_the_run(tiny_benchmark, tiny_lad, tmp_path, capsys):
    assert read_checkpoint(tiny_lad)["config"]["grad_clip"] == 1.0
    out = tmp_path / "unclipped"
    assert main([*train_args(tiny_benchmark, out, "erm"), "--grad-clip", "none"]) == 0
    assert read_checkpoint(out / "model.pt")["config"]["grad_clip"] is None
    with pytest.raises(SystemExit):
        main([*train_args(tiny_benchmark, tmp_path / "bad", "lad"), "--grad-clip", "0"])
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
        *train_args(tiny_benchmark, tmp_path / "ddp", "erm"),
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
                "ct_to_mr/lad",
                "--data",
                str(empty),
                "--json",
                str(tmp_path / "r.json"),
            ]
        )
        == 2
    )
    assert "is empty" in capsys.readouterr().err
    assert main(train_args(tmp_path / "no-benchmark", tmp_path / "run", "erm")) == 2
    assert "domain 'CT' (train) points to" in capsys.readouterr().err


def test_eval_names_a_broken_label_file_before_it_segments_anything(tmp_path, capsys):
    """The second case's labels hold a value BTCV does not define: said before the checkpoint is even read, not
    after the first case was segmented and scored (those scores were then lost)."""
    root = tmp_path / "btcv"
    write_btcv(root, numbers=(1, 2))
    labels = np.zeros((6, 5, 4), np.uint8)
    labels[0, 0, 0] = 20
    save_nifti(labels, ras_affine(), root / "Training" / "label" / "label0002.nii.gz")
    command = ["eval", "--protocol", "ct_to_mr", "--checkpoint", "ct_to_mr/lad", "--data", str(root)]
    assert main([*command, "--json", str(tmp_path / "r.json")]) == 2
    assert "label0002.nii.gz has label values [20]" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_eval_refuses_a_folder_of_another_anatomy_and_a_report_path_that_is_a_folder(tmp_path, capsys):
    """A BraTS folder scored by an abdominal protocol had ended in a KeyError; a --json naming a folder had failed
    only after the whole evaluation. Both are said before any model loads."""
    write_brats(tmp_path / "brats")
    args = ["eval", "--protocol", "ct_to_mr", "--checkpoint", "ct_to_mr/lad", "--data", str(tmp_path / "brats")]
    assert main([*args, "--json", str(tmp_path / "r.json")]) == 2
    assert "holds brain_tumour cases, and protocol ct_to_mr segments abdomen" in capsys.readouterr().err
    for command in (args, ["eval-tci", "--protocol", "ct_to_mr", "--checkpoint", "ct_to_mr/lad"]):
        with pytest.raises(SystemExit) as usage_error:
            main([*command, "--json", str(tmp_path)])
        assert usage_error.value.code == 2 and f"{tmp_path} is a folder; give a file name" in capsys.readouterr().err


def test_eval_scores_the_split_of_a_data_folder_it_is_asked_for(tmp_path, capsys):
    """`eval --data` had read only a folder's train split: AMOS's validation cases (imagesVa / labelsVa), which
    `data list --split val` lists, could not be scored (a research-user trial)."""
    from causal_sam_llm.datasets.protocol import load_protocol
    from causal_sam_llm.segmentation.evaluation import test_cases

    write_amos(tmp_path / "amos", ids=(1,))
    amos = tmp_path / "amos"
    for kind in ("images", "labels"):
        (amos / f"{kind}Va").mkdir()
        shutil.copy(amos / f"{kind}Tr" / "amos_0001.nii.gz", amos / f"{kind}Va" / "amos_0600.nii.gz")
    protocol = load_protocol("ct_to_mr")
    cases = {split: test_cases(protocol, {}, amos, split) for split in ("train", "val")}
    assert [[c.case_id for c in domain] for domain in cases["val"].values()] == [["amos-0600"]]
    assert [[c.case_id for c in domain] for domain in cases["train"].values()] == [["amos-0001"]]
    command = ["eval", "--protocol", "ct_to_mr", "--checkpoint", "ct_to_mr/lad", "--split", "val"]
    assert main([*command, "--json", str(tmp_path / "r.json")]) == 2
    assert "--split val picks a split of a --data folder" in capsys.readouterr().err


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
