"""The prompt-free segmenter: under 8% trained, frozen encoder, checkpoints refuse mismatches, loss decreases."""

import pytest
import torch

from causal_sam_llm.errors import CheckpointError
from causal_sam_llm.segmentation.checkpoint_io import load_segmenter, save_checkpoint
from causal_sam_llm.segmentation.encoder_registry import build_backbone
from causal_sam_llm.segmentation.lad import LADObjective, segmentation_loss
from causal_sam_llm.segmentation.parameters import count_parameters
from causal_sam_llm.segmentation.segmenter import build_segmenter

ORGANS = ["liver", "spleen", "right_kidney", "left_kidney"]


@pytest.mark.parametrize("method", ["lad", "erm", "aug"])
def test_trainable_fraction_is_under_eight_percent(method):
    segmenter = build_segmenter(build_backbone(), ORGANS, method)
    counts = count_parameters(torch.nn.ModuleList([segmenter, LADObjective()]))
    assert counts.trainable_fraction < 0.08
    assert not any(p.requires_grad for p in segmenter.backbone.image_encoder.parameters())


def test_full_decoder_baseline_trains_the_whole_decoder():
    segmenter = build_segmenter(build_backbone(), ORGANS, "full_decoder")
    assert all(p.requires_grad for p in segmenter.backbone.mask_decoder.parameters())
    assert count_parameters(segmenter).trainable_fraction > 0.3


def test_untrained_adapter_is_identity_and_output_shape():
    segmenter = build_segmenter(build_backbone(), ORGANS, "lad")
    embeddings = torch.randn(2, 256, 64, 64)
    assert torch.equal(segmenter.adapt(embeddings), embeddings)
    assert segmenter(embeddings).shape == (2, 4, 256, 256)
    assert segmenter(embeddings, organs=[2]).shape == (2, 1, 256, 256)


def test_loss_decreases_on_a_tiny_set():
    torch.manual_seed(0)
    segmenter = build_segmenter(build_backbone(), ORGANS, "erm")
    embeddings = torch.randn(4, 256, 64, 64)
    targets = torch.zeros(4, 4, 256, 256)
    targets[:, 0, 40:160, 30:140] = 1
    targets[:, 2, 150:200, 160:210] = 1
    optimizer = torch.optim.AdamW([p for p in segmenter.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(8):
        loss = segmentation_loss(segmenter(embeddings), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_lad_terms_are_finite_and_reverse_the_style_gradient():
    objective = LADObjective()
    adapted = torch.randn(4, 256, 64, 64, requires_grad=True)
    logits = torch.randn(4, 2, 32, 32)
    targets = torch.zeros(4, 2, 32, 32)
    text = torch.nn.functional.normalize(torch.randn(2, 384), dim=-1)[[0, 0, 1, 1]]
    terms = objective(adapted, logits, targets, text, torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]))
    assert all(torch.isfinite(v) for v in terms.values())
    terms["style"].backward()
    reversed_to_features = adapted.grad.clone()
    to_head = objective.feature_head[0].weight.grad.clone()
    # the same term with the reversal layer passing the gradient through unchanged (factor −1 undoes the sign flip)
    adapted.grad, objective.reversal = None, -1.0
    objective.zero_grad()
    objective.style_term(adapted, text, torch.tensor([0, 0, 1, 1])).backward()
    assert reversed_to_features.abs().max() > 0
    torch.testing.assert_close(reversed_to_features, -adapted.grad)  # the features are pushed to hide the style
    torch.testing.assert_close(to_head, objective.feature_head[0].weight.grad)  # while the heads learn to find it


def test_checkpoint_round_trip_and_refusals(tmp_path):
    segmenter = build_segmenter(build_backbone(), ORGANS, "lad")
    with torch.no_grad():
        segmenter.heads.bias.fill_(0.25)
    path = tmp_path / "model.pt"
    save_checkpoint(path, segmenter, {"method": "lad", "protocol": "ct_to_mr", "label_set": "abdomen"})
    loaded, meta = load_segmenter(path, expected_classes=ORGANS)
    assert torch.equal(loaded.heads.bias, segmenter.heads.bias) and meta["method"] == "lad"
    with pytest.raises(CheckpointError, match="another label set"):
        load_segmenter(path, expected_classes=["whole_tumour", "tumour_core", "enhancing_tumour"])
    payload = torch.load(path, weights_only=True)
    payload["encoder_sha256"] = "0" * 64
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="use the encoder checkpoint it was trained with"):
        load_segmenter(tmp_path / "other.pt")
