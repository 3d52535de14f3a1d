"""Diagnostic (results/tci_history.md, sixth session of 2026-12-07): is the box-prompted pretrained decoder's evidence
better from a zoomed crop around each slice's box than from the whole slice's cached embedding?

For 4 of ct_to_mr's 12 MR test cases (every third), each organ as segmented and each slice one command could touch,
the shipped box (`box_evidence.organ_boxes`) is decoded twice: from the slice's cached embedding, and from a fresh
encoding of a square crop holding the box plus CONTEXT of its size each side, resized to the encoder's input. Both
logit maps are scored inside the box against the reference: Dice of the logits above 0, and the area under the ROC
curve.

Run from the repository root: `.venv/bin/python results/tci_zoomed_box/zoomed_box_diagnostic.py` (about 6 minutes
on 2 CPU cores with the test cases' embeddings cached; it makes one encoder call per organ and slice).
"""

import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation.box_evidence import (
    LOGIT_CLIP,
    Box,
    _input_box,
    box_logits,
    decode_boxes,
    organ_boxes,
    reachable_slices,
)
from causal_sam_llm.segmentation.checkpoint_io import load_segmenter
from causal_sam_llm.segmentation.decoded_volume import decode_volume, organ_probabilities
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.inference import embed_case, masks_from_probabilities
from causal_sam_llm.segmentation.intensity import to_unit_range
from causal_sam_llm.segmentation.letterbox import Letterbox
from causal_sam_llm.segmentation.training_set import class_masks, window_for

CONTEXT = 0.25  # of the box's longer side, added on each side of it
MIN_CROP_PX = 24


def zoomed_logits(backbone, unit_slice: np.ndarray, box: Box) -> np.ndarray:
    """The pretrained decoder's logits for `box` from a fresh encoding of a crop around it, on the slice's grid."""
    first_row, first_col, last_row, last_col = box
    side = max(round(max(last_row - first_row + 1, last_col - first_col + 1) * (1 + 2 * CONTEXT)), MIN_CROP_PX)
    top = round((first_row + last_row) / 2 - side / 2)
    left = round((first_col + last_col) / 2 - side / 2)
    rows, cols = unit_slice.shape
    padded = np.zeros((rows + 2 * side, cols + 2 * side), np.float32)  # a crop may reach past the image
    padded[side : side + rows, side : side + cols] = unit_slice
    window = (slice(top + side, top + 2 * side), slice(left + side, left + 2 * side))
    letterbox = Letterbox(side, side, backbone.spec.input_size)
    embedding = backbone.encode(letterbox.image_to_input(padded[window]))
    prompt = torch.tensor([_input_box((first_row - top, first_col - left, last_row - top, last_col - left), letterbox)])
    with torch.autocast("cpu", torch.bfloat16, enabled=backbone.precision == "bf16"):
        logits = decode_boxes(backbone, embedding, prompt).float()
    canvas = np.full(padded.shape, -LOGIT_CLIP, np.float32)
    canvas[window] = letterbox.logits_to_source(logits)[0].clamp(-LOGIT_CLIP, LOGIT_CLIP).numpy()
    return canvas[side : side + rows, side : side + cols]


def scores(logits: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(Dice of the logits above 0, area under the ROC curve; NaN where the box holds one class only)."""
    predicted = logits > 0
    dice = 2 * (predicted & truth).sum() / max(predicted.sum() + truth.sum(), 1)
    auc = roc_auc_score(truth, logits) if 0 < truth.sum() < truth.size else np.nan
    return float(dice), float(auc)


def main() -> None:
    torch.set_grad_enabled(False)
    segmenter, _ = load_segmenter("trained/ct_to_mr/lad.pt", "cpu")
    backbone = segmenter.backbone
    embedder = SliceEmbedder(backbone, EmbeddingCache(embedding_cache_dir()))
    rows: dict[str, list[tuple[int, float, float, int]]] = {"whole slice": [], "zoomed crop": []}
    start = time.time()
    for case in load_protocol("ct_to_mr").case_list("test")[::3]:
        spacing = case.axial_spacing_mm()
        unit = to_unit_range(case.axial_image(), case.modality, window_for(case.label_set_name))
        embedded = embed_case(embedder, case)
        organs = list(range(len(segmenter.classes)))
        probabilities = organ_probabilities(segmenter, decode_volume(segmenter, embedded), organs)
        masks = masks_from_probabilities(probabilities, case.label_set, segmenter.classes)
        reference = class_masks(case, segmenter.classes)
        for organ in (o for o in organs if masks[:, o].any()):
            slices = np.asarray(reachable_slices(masks[:, organ], spacing))
            boxes = organ_boxes(masks[:, organ], slices, spacing)
            cached = torch.from_numpy(embedded.embeddings)
            whole = box_logits(backbone, cached, embedded.letterbox, slices, boxes).float()
            whole = embedded.letterbox.logits_to_source(whole).clamp(-LOGIT_CLIP, LOGIT_CLIP).numpy()
            for i, (z, box) in enumerate(zip(slices, boxes, strict=True)):
                if box is None:
                    continue
                inside = (slice(box[0], box[2] + 1), slice(box[1], box[3] + 1))
                truth = reference[z, organ][inside].ravel()
                zoomed = zoomed_logits(backbone, unit[z], box)
                for name, logits in (("whole slice", whole[i]), ("zoomed crop", zoomed)):
                    rows[name].append((organ, *scores(logits[inside].ravel(), truth), int(truth.sum())))
        print(case.case_id, f"{time.time() - start:.0f} s", flush=True)
    for name, table in rows.items():
        values = np.array(table, float)
        for organ, label in enumerate(segmenter.classes):
            chosen = values[values[:, 0] == organ]
            weights = chosen[:, 3]
            print(
                f"{name} {label}: {len(chosen)} slices, voxel-weighted Dice "
                f"{np.sum(chosen[:, 1] * weights) / weights.sum():.3f}, AUC {np.nanmean(chosen[:, 2]):.3f}"
            )


if __name__ == "__main__":
    main()
