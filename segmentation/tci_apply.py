"""Applying an intervention to a segmented volume with the learned TCI: FiLM on cached decoder features of the named
organ and slices, plus the image's own intensity evidence (the blind baseline is in tci_blind.py).

HOW MUCH a command changes is read from the command itself: the organ's surface facing the named region moved by the
commanded reach, capped by what a uniform morphological move by that reach changes (`commanded_change`). WHERE is
decided by evidence: the voxels the FiLM-modulated decoder logits plus the intensity log-likelihood ratio
(intensity_evidence.py) plus the logits of the backbone's pretrained decoder prompted with a box around the organ
(box_evidence.py) rank most (shrinking: least) organ-like cross 0.5 — ranked by the learned ranker's read-out of
that sum and its maps where the generator carries one (tci_ranker.py), else by the sum — by setting the scalar
offset of the modulation so that exactly that amount crosses (tci_placement.py, `offset_for_amount`; fewer where
the gate holds fewer). The offset is solved rather than taken from the generator because the decoder's logits in an
unseen domain are far from the scale the generator was trained on (measured: a kidney the MR segmenter cut short
needed about +12, the learned β gave about +3), while the ranking they give is still informative.

A `smooth` ("the edge is ragged, clean it up") has no amount: the thin band around the edge is re-decided from the same
sum of evidence at its own threshold, both ways (`eval-smooth`: organ Dice +5.6 on ct_to_mr's MR cases against +0.8
from the decoder's logits alone, as `smooth` worked before).

A `remove_region` aimed at the organ's separate pieces ("that blob at the front is not liver, delete it") deletes
them whole on the study's own grid, with no evidence weighed (piece_removal.py); only without such a piece is it
ranked as above."""

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from causal_sam_llm.datasets.label_maps import LabelSet
from causal_sam_llm.segmentation.box_evidence import BOX_WEIGHT, organ_box_logits
from causal_sam_llm.segmentation.correction_grid import change_on_source, pooled, pooled_letterbox, pooling_factor
from causal_sam_llm.segmentation.correction_window import CorrectionWindow, correction_window
from causal_sam_llm.segmentation.decoded_volume import DecodedVolume, organ_logits
from causal_sam_llm.segmentation.inference import masks_from_probabilities
from causal_sam_llm.segmentation.intensity_evidence import INTENSITY_WEIGHT, intensity_log_ratio
from causal_sam_llm.segmentation.intervention import GROWING, SHRINKING, Intervention
from causal_sam_llm.segmentation.letterbox import Letterbox
from causal_sam_llm.segmentation.piece_removal import delete_pieces, pieces_to_delete
from causal_sam_llm.segmentation.segmenter import PromptFreeSegmenter
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator, organ_film
from causal_sam_llm.segmentation.tci_amount import commanded_change
from causal_sam_llm.segmentation.tci_gate import gate_about, held_by_other_organs, moved_part
from causal_sam_llm.segmentation.tci_placement import PlacementEvidence, placed, placement_ranking
from causal_sam_llm.segmentation.tci_ranker import block_px


def touched_slices(gate: np.ndarray) -> np.ndarray:
    return np.nonzero(gate.reshape(len(gate), -1).max(axis=1) > 0.01)[0]


@dataclass(frozen=True)
class Evidence:
    """What a correction weighs besides the command: the segmenter and its FiLM generator, the label set, and the
    weights of the intensity and box evidence."""

    segmenter: PromptFreeSegmenter
    generator: InterventionFilmGenerator
    label_set: LabelSet
    intensity_weight: float = INTENSITY_WEIGHT
    box_weight: float = BOX_WEIGHT

    def ranker_block(self, letterbox: Letterbox) -> int:
        """Pixels per side of the correction's grid that the generator's learned ranker reads as one (0: none)."""
        return 0 if self.generator.ranker is None else block_px(letterbox)


def apply_learned(
    segmenter: PromptFreeSegmenter,
    generator: InterventionFilmGenerator,
    decoded: DecodedVolume,
    probabilities: np.ndarray,
    intervention: Intervention,
    label_set: LabelSet,
    spacing_mm: tuple[float, float, float],
    image: np.ndarray,
    intensity_weight: float = INTENSITY_WEIGHT,
    box_weight: float = BOX_WEIGHT,
) -> np.ndarray:
    """New (Z, C, rows, cols) probabilities; only the named organ on the gated slices changes (in nested sets, growth
    also raises the regions enclosing it; in exclusive sets, no other organ's mask changes: `keep_other_organs`).
    `image`: the (Z, rows, cols) axial image the probabilities belong to. The input array is not modified (every
    version is kept by the caller). A study finer than the decoder's grid is corrected on its pooled planes
    (correction_grid.py)."""
    evidence = Evidence(segmenter, generator, label_set, intensity_weight, box_weight)
    return correct(evidence, decoded, probabilities, intervention, spacing_mm, image).probabilities


