"""Segment a whole case with a trained segmenter: embed (cached), decode every slice, map back to the source grid,
and turn per-organ probabilities into masks and a label map in canonical RAS."""

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.label_maps import LabelSet
from causal_sam_llm.datasets.orientation import axial_stack_to_ras
from causal_sam_llm.segmentation.embedder import EmbeddedVolume, SliceEmbedder
from causal_sam_llm.segmentation.film import OrganFilm
from causal_sam_llm.segmentation.segmenter import PromptFreeSegmenter
from causal_sam_llm.segmentation.training_set import window_for


@dataclass
class CaseSegmentation:
    probabilities: np.ndarray  # (Z, C, rows, cols) float32, axial
    masks: np.ndarray  # (C, X, Y, Z) bool, RAS


def embed_case(
    embedder: SliceEmbedder, case: Case, progress: bool = False, axial_image: np.ndarray | None = None
) -> EmbeddedVolume:
    """`axial_image`: the case's axial image when the caller has it already (reorienting a 512² study takes 0.2 s)."""
    image = case.axial_image() if axial_image is None else axial_image
    return embedder.embed(image, case.modality, window_for(case.label_set_name), progress)


@torch.inference_mode()
def decode_probabilities(
    segmenter: PromptFreeSegmenter,
    embedded: EmbeddedVolume,
    slices: np.ndarray | None = None,
    films: dict[int, OrganFilm] | None = None,
    organs: list[int] | None = None,
    batch: int = 8,
) -> np.ndarray:
    """(len(slices), C', rows, cols) sigmoid probabilities on the source grid, from cached embeddings only."""
    device = next(segmenter.parameters()).device
    indices = np.arange(len(embedded.embeddings)) if slices is None else np.asarray(slices)
    chunks = []
    for start in range(0, len(indices), batch):
        chunk = torch.from_numpy(embedded.embeddings[indices[start : start + batch]]).to(device, torch.float32)
        logits = segmenter(chunk, films, organs)
        chunks.append(torch.sigmoid(embedded.letterbox.logits_to_source(logits)).cpu().numpy())
    return np.concatenate(chunks)


def masks_from_probabilities(probabilities: np.ndarray, label_set: LabelSet, classes: list[str]) -> np.ndarray:
    """(Z, C, rows, cols) → (Z, C, rows, cols) bool. Exclusive sets: the most likely organ above 0.5 wins a pixel;
    nested sets: each region above 0.5, kept inside its enclosing region."""
    above = probabilities > 0.5
    if label_set.kind == "exclusive":
        winner = _most_likely(probabilities)
        return above & (winner[:, None] == np.arange(len(classes))[None, :, None, None])
    order = sorted(range(len(classes)), key=lambda i: label_set.classes[classes[i]])
    for outer, inner in itertools.pairwise(order):
        above[:, inner] &= above[:, outer]
    return above


def _most_likely(probabilities: np.ndarray) -> np.ndarray:
    """argmax over the organ axis (the first organ wins a tie, as argmax's), one organ at a time: on a 512² study
    of 120 slices 0.2 s where argmax across the strided organ axis took 1.1 s."""
    best, winner = probabilities[:, 0].copy(), np.zeros(probabilities[:, 0].shape, np.int8)
    for organ in range(1, probabilities.shape[1]):
        higher = probabilities[:, organ] > best
        winner[higher] = organ
        np.maximum(best, probabilities[:, organ], out=best)
    return winner


def segment_case(segmenter: PromptFreeSegmenter, embedder: SliceEmbedder, case: Case) -> CaseSegmentation:
    probabilities = decode_probabilities(segmenter, embed_case(embedder, case))
    masks = masks_from_probabilities(probabilities, case.label_set, segmenter.classes)
    ras = np.stack([axial_stack_to_ras(masks[:, c]) for c in range(masks.shape[1])])
    return CaseSegmentation(probabilities=probabilities, masks=ras)
