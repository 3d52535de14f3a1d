"""The simulated clinician's corrections of one case along the learned response's trajectory, with what each one
weighed: the placement bench reads them (bench/tci_placement.py) and the ranker learns from them
(tci_ranker_training.py). The same commands and masks eval-tci's learned row scores."""

from collections.abc import Iterator
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.segmentation.box_evidence import keep_for_corrections
from causal_sam_llm.segmentation.clinician import choose_intervention
from causal_sam_llm.segmentation.correction_grid import pooled, pooled_letterbox, pooling_factor
from causal_sam_llm.segmentation.decoded_volume import decode_volume, organ_probabilities
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.inference import embed_case, masks_from_probabilities
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.piece_removal import pieces_to_delete
from causal_sam_llm.segmentation.segmenter import PromptFreeSegmenter
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator
from causal_sam_llm.segmentation.tci_apply import Evidence, StudyOnGrid, correct, placement_evidence
from causal_sam_llm.segmentation.tci_placement import PlacementEvidence
from causal_sam_llm.segmentation.training_set import class_masks


class PlacedCorrection(NamedTuple):
    """One grow or shrink of an organ present, as the response weighs it."""

    command: Intervention
    terms: PlacementEvidence
    before: np.ndarray  # the organ's probabilities in the correction's window, before it
    truth: np.ndarray  # the reference mask of that organ in the window
    spacing_mm: tuple[float, float, float]
    round_index: int = 0  # which of the case's rounds (from 0): the clinician's later requests fix smaller errors


def placed_corrections(
    segmenter: PromptFreeSegmenter,
    generator: InterventionFilmGenerator,
    embedder: SliceEmbedder,
    case: Case,
    rounds: int,
) -> Iterator[PlacedCorrection]:
    """The clinician's corrections of `case`, each applied by the learned response (with `generator`'s ranker if it
    carries one) before the clinician chooses the next; yields those that place an amount by evidence (a grow or
    shrink of an organ present; not a smooth, nor a deletion), until `rounds` of them are yielded, the clinician
    asks nothing more, or 4 × `rounds` corrections in all. Counting only those keeps what the ranker learns from
    when the clinician first deletes an organ painted where it is not (step 24: on the tests' tiny benchmark a
    segmenter trained for one epoch drew only deletions and whole-organ additions in its first four requests).
    A case finer than the decoder's grid (a clinical 512² CT) is followed on its planes pooled as its corrections
    are computed (correction_grid.py), the reference too, so the clinician reads the pooled masks there."""
    spacing, image = case.axial_spacing_mm(), case.axial_image()
    reference = class_masks(case, segmenter.classes)
    decoded = decode_volume(segmenter, embed_case(embedder, case))
    organs = list(range(len(segmenter.classes)))
    probabilities = organ_probabilities(segmenter, decoded, organs)
    keep_for_corrections(segmenter.backbone, decoded, _masks(probabilities, case, segmenter), organs, spacing)
    factor = pooling_factor(decoded.letterbox)
    if factor > 1:
        decoded = replace(decoded, letterbox=pooled_letterbox(decoded.letterbox, factor))  # box logits kept, shared
        probabilities, image = pooled(probabilities, factor), pooled(image, factor)
        reference = pooled(reference, factor) > 0.5
        spacing = (spacing[0], spacing[1] * factor, spacing[2] * factor)
    evidence = Evidence(segmenter, generator, case.label_set)
    previous: Intervention | None = None
    exclusive = case.label_set.kind == "exclusive"  # a grow may not take another organ's voxels: none credited
    placed = 0
    for round_index in range(4 * rounds):
        if placed == rounds:
            return
        masks = _masks(probabilities, case, segmenter)
        command = choose_intervention(masks, reference, segmenter.classes, spacing, previous, exclusive)
        if command is None:
            return
        previous, organ = command, segmenter.classes.index(command.organ)
        if pieces_to_delete(command, probabilities, organ, case.label_set, segmenter.classes, spacing) is None:
            study = StudyOnGrid(decoded, probabilities, image, spacing)
            window, terms = placement_evidence(evidence, study, command, organ)
            if terms is not None and terms.amount is not None and terms.intensity is not None:
                before = window.of_channels(probabilities)[:, organ]
                truth = window.of_stack(reference[:, organ])
                yield PlacedCorrection(command, terms, before, truth, spacing, round_index)
                placed += 1
        probabilities = correct(evidence, decoded, probabilities, command, spacing, image).probabilities


def _masks(probabilities: np.ndarray, case: Case, segmenter: PromptFreeSegmenter) -> np.ndarray:
    return masks_from_probabilities(probabilities, case.label_set, segmenter.classes)