class PooledPlanes(NamedTuple):
    """What a caller keeps pooled for a study finer than the decoder's grid (None: pooled by the correction)."""

    image: np.ndarray | None
    probabilities: np.ndarray | None


class Correction(NamedTuple):
    probabilities: np.ndarray  # the new (Z, C, rows, cols) version
    changed_within: tuple[slice, ...] | None  # no value changed outside this (slices, organs, rows, cols) box
    deleted_pieces: np.ndarray | None = None  # (Z, rows, cols): a remove_region's separate pieces deleted whole


def correct(
    evidence: Evidence,
    decoded: DecodedVolume,
    probabilities: np.ndarray,
    intervention: Intervention,
    spacing_mm: tuple[float, float, float],
    image: np.ndarray,
    pooled_image: np.ndarray | None = None,
    pooled_probabilities: np.ndarray | None = None,
) -> Correction:
    """`apply_learned`, also saying where the change lies: the tool then compares the versions only there.
    `pooled_image`, `pooled_probabilities`: `image` and `probabilities` already pooled as a study finer than the
    decoder's grid is corrected on (correction_grid.pooled: a caller correcting one study many times pools the image
    once, and each version's probabilities only where its correction changed them)."""
    if image.shape != probabilities[:, 0].shape:
        raise ValueError(f"image {image.shape} does not match the probabilities' volume {probabilities[:, 0].shape}.")
    segmenter, label_set = evidence.segmenter, evidence.label_set
    organ = segmenter.classes.index(intervention.organ)
    updated = probabilities.copy()
    factor = pooling_factor(decoded.letterbox)
    pieces = pieces_to_delete(intervention, probabilities, organ, label_set, segmenter.classes, spacing_mm)
    if pieces is not None:  # "that blob at the front is not liver, delete it": no evidence weighed (piece_removal.py)
        window = delete_pieces(updated, organ, pieces, label_set, segmenter.classes)
    elif factor == 1:
        study = StudyOnGrid(decoded, probabilities, image, spacing_mm)
        window, corrected = corrected_window(evidence, study, intervention, organ)
        window.of_channels(updated)[:, organ] = corrected
    else:
        pooled_planes = PooledPlanes(pooled_image, pooled_probabilities)
        window = _correct_on_pooled_grid(
            evidence, decoded, updated, intervention, organ, spacing_mm, image, pooled_planes
        )
    within: tuple[slice, ...] | None = (window.slices, slice(None), window.rows, window.cols)
    if label_set.kind == "exclusive":
        rose = intervention.action not in SHRINKING and factor > 1  # on the decoder's grid the gate left them out
        fell = intervention.action not in GROWING
        before, after = window.of_channels(probabilities), window.of_channels(updated)
        if not keep_other_organs(after, before, organ, rose, fell):
            within = (window.slices, slice(organ, organ + 1), window.rows, window.cols)  # one organ's values changed
    elif intervention.action in GROWING:
        _grow_enclosing_regions(updated, organ, label_set, segmenter.classes)
        within = None  # an enclosing region may be raised wherever it lay below this one
    return Correction(updated, within, pieces)


def _correct_on_pooled_grid(
    evidence: Evidence,
    decoded: DecodedVolume,
    updated: np.ndarray,
    intervention: Intervention,
    organ: int,
    spacing_mm: tuple[float, float, float],
    image: np.ndarray,
    kept: PooledPlanes,
) -> CorrectionWindow:
    """The correction computed on `updated`'s and `image`'s planes pooled (only the slices its window holds, unless
    the caller `kept` them pooled), its change added back onto `updated` in place. Returns the window on the source
    grid."""
    reach = correction_window(intervention, updated[:, organ] > 0.5, spacing_mm).slices
    depth, channels, rows, cols = updated.shape
    factor = pooling_factor(decoded.letterbox)
    coarse = pooled_letterbox(decoded.letterbox, factor)
    probabilities = kept.probabilities
    if probabilities is None:
        probabilities = np.zeros((depth, channels, coarse.rows, coarse.cols), np.float32)  # slices beyond: unread
        probabilities[reach] = pooled(updated[reach], factor)
    planes = kept.image
    if planes is None:
        planes = np.zeros((depth, coarse.rows, coarse.cols), np.float32)
        planes[reach] = pooled(image[reach], factor)
    spacing = (spacing_mm[0], spacing_mm[1] * factor, spacing_mm[2] * factor)
    on_coarse = replace(decoded, letterbox=coarse)  # the same features and kept box logits (both on the 256² grid)
    study = StudyOnGrid(on_coarse, probabilities, planes, spacing)
    window, corrected = corrected_window(evidence, study, intervention, organ)
    change = corrected - window.of_channels(probabilities)[:, organ]
    fine_rows = slice(window.rows.start * factor, min(rows, window.rows.stop * factor))
    fine_cols = slice(window.cols.start * factor, min(cols, window.cols.stop * factor))
    target = updated[window.slices, organ, fine_rows, fine_cols]  # a view
    target += change_on_source(change, factor, target.shape[1:])
    np.clip(target, 0, 1, out=target)  # only where something changed: elsewhere the values are kept to the bit
    return CorrectionWindow(window.slices, fine_rows, fine_cols, updated[:, organ].shape)


