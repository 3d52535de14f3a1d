"""The box-prompted pretrained decoder that TCI weighs as evidence (segmentation/box_evidence.py), with the real
LiteMedSAM weights."""

import numpy as np
import pytest
import torch

from causal_sam_llm.segmentation import box_evidence
from causal_sam_llm.segmentation.box_evidence import (
    LOGIT_CLIP,
    MARGIN_MM,
    box_logits,
    decode_boxes,
    keep_for_corrections,
    organ_box_logits,
    organ_boxes,
    slice_boxes,
)
from causal_sam_llm.segmentation.embedder import SliceEmbedder

ROWS, COLS = 120, 160


@pytest.fixture(scope="module")
def two_discs(litemedsam, tmp_path_factory):
    """A bright disc and a fainter one on a noisy background, embedded by the real encoder."""
    from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache

    r, c = np.mgrid[:ROWS, :COLS]
    left = (r - 60) ** 2 + (c - 70) ** 2 < 20**2
    right = (r - 60) ** 2 + (c - 130) ** 2 < 15**2
    noise = np.random.default_rng(0).normal(0, 5, (ROWS, COLS))
    image = (np.where(left, 200.0, 40.0) + np.where(right, 150.0, 0.0) + noise) / 255.0
    embedder = SliceEmbedder(litemedsam, EmbeddingCache(tmp_path_factory.mktemp("cache")))
    return embedder.embed_unit(image[None].astype(np.float32)), left, right


def test_the_box_prompted_decoder_outlines_what_the_box_encloses(litemedsam, two_discs):
    embedded, left, right = two_discs
    box = np.zeros((1, ROWS, COLS), bool)
    box[0, 35:86, 45:96] = True  # the left disc with a margin
    embeddings = torch.from_numpy(embedded.embeddings).half()
    grid = box_logits(litemedsam, embeddings, embedded.letterbox, np.array([0]), slice_boxes(box))
    logits = embedded.letterbox.logits_to_source(grid.float())[0].numpy()
    assert (logits[left] > 0).mean() > 0.95
    assert (logits[box[0] & ~left] < 0).mean() > 0.95
    assert np.all(logits[right] == -LOGIT_CLIP)  # outside the box nothing is the boxed object
    assert np.abs(logits).max() <= LOGIT_CLIP


def test_a_slice_without_a_box_gets_no_support(litemedsam, two_discs):
    embedded, _left, _right = two_discs
    embeddings = torch.from_numpy(embedded.embeddings).half()
    logits = box_logits(litemedsam, embeddings, embedded.letterbox, np.array([0]), [None])
    assert logits.shape == (1, 256, 256) and torch.all(logits == -LOGIT_CLIP)


def test_batched_box_decoding_equals_sams_own_decoder_call(litemedsam, two_discs):
    embedded, _left, _right = two_discs
    one = torch.from_numpy(embedded.embeddings)
    embeddings = torch.cat([one, one * 0.5, one.flip(-1)])
    boxes = torch.tensor([[30.0, 40.0, 120.0, 150.0], [10.0, 10.0, 60.0, 90.0], [100.0, 80.0, 200.0, 230.0]])
    decoder = litemedsam.promptable_decoder()
    with torch.inference_mode():
        batched = decode_boxes(litemedsam, embeddings, boxes)
        for index in range(len(boxes)):
            sparse, dense = litemedsam.prompt_encoder(points=None, boxes=boxes[index : index + 1], masks=None)
            single, _quality = decoder(
                image_embeddings=embeddings[index : index + 1],
                image_pe=litemedsam.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=False,
            )
            torch.testing.assert_close(batched[index], single[0, 0], atol=1e-3, rtol=1e-4)


def test_the_promptable_decoder_keeps_the_shipped_weights_when_the_segmenter_adds_lora():
    from causal_sam_llm.segmentation.checkpoints import read_state_dict
    from causal_sam_llm.segmentation.encoder_registry import build_backbone
    from causal_sam_llm.segmentation.segmenter import PromptFreeSegmenter

    backbone = build_backbone("litemedsam")  # its own: the shared fixture's decoder stays without LoRA
    segmenter = PromptFreeSegmenter(backbone, ["liver", "spleen"])  # wraps the shared decoder's attention in LoRA
    assert any("lora" in name for name, _ in segmenter.backbone.mask_decoder.named_parameters())
    shipped = {k.removeprefix("mask_decoder."): v for k, v in read_state_dict(backbone.weights_path).items()}
    kept = backbone.promptable_decoder().state_dict()
    assert set(kept) == {k for k in shipped if k in kept} and len(kept) > 50
    for name, tensor in kept.items():
        torch.testing.assert_close(tensor, shipped[name], atol=0, rtol=0)
    assert not any(p.requires_grad for p in backbone.promptable_decoder().parameters())


