"""Encoder registry: real shipped weights load strictly, user checkpoints load strictly, and mistakes are explained."""

from pathlib import Path

import pytest
import torch

from causal_sam_llm.errors import CheckpointError, UnknownEncoderError
from causal_sam_llm.segmentation import sam_builders
from causal_sam_llm.segmentation.checkpoint_io import checkpoint_path
from causal_sam_llm.segmentation.checkpoints import file_sha256
from causal_sam_llm.segmentation.encoder_registry import build_backbone, encoder_names
from causal_sam_llm.segmentation.parameters import count_parameters

LITEMEDSAM_SHA256 = "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76"


def test_registry_names_all_four_encoders():
    assert encoder_names() == ["litemedsam", "mobilesam", "sam_vit_b", "medsam_vit_b"]


def test_litemedsam_loads_shipped_weights_strictly_and_frozen(litemedsam):
    assert litemedsam.weights_sha256 == LITEMEDSAM_SHA256
    counts = count_parameters(litemedsam)
    assert counts.trainable == 0
    assert counts.total == 9_791_300
    assert not litemedsam.training


def test_backbone_stays_in_eval_mode_when_asked_to_train(litemedsam):
    litemedsam.train()
    assert not litemedsam.training
    assert not any(module.training for module in litemedsam.modules())


def test_mobilesam_loads_shipped_weights_strictly():
    backbone = build_backbone("mobilesam")
    assert backbone.spec.input_size == 1024
    assert count_parameters(backbone).total == 10_130_092
    embedding = backbone.encode(torch.rand(1, 3, 1024, 1024))
    assert embedding.shape == (1, 256, 64, 64)


@pytest.fixture(scope="module")
def vit_b_checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "vit_b_random.pth"
    torch.save(sam_builders.build_vit_b().state_dict(), path)
    return path


@pytest.mark.parametrize("name", ["sam_vit_b", "medsam_vit_b"])
def test_vit_b_encoders_load_a_user_checkpoint_strictly(name, vit_b_checkpoint):
    backbone = build_backbone(name, checkpoint=vit_b_checkpoint)
    expected = torch.load(vit_b_checkpoint, weights_only=True)["image_encoder.patch_embed.proj.weight"]
    assert torch.equal(backbone.image_encoder.patch_embed.proj.weight, expected)
    assert backbone.weights_sha256 == file_sha256(vit_b_checkpoint)
    assert count_parameters(backbone).trainable == 0


def test_unknown_encoder_names_the_choices():
    with pytest.raises(UnknownEncoderError, match="choose one of: litemedsam, mobilesam"):
        build_backbone("sam_vit_huge")


def test_vit_b_without_checkpoint_asks_for_one():
    with pytest.raises(CheckpointError, match="--encoder-checkpoint PATH to train"):
        build_backbone("sam_vit_b")


def test_missing_checkpoint_path_is_named(tmp_path):
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(CheckpointError, match=r"checkpoint not found: .*nowhere\.pth"):
        build_backbone("medsam_vit_b", checkpoint=missing)


def test_checkpoint_with_wrong_keys_names_keys_and_fix(tmp_path, litemedsam):
    wrong = tmp_path / "litemedsam_as_vit_b.pth"
    torch.save({"image_encoder.foo": torch.zeros(1), "mask_decoder.bar": torch.zeros(2)}, wrong)
    with pytest.raises(CheckpointError, match=r"missing .*unexpected .*choose the matching --encoder"):
        build_backbone("sam_vit_b", checkpoint=wrong)


def test_checkpoint_that_is_not_a_state_dict(tmp_path):
    junk = tmp_path / "notes.pth"
    junk.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=r"cannot read checkpoint .*not a file torch.save wrote \(\w+Error"):
        build_backbone("sam_vit_b", checkpoint=junk)
    # a segmenter trained here given as encoder weights (`info --checkpoint model.pt`) is named as what it is
    with pytest.raises(CheckpointError, match="is a segmenter trained by `causal-sam-llm train`, not encoder weights"):
        build_backbone("sam_vit_b", checkpoint=checkpoint_path("ct_to_mr/lad"))


def test_bf16_encoder_is_close_to_fp32_and_cached_apart(litemedsam):
    from causal_sam_llm.segmentation.backbone import resolve_precision

    bf16 = build_backbone("litemedsam", precision="bf16")
    images = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    reference, approximate = litemedsam.encode(images), bf16.encode(images)
    assert approximate.dtype == torch.float32 and approximate.is_contiguous()
    assert ((approximate - reference).norm() / reference.norm()).item() < 0.1
    assert (litemedsam.cache_name, bf16.cache_name) == ("litemedsam", "litemedsam@bf16.2")
    # the bf16 copy is not part of the model: same parameters, all frozen, before and after it is built
    assert sum(p.numel() for p in bf16.parameters()) == sum(p.numel() for p in litemedsam.parameters())
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in bf16.parameters())
    assert resolve_precision("auto", "cuda") == "fp32"
    with pytest.raises(ValueError, match="fp32, bf16, auto"):
        resolve_precision("int4", "cpu")


def test_folding_batch_norms_into_convolutions_keeps_the_encoder_output(litemedsam):
    import copy

    from causal_sam_llm.segmentation.bf16_encoder import fold_batch_norms

    folded = copy.deepcopy(litemedsam.image_encoder)
    assert fold_batch_norms(folded) == 27  # every Conv2d_BN of LiteMedSAM's TinyViT
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    images = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert torch.allclose(folded(images), litemedsam.image_encoder(images), atol=1e-4)