class StudyOnGrid(NamedTuple):
    """What a correction reads, on the grid it runs on (a study's own, or a 512² study's planes pooled to the
    decoder's): the decoded volume, the version's (Z, C, rows, cols) probabilities, the (Z, rows, cols) axial image
    and the voxel spacing (slice, row, col mm)."""

    decoded: DecodedVolume
    probabilities: np.ndarray
    image: np.ndarray
    spacing_mm: tuple[float, float, float]


def corrected_window(
    evidence: Evidence, study: StudyOnGrid, intervention: Intervention, organ: int
) -> tuple[CorrectionWindow, np.ndarray]:
    """The correction on the grid `study` is on: its window and the organ's new (z, r, c) probabilities there (no
    other channel changes)."""
    window, terms = placement_evidence(evidence, study, intervention, organ)
    before = window.of_channels(study.probabilities)[:, organ]
    if terms is None:
        return window, before.copy()
    summed = terms.combined(evidence.intensity_weight, evidence.box_weight)
    block = evidence.ranker_block(study.decoded.letterbox)
    ranking = placement_ranking(terms, summed, evidence.generator.ranker, intervention, study.spacing_mm, block)
    return window, placed(intervention.action, terms, ranking, before)


def placement_evidence(
    evidence: Evidence, study: StudyOnGrid, intervention: Intervention, organ: int
) -> tuple[CorrectionWindow, PlacementEvidence | None]:
    """The correction's window and what it weighs there (None when its gate touches no slice). Every voxel the
    correction may change, and every voxel its gate, amount and evidence depend on, lies inside the window."""
    segmenter, label_set = evidence.segmenter, evidence.label_set
    decoded, probabilities, image, spacing_mm = study
    block = evidence.ranker_block(decoded.letterbox)
    window = correction_window(intervention, probabilities[:, organ] > 0.5, spacing_mm, block)
    before = window.of_channels(probabilities)  # all that follows happens inside the window, on its slice numbers
    command = window.local(intervention)
    masks = masks_from_probabilities(before, label_set, segmenter.classes)
    moved = moved_part(command, masks[:, organ])  # computed once: the gate and the amount both need it
    gate = gate_about(command, moved, spacing_mm)
    slices = touched_slices(gate)
    if slices.size == 0:
        return window, None
    on_grid = decoded.letterbox.on_mask_grid()  # the gate modulates the decoder's upscaled features
    gate_input = np.stack([on_grid.image_to_input(window.whole_slice(gate[z]))[0, 0].numpy() for z in slices])
    film = organ_film(evidence.generator, intervention, organ, gate_input)
    in_volume = slices + window.first_slice
    in_plane = (window.rows, window.cols)
    logits = organ_logits(segmenter, decoded, [organ], in_volume, {organ: film}, in_plane)[:, 0]
    weight = gate[slices]
    if label_set.kind == "exclusive" and intervention.action not in SHRINKING:
        weight = weight * ~held_by_other_organs(masks[slices], organ)  # adding to one organ must not eat its neighbours
    old = before[slices, organ]
    if not masks[:, organ].any():  # an absent organ has no surface to move
        return window, PlacementEvidence(slices, logits, None, None, weight, old, None)
    member = old > 0.5
    around = intensity_surroundings(command, masks[:, organ], spacing_mm, slices, weight, member)
    intensity = intensity_log_ratio(window.of_stack(image)[slices], member, around)
    boxed = None
    if evidence.box_weight:
        organ_mask = window.whole_stack(masks[:, organ])  # its boxes are cached per slice of the volume
        boxed = window.in_plane(organ_box_logits(segmenter.backbone, decoded, organ_mask, organ, in_volume, spacing_mm))
    amount = None
    if intervention.action != "smooth":
        amount = commanded_change(masks[:, organ], command, spacing_mm, gate, moved)
    return window, PlacementEvidence(slices, logits, intensity, boxed, weight, old, amount)