def test_slice_boxes_bound_each_slices_region():
    region = np.zeros((3, 10, 12), bool)
    region[0, 2:5, 3:9] = True
    region[2, 7, 1] = True
    assert slice_boxes(region) == [(2, 3, 4, 8), None, (7, 1, 7, 1)]


def test_an_organs_boxes_hold_its_body_widened_and_take_the_nearest_slices_where_it_is_absent():
    spacing = (5.0, 1.5, 1.5)
    mask = np.zeros((6, 80, 80), bool)
    mask[1:4, 30:50, 20:40] = True
    mask[2, 75, 75] = True  # a speck: not part of the body, so not boxed
    widen = round(MARGIN_MM / 1.5)
    boxes = organ_boxes(mask, np.array([0, 2, 5]), spacing)
    body = (30 - widen, 20 - widen, 49 + widen, 39 + widen)
    assert boxes == [body, body, body]
    assert organ_boxes(np.zeros_like(mask), np.array([0, 1]), spacing) == [None, None]


def test_a_box_margin_sweep_holds_only_inside_its_block():
    """`eval-tci --box-margin M`: boxes made inside the block reach M mm beyond the organ; afterwards the default."""
    mask = np.zeros((3, 80, 80), bool)
    mask[1, 30:50, 20:40] = True
    with box_evidence.box_margin(3.0):
        tight = organ_boxes(mask, np.array([1]), (5.0, 1.5, 1.5))
    assert tight == [(28, 18, 51, 41)]  # 3 mm = 2 pixels of 1.5 mm
    assert box_evidence.MARGIN_MM == MARGIN_MM
    with pytest.raises(ValueError, match="at least 0 mm"), box_evidence.box_margin(-1.0):
        organ_boxes(mask, np.array([1]), (5.0, 1.5, 1.5))  # never reached: refused on entry
    assert box_evidence.MARGIN_MM == MARGIN_MM


def test_an_organs_boxed_logits_are_decoded_once_and_kept(litemedsam, two_discs, monkeypatch):
    from causal_sam_llm.segmentation.decoded_volume import DecodedVolume

    embedded, left, _right = two_discs
    volume = np.repeat(embedded.embeddings, 3, axis=0)
    decoded = DecodedVolume(torch.zeros(3, 1), torch.zeros(3, 1, 32), embedded.letterbox, torch.from_numpy(volume))
    mask = np.repeat(left[None], 3, axis=0)
    decoded_slices = []
    real = box_evidence.decode_boxes
    monkeypatch.setattr(box_evidence, "decode_boxes", lambda b, e, p: decoded_slices.append(len(e)) or real(b, e, p))
    first = organ_box_logits(litemedsam, decoded, mask, 0, [1, 2], (5.0, 1.0, 1.0))
    again = organ_box_logits(litemedsam, decoded, mask, 0, [0, 1, 2], (5.0, 1.0, 1.0))
    assert decoded_slices == [2, 1]  # slice 0 only, the second time
    np.testing.assert_array_equal(first, again[1:])
    assert first.shape == (2, ROWS, COLS) and (first[0][left] > 0).mean() > 0.95


def test_segmentation_keeps_every_slice_one_command_could_touch(litemedsam, two_discs, monkeypatch):
    """keep_for_corrections: the organ's slices and a full-strength grow's reach beyond them (1 + 30 mm / 10 mm = 4
    slices each way), each decoded once; an absent organ costs nothing."""
    from causal_sam_llm.segmentation.decoded_volume import DecodedVolume

    embedded, left, _right = two_discs
    volume = np.repeat(embedded.embeddings, 12, axis=0)
    decoded = DecodedVolume(torch.zeros(12, 1), torch.zeros(12, 2, 32), embedded.letterbox, torch.from_numpy(volume))
    masks = np.zeros((12, 2, ROWS, COLS), bool)
    masks[5:7, 0] = left  # organ 0 on slices 5–6; organ 1 absent
    decoded_slices = []
    real = box_evidence.decode_boxes
    monkeypatch.setattr(box_evidence, "decode_boxes", lambda b, e, p: decoded_slices.append(len(e)) or real(b, e, p))
    spacing = (10.0, 1.0, 1.0)
    assert keep_for_corrections(litemedsam, decoded, masks, [0, 1], spacing) == 10
    assert sorted(decoded.box_logits[0]) == list(range(1, 11)) and 1 not in decoded.box_logits
    assert keep_for_corrections(litemedsam, decoded, masks, [0, 1], spacing) == 0  # kept: nothing redone
    decoded_before = sum(decoded_slices)
    organ_box_logits(litemedsam, decoded, masks[:, 0], 0, range(2, 10), spacing)
    assert sum(decoded_slices) == decoded_before == 10  # a correction finds them kept
