"""What a `remove_region` deletes whole, with no evidence weighed, since the clinician has said it is not the organ:

- "that blob at the front is not liver, delete it". A segmenter in an unseen domain scatters pieces of an organ away
  from its body (on MR a predicted liver had up to 48 pieces), and a clinician deletes one by saying where it lies.
  The organ's separate 3-D pieces (apart from its largest) whose centre lies toward the named region — by the rule
  the simulated clinician names directions with, `tci_gate.direction_of` — or, for `whole`, all of them, are deleted
  whole on the study's own grid. With named slices, each such piece touching them is deleted whole.
- "delete the liver on slices 22 to 23" (`whole` with named slices): the organ is not there at all, so all of it on
  those slices goes. On MR the segmenter painted liver on up to three slices above the dome (up to 5 054 voxels a
  case); before, this command cut the organ back there by the default amount and left its core.

Where no such piece lies toward the region, `remove_region` keeps its last meaning: the organ is cut back there
(tci_apply.py, as a shrink whose gate reaches through the whole organ)."""

import numpy as np
from scipy.ndimage import center_of_mass, find_objects
from scipy.ndimage import label as connected_components

from causal_sam_llm.datasets.label_maps import LabelSet
from causal_sam_llm.segmentation.correction_window import CorrectionWindow
from causal_sam_llm.segmentation.inference import masks_from_probabilities
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.tci_gate import direction_of, extent_mm


def deletes_named_slices(intervention: Intervention) -> bool:
    """Whether the command is "delete the liver on slices 22 to 23": a `remove_region` of the `whole` organ on named
    slices (the organ is not there at all)."""
    return intervention.action == "remove_region" and intervention.region == "whole" and intervention.slices is not None


def deleted_whole(intervention: Intervention, mask: np.ndarray, spacing_mm: tuple[float, float, float]) -> np.ndarray:
    """(Z, rows, cols) bool: what a `remove_region` deletes whole from the organ's `mask` (above): all of it on the
    named slices for `whole` with slices, else its `detached_pieces`; empty for any other command."""
    if deletes_named_slices(intervention):
        first, last = intervention.slices
        found = np.zeros(mask.shape, bool)
        found[first : last + 1] = mask[first : last + 1]
        return found
    return detached_pieces(intervention, mask, spacing_mm)


def detached_pieces(intervention: Intervention, mask: np.ndarray, spacing_mm: tuple[float, float, float]) -> np.ndarray:
    """(Z, rows, cols) bool: what a `remove_region` deletes from the organ's `mask` (its first meaning, above); empty
    for any other command, or when no piece qualifies."""
    found = np.zeros(mask.shape, bool)
    if intervention.action != "remove_region" or deletes_named_slices(intervention):
        return found
    organ_box = find_objects(mask.astype(np.uint8))  # labelling the organ's bounding box alone is several times faster
    if not organ_box:
        return found
    pieces, count = connected_components(mask[organ_box[0]])
    if count <= 1:
        return found
    labels = np.arange(1, count + 1)
    centres = np.asarray(center_of_mass(pieces > 0, pieces, labels)) * np.asarray(spacing_mm)  # one pass, all pieces
    largest = int(np.argmax(np.bincount(pieces.ravel())[1:]))
    extent = extent_mm(pieces == largest + 1, spacing_mm)
    chosen = [
        labels[piece]
        for piece in range(count)
        if piece != largest
        and intervention.region in ("whole", direction_of(centres[piece] - centres[largest], extent))
    ]
    if intervention.slices is not None:  # a piece touching the named slices goes whole
        first, last = np.asarray(intervention.slices) - organ_box[0][0].start
        touching = set(np.unique(pieces[max(first, 0) : max(last + 1, 0)]).tolist())
        chosen = [label for label in chosen if label in touching]
    found[organ_box[0]] = np.isin(pieces, chosen)
    return found


def pieces_to_delete(
    intervention: Intervention,
    probabilities: np.ndarray,
    organ: int,
    label_set: LabelSet,
    classes: list[str],
    spacing_mm: tuple[float, float, float],
) -> np.ndarray | None:
    """(Z, rows, cols) what a `remove_region` deletes, decided on the organ's mask as shown (each voxel to the organ
    that wins it, nested regions inside their enclosing ones: `masks_from_probabilities`, read only over the box where
    the organ's probability passes 0.5); None for any other command, or with no such piece."""
    if intervention.action != "remove_region":
        return None
    candidates = find_objects((probabilities[:, organ] > 0.5).astype(np.uint8))
    if not candidates:
        return None
    box = (candidates[0][0], slice(None), *candidates[0][1:])
    shown = np.zeros(probabilities[:, organ].shape, bool)
    shown[candidates[0]] = masks_from_probabilities(probabilities[box], label_set, classes)[:, organ]
    pieces = deleted_whole(intervention, shown, spacing_mm)
    return pieces if pieces.any() else None


def delete_pieces(
    updated: np.ndarray, organ: int, pieces: np.ndarray, label_set: LabelSet, classes: list[str]
) -> CorrectionWindow:
    """Sets the organ's probability to 0 on `pieces` (and, in nested sets, that of every region it encloses, which
    would otherwise stay above 0.5 there unseen), in place; returns the window the pieces lie in."""
    value = label_set.classes[classes[organ]]
    enclosed = [i for i, name in enumerate(classes) if label_set.kind == "nested" and label_set.classes[name] > value]
    for channel in [organ, *enclosed]:
        values = updated[:, channel]  # a view
        values[pieces] = 0.0
    return CorrectionWindow(*find_objects(pieces.astype(np.uint8))[0], pieces.shape)