def intensity_surroundings(
    intervention: Intervention,
    mask: np.ndarray,
    spacing_mm: tuple[float, float, float],
    slices: np.ndarray,
    weight: np.ndarray,
    member: np.ndarray,
) -> np.ndarray:
    """(len(slices), rows, cols): what the organ's intensities (`member`, on `slices`) are weighed against. A grow:
    the gated voxels it may take; a smooth: its band's outer half. A shrink: the band just outside the organ that the
    same command would grow into — its own gate lies inside the organ, so weighing against that would leave no
    surroundings and no evidence. (Around every piece the shrink may take from, specks included.)"""
    if intervention.action not in SHRINKING:
        return (weight > 0.5) & ~member
    outward = intervention.model_copy(update={"action": "expand"})
    return (gate_about(outward, mask, spacing_mm, reach_cut_sections=False)[slices] > 0.5) & ~member


def keep_other_organs(after: np.ndarray, before: np.ndarray, organ: int, rose: bool = True, fell: bool = True) -> bool:
    """Exclusive sets, (z, C, rows, cols) parts of a version `before` and `after` a correction of `organ`, in place:
    no other organ's mask changes — the clinician named one organ. A voxel another organ held stays theirs (the
    organ's probability there is put back: on the decoder's grid the gate already leaves such voxels out, but a
    change carried back to a finer source grid, correction_grid.py, can reach their edge pixels), and a voxel the
    organ's mask loses becomes background, not a neighbour's that was also above 0.5 there: every channel still above
    0.5 is held at 0.5 (the blind edit does the same to its masks). The organ loses the same voxels as without this.
    `rose`, `fell`: whether to look where the organ's probability rose, fell (each a pass over the window: on a 512²
    study about 0.04 s per channel read). Returns whether another organ's values were changed (held at 0.5)."""
    moved = _where_voxels_may_change_hands(after, before, organ, rose, fell)
    if not moved.any():
        return False
    was, now = _owner(before, moved), _owner(after, moved)
    taken = (was != organ) & (was >= 0) & (now != was)
    given_up = (was == organ) & (now != organ)
    organ_values = after[:, organ]  # a view
    values = organ_values[moved]
    values[taken] = before[:, organ][moved][taken]
    organ_values[moved] = values
    held_others = False
    for channel in range(after.shape[1]):
        channel_values = after[:, channel]  # a view
        values = channel_values[moved]
        held = given_up & (values > 0.5)
        values[held] = 0.5
        channel_values[moved] = values
        held_others |= channel != organ and bool(held.any())
    return held_others


def _where_voxels_may_change_hands(
    after: np.ndarray, before: np.ndarray, organ: int, rose: bool, fell: bool
) -> np.ndarray:
    """(z, rows, cols): where the organ rose above 0.5 or fell from above it, and another organ is above 0.5."""
    own_before, own_after = before[:, organ], after[:, organ]
    moved = np.zeros(own_before.shape, bool)
    if rose:
        moved |= (own_after > 0.5) & (own_after > own_before)
    if fell:
        moved |= (own_before > 0.5) & (own_after < own_before)
    if moved.any():
        others_above = np.zeros(moved.shape, bool)
        for channel in range(before.shape[1]):
            if channel != organ:
                others_above |= before[:, channel] > 0.5
        moved &= others_above
    return moved


def _owner(probabilities: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The organ whose mask holds each voxel `where` selects, −1 for background: the most likely above 0.5, by
    argmax's rule (the first wins a tie), as masks_from_probabilities decides — on the values rounded to float16, as
    a kept version holds them (tools/mask_history.py). Decided in float32, a grown liver just below a right kidney
    was left there, but both round to 0.5264, a tie the liver (the first) wins: the kept version took the voxel from
    the kidney (tests/test_provenance.py's grow of the real CT slice, on one machine's arithmetic)."""
    at = np.stack([probabilities[:, channel][where] for channel in range(probabilities.shape[1])], axis=1)
    at = at.astype(np.float16)
    most = np.argmax(at, axis=1)
    return np.where(at[np.arange(len(at)), most] > 0.5, most, -1)


def _grow_enclosing_regions(probabilities: np.ndarray, organ: int, label_set: LabelSet, classes: list[str]) -> None:
    """Nested regions (BraTS): the enhancing tumour is part of the core and the core part of the whole tumour, so a
    region grown past its enclosing regions grows them too; otherwise nesting would clip the growth away."""
    value = label_set.classes[classes[organ]]
    for index, name in enumerate(classes):
        if label_set.classes[name] < value:
            np.maximum(probabilities[:, index], probabilities[:, organ], out=probabilities[:, index])
