"""Diagnostic (not shipped): does correcting the MR bias field before the intensity evidence help a correction?

The field is estimated from the segmented liver and spleen (parenchyma of nearly constant intensity): their log
intensities less each organ's mean, eroded by one pixel, spread by a normalized Gaussian convolution (σ in mm);
the image is divided by it.

    python results/tci_bias_field/bias_field_diagnostic.py auc          # separability, 1 min
    python results/tci_bias_field/bias_field_diagnostic.py placement all   # the placement bench, 2 min
    python results/tci_bias_field/bias_field_diagnostic.py placement liver  # the liver only, its own field

`auc`: area under the ROC curve of the intensity log-likelihood ratio (histograms from the segmenter's masks) on the
reference organ against a 6-pixel band around it, on ct_to_mr's 12 MR test cases, without and with the correction.
`placement`: `bench.tci_placement` on the same cases with the correction applied to every correction's intensity
evidence (`all`), or to the liver's only (`liver`)."""

import runpy
import sys

import numpy as np
import torch
from scipy.ndimage import binary_dilation, binary_erosion, gaussian_filter
from sklearn.metrics import roc_auc_score

from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation import tci_apply, tci_trajectory
from causal_sam_llm.segmentation.checkpoint_io import load_segmenter
from causal_sam_llm.segmentation.decoded_volume import decode_volume, organ_probabilities
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.inference import embed_case, masks_from_probabilities
from causal_sam_llm.segmentation.intensity_evidence import intensity_log_ratio
from causal_sam_llm.segmentation.training_set import class_masks

CHECKPOINT = "trained/ct_to_mr/lad.pt"
SIGMA_MM = (10.0, 17.6, 17.6)  # one slice, 8 pixels in-plane
PLANE = np.zeros((1, 3, 3), bool)
PLANE[0] = True


def bias_corrected(image: np.ndarray, masks: np.ndarray, classes: list[str], sources: set[str], spacing) -> np.ndarray:
    log_image = np.log(np.maximum(image.astype(np.float64), 1.0))
    residual, members = np.zeros_like(log_image), np.zeros(image.shape, bool)
    for k, name in enumerate(classes):
        inner = binary_erosion(masks[:, k], PLANE) if name in sources else np.zeros(image.shape, bool)
        if inner.sum() >= 100:
            residual[inner] = log_image[inner] - log_image[inner].mean()
            members |= inner
    sigma = tuple(s / d for s, d in zip(SIGMA_MM, spacing, strict=True))
    spread, support = gaussian_filter(residual, sigma), gaussian_filter(members.astype(np.float64), sigma)
    log_field = np.clip(support / 0.05, 0, 1) * spread / np.maximum(support, 1e-6)
    return (image / np.exp(log_field)).astype(np.float32)


def auc() -> None:
    torch.set_grad_enabled(False)
    segmenter, _ = load_segmenter(CHECKPOINT, "cpu")
    embedder = SliceEmbedder(segmenter.backbone, EmbeddingCache(embedding_cache_dir()))
    scores: dict[str, list[tuple[str, float]]] = {"none": [], "liver+spleen": []}
    for case in load_protocol("ct_to_mr").case_list("test"):
        image, spacing = case.axial_image(), case.axial_spacing_mm()
        reference = class_masks(case, segmenter.classes) > 0.5
        decoded = decode_volume(segmenter, embed_case(embedder, case))
        probabilities = organ_probabilities(segmenter, decoded, list(range(len(segmenter.classes))))
        masks = masks_from_probabilities(probabilities, case.label_set, segmenter.classes) > 0.5
        images = {
            "none": image,
            "liver+spleen": bias_corrected(image, masks, segmenter.classes, {"liver", "spleen"}, spacing),
        }
        for k, organ in enumerate(segmenter.classes):
            truth, predicted = reference[:, k], masks[:, k]
            if truth.sum() < 100 or predicted.sum() < 100:
                continue
            band = binary_dilation(truth, PLANE, iterations=6) & ~truth
            around = binary_dilation(predicted, PLANE, iterations=6) & ~predicted
            labels = np.r_[np.ones(truth.sum()), np.zeros(band.sum())]
            for name, corrected in images.items():
                ratio = intensity_log_ratio(corrected, predicted, around)
                scores[name].append((organ, roc_auc_score(labels, np.r_[ratio[truth], ratio[band]])))
    for name, rows in scores.items():
        per_organ = {o: f"{np.mean([a for n, a in rows if n == o]):.3f}" for o in segmenter.classes}
        print(f"{name}: mean AUC {np.mean([a for _, a in rows]):.4f} {per_organ}")


def placement(which: str) -> None:
    sources = {"liver", "spleen"} if which == "all" else {"liver"}
    shipped = tci_apply.placement_evidence

    def with_corrected_image(evidence, study, intervention, organ):
        classes = evidence.segmenter.classes
        if which == "all" or classes[organ] == "liver":
            masks = masks_from_probabilities(study.probabilities, evidence.label_set, classes) > 0.5
            study = study._replace(image=bias_corrected(study.image, masks, classes, sources, study.spacing_mm))
        return shipped(evidence, study, intervention, organ)

    tci_apply.placement_evidence = with_corrected_image
    tci_trajectory.placement_evidence = with_corrected_image
    out = f"/tmp/tci_bias_field_placement_{which}.md"  # the log keeps what it prints
    sys.argv = ["tci_placement", "--checkpoint", CHECKPOINT, "--out", out]
    runpy.run_module("causal_sam_llm.bench.tci_placement", run_name="__main__")


if __name__ == "__main__":
    auc() if sys.argv[1] == "auc" else placement(sys.argv[2])
