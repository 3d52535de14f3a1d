"""The tools on a real workbench (shipped LAD checkpoint, LiteMedSAM, a tiny benchmark MR case): every mask version
kept, undo/redo exact, corrections from cached features only, bad calls rejected before any state changes, exports
only inside the session folder, and a resumed workbench where it was."""

import hashlib
import json
import re
import shutil
import subprocess
import sys

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
import pytest
import torch
from layouts import write_dicom_slice
from monai.metrics import compute_hausdorff_distance
from pydantic import ValidationError
from pydicom.uid import generate_uid

from causal_sam_llm.datasets.orientation import axial_stack_to_ras
from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.datasets.sample_images import sample_path
from causal_sam_llm.datasets.study import open_study
from causal_sam_llm.errors import CheckpointError, validation_problems
from causal_sam_llm.segmentation.checkpoint_io import checkpoint_path
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.piece_removal import deleted_whole
from causal_sam_llm.segmentation.tci_amount import unsaid_strength
from causal_sam_llm.segmentation.training_set import class_masks
from causal_sam_llm.tools.export import SEGMENT_CODES, write_dicom_seg
from causal_sam_llm.tools.intervene_decoder import (
    large_change_note,
    no_change_reason,
    removal_note,
    span_change_note,
)
from causal_sam_llm.tools.mask_history import PATCH_CHAIN, MaskHistory
from causal_sam_llm.tools.mask_patch import patch_box
from causal_sam_llm.tools.organ_extent import holds_none_of, occupied_slices, slices_said, span_text
from causal_sam_llm.tools.registry import langchain_tools, run_tool
from causal_sam_llm.tools.session_lock import SessionInUseError
from causal_sam_llm.tools.workbench import NoStudyError, Workbench

AXIAL = (1, 0, 0, 0, 1, 0)  # DICOM ImageOrientationPatient of an axial slice
CASE = "benchmark:mr_t2-0001"


@pytest.fixture(scope="module")
def bench(home_benchmark, tmp_path_factory) -> Workbench:
    workbench = Workbench.create(tmp_path_factory.mktemp("session"))
    run_tool(workbench, "load_study", {"study": CASE})
    run_tool(workbench, "segment", {"organ": "all"})
    return workbench


def test_the_axial_image_is_reoriented_once_per_study_and_read_only(home_benchmark, tmp_path):
    workbench = Workbench.create(tmp_path / "session")
    run_tool(workbench, "load_study", {"study": CASE})
    image = workbench.axial_image()
    assert workbench.axial_image() is image and not image.flags.writeable
    np.testing.assert_array_equal(image, workbench.require_case().axial_image())
    run_tool(workbench, "load_study", {"study": CASE})  # a study loaded again is its own
    assert workbench.axial_image() is not image


def test_a_tool_needs_a_study_first(tmp_path, home_benchmark):
    empty = Workbench.create(tmp_path / "empty")
    with pytest.raises(NoStudyError, match="load one first"):
        run_tool(empty, "segment", {"organ": "all"})


def test_segment_gives_every_organ_a_volume(bench):
    volumes = bench.organ_volumes_ml()
    assert set(volumes) == {"liver", "spleen", "right_kidney", "left_kidney"}
    assert volumes["liver"] > volumes["right_kidney"] > 0


def test_expand_grows_only_the_named_organ_from_cached_features(bench):
    before_masks, before_volumes = bench.masks(), bench.organ_volumes_ml()
    calls = bench.embedder.encoder_calls
    result = run_tool(
        bench, "intervene_decoder", {"organ": "liver", "action": "expand", "region": "whole", "strength": 0.8}
    )
    after_masks, after_volumes = bench.masks(), bench.organ_volumes_ml()
    assert bench.embedder.encoder_calls == calls
    assert after_volumes["liver"] > before_volumes["liver"]
    for organ in ("spleen", "right_kidney", "left_kidney"):
        index = bench.classes.index(organ)
        # the named organ only: a neighbour neither grows nor loses voxels to the grown liver
        np.testing.assert_array_equal(after_masks[:, index], before_masks[:, index], err_msg=organ)
    assert result.version == bench.history.current
    others = [o for o in bench.classes if o != "liver" and abs(after_volumes[o] - before_volumes[o]) >= 0.05]
    assert not others and "Also changed" not in result.message
    run_tool(bench, "undo", {})


def test_a_smooth_redraws_the_named_organs_edge_and_leaves_its_neighbours(bench):
    before = bench.masks()
    run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "smooth"})
    after = bench.masks()
    liver = bench.classes.index("liver")
    assert (after[:, liver] != before[:, liver]).any()
    for organ in ("spleen", "right_kidney", "left_kidney"):
        index = bench.classes.index(organ)
        np.testing.assert_array_equal(after[:, index], before[:, index], err_msg=organ)
    run_tool(bench, "undo", {})


def test_a_correction_finds_its_box_evidence_decoded_at_segmentation(bench, monkeypatch):
    """`segment` decodes the box evidence each organ's corrections weigh (in the background), so a correction
    decodes none of it."""
    from causal_sam_llm.segmentation import box_evidence

    bench.wait_for_box_evidence()
    assert set(bench.decoded.box_logits) == set(range(len(bench.classes))) and "box evidence" in bench.timings_ms
    decoded = []
    monkeypatch.setattr(box_evidence, "decode_boxes", lambda *args: decoded.append(args) or pytest.fail("decoded"))
    for organ in bench.classes:
        run_tool(bench, "intervene_decoder", {"organ": organ, "action": "expand", "region": "superior"})
        run_tool(bench, "undo", {})
    assert not decoded


def test_a_correction_asked_during_the_background_pass_gets_what_eval_tci_measures(home_benchmark, tmp_path):
    """The first correction, asked right after `segment`, waits for its organ's box evidence from the background pass
    and equals the same correction on box evidence decoded in the foreground from the segmented masks (as eval-tci
    decodes it)."""
    from causal_sam_llm.segmentation.box_evidence import keep_for_corrections
    from causal_sam_llm.segmentation.inference import masks_from_probabilities
    from causal_sam_llm.segmentation.tci_apply import apply_learned

    session = Workbench.create(tmp_path / "quick")
    run_tool(session, "load_study", {"study": CASE})
    run_tool(session, "segment", {"organ": "all"})
    segmented, masks = session.probabilities().copy(), session.masks()
    command = {"organ": "left_kidney", "action": "expand", "region": "superior", "strength": 0.6}
    result = run_tool(session, "intervene_decoder", command)
    assert result.data["waited_ms"] > 0 and session.history.current == 1
    session.wait_for_box_evidence()  # the other organs' evidence, decoded after the correction
    session.decoded.box_logits.clear()
    organs = list(range(len(session.classes)))
    keep_for_corrections(session.segmenter.backbone, session.decoded, masks, organs, session.case.axial_spacing_mm())
    case = session.case
    foreground = apply_learned(
        session.segmenter,
        session.generator,
        session.decoded,
        segmented,
        Intervention(**command),
        case.label_set,
        case.axial_spacing_mm(),
        case.axial_image(),
    )
    np.testing.assert_allclose(session.probabilities(), foreground, atol=1e-3)  # versions are kept in float16
    assert (session.masks() != masks_from_probabilities(foreground, case.label_set, session.classes)).sum() == 0


@pytest.mark.parametrize(
    ("action", "region", "slices"),
    [
        ("expand", "superior", None),
        ("shrink", "left", None),
        ("remove_region", "posterior", None),
        ("add_region", "inferior", None),
        ("smooth", "whole", None),
        ("expand", "anterior", (2, 9)),  # a named slice range, counted in the volume
    ],
)
def test_a_correction_inside_its_window_equals_one_over_the_whole_volume(bench, monkeypatch, action, region, slices):
    """The learned response is computed in the organ's window (correction_window.py) for speed on 512² studies; it
    must not differ by a single value from the same response computed over the whole volume."""
    from causal_sam_llm.segmentation import tci_apply
    from causal_sam_llm.segmentation.correction_window import correction_window, whole_volume

    bench.wait_for_box_evidence()
    case, probabilities = bench.require_case(), bench.probabilities()
    command = Intervention(organ="spleen", action=action, region=region, strength=0.25, slices=slices)
    inputs = (bench.decoded, probabilities, command, case.label_set, case.axial_spacing_mm(), case.axial_image())
    windowed = tci_apply.apply_learned(bench.segmenter, bench.generator, *inputs)
    window = correction_window(command, probabilities[:, 1] > 0.5, case.axial_spacing_mm())
    assert window.of_stack(case.axial_image()).size < 0.8 * case.axial_image().size  # it does leave some out

    monkeypatch.setattr(
        tci_apply, "correction_window", lambda _command, candidates, _spacing, _block: whole_volume(candidates.shape)
    )
    whole = tci_apply.apply_learned(bench.segmenter, bench.generator, *inputs)
    assert (whole != probabilities).any()
    np.testing.assert_array_equal(windowed, whole)


def test_a_correction_waits_only_for_its_own_organs_box_evidence(home_benchmark, tmp_path, monkeypatch):
    """Asked right after `segment`, a correction of the left kidney has that organ's box evidence decoded next (the
    liver, under way, stops after its first 8 slices) and runs as soon as it is kept; the pass decodes the rest after
    it (paused while the correction runs)."""
    from causal_sam_llm.segmentation import box_evidence
    from causal_sam_llm.tools import intervene_decoder

    batches: list[int] = []
    real_decode, real_correct = box_evidence.decode_boxes, intervene_decoder.correct
    monkeypatch.setattr(box_evidence, "decode_boxes", lambda b, e, p: batches.append(len(e)) or real_decode(b, e, p))
    at_correction: list[tuple[int, dict[int, int]]] = []

    def watched(*args, **kwargs):
        kept = {organ: len(planes) for organ, planes in session.decoded.box_logits.items()}
        at_correction.append((len(batches), kept))
        return real_correct(*args, **kwargs)

    monkeypatch.setattr(intervene_decoder, "correct", watched)
    session = Workbench.create(tmp_path / "own")
    run_tool(session, "load_study", {"study": CASE})
    run_tool(session, "segment", {"organ": "all"})
    run_tool(session, "intervene_decoder", {"organ": "left_kidney", "action": "expand", "strength": 0.4})
    session.wait_for_box_evidence()
    (decoded_before, kept), left_kidney = at_correction[0], session.classes.index("left_kidney")
    assert left_kidney in kept and len(kept) < len(session.classes)
    assert kept.get(0, 0) < len(session.decoded.box_logits[0])  # the liver was finished afterwards
    assert len(batches) > decoded_before  # the rest came after the correction
    assert set(session.decoded.box_logits) == set(range(len(session.classes)))


def test_a_failed_background_pass_costs_no_correction(home_benchmark, tmp_path, monkeypatch):
    """If the box evidence pass after segmentation fails, the next correction still runs (decoding the box evidence
    it needs itself) and says what failed, once."""
    from causal_sam_llm.segmentation import box_prefetch

    def fail(*_args):
        raise MemoryError("no room for the box pass")

    monkeypatch.setattr(box_prefetch, "keep_boxed", fail)
    session = Workbench.create(tmp_path / "failing")
    run_tool(session, "load_study", {"study": CASE})
    run_tool(session, "segment", {"organ": "all"})
    spleen = session.classes.index("spleen")
    empty = next(z for z in range(session.depth) if not session.masks()[z, spleen].any())
    with pytest.raises(ValueError, match="nothing changed"):  # a refused correction does not use up the note
        run_tool(session, "intervene_decoder", {"organ": "spleen", "action": "shrink", "slices": [empty, empty]})
    command = {"organ": "spleen", "action": "expand", "region": "whole", "strength": 0.4}
    first = run_tool(session, "intervene_decoder", command)
    assert "failed (MemoryError: no room for the box pass)" in first.message
    assert session.history.current == 1 and set(session.decoded.box_logits) == {session.classes.index("spleen")}
    second = run_tool(session, "intervene_decoder", command)
    assert "failed" not in second.message and session.history.current == 2


def test_a_correction_reports_every_other_region_it_changed():
    from causal_sam_llm.tools.intervene_decoder import also_changed

    before = {"whole_tumour": 10.0, "tumour_core": 4.0, "enhancing_tumour": 1.0}
    after = {"whole_tumour": 10.6, "tumour_core": 4.6, "enhancing_tumour": 1.6}
    assert also_changed(before, after, "enhancing_tumour") == (
        " Also changed: whole tumour 10.0 → 10.6 ml, tumour core 4.0 → 4.6 ml."
    )
    assert also_changed(before, before, "enhancing_tumour") == ""


def test_undo_restores_the_previous_version_exactly_and_redo_returns(bench):
    original = bench.probabilities()
    run_tool(bench, "intervene_decoder", {"organ": "spleen", "action": "shrink", "strength": 0.6})
    changed = bench.probabilities()
    assert not np.array_equal(original, changed)
    run_tool(bench, "undo", {})
    np.testing.assert_array_equal(bench.probabilities(), original)
    run_tool(bench, "redo", {})
    np.testing.assert_array_equal(bench.probabilities(), changed)
    run_tool(bench, "undo", {})


def test_undo_and_redo_take_several_steps_all_or_nothing_and_any_version_can_be_gone_to(bench):
    start = bench.history.current
    original = bench.probabilities()
    first = run_tool(bench, "intervene_decoder", {"organ": "spleen", "action": "shrink", "strength": 0.3}).version
    once = bench.probabilities()
    run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "shrink", "strength": 0.3})
    twice = bench.probabilities()
    assert run_tool(bench, "undo", {"steps": 2}).version == start
    np.testing.assert_array_equal(bench.probabilities(), original)
    with pytest.raises(LookupError, match="only 2 undone version"):
        run_tool(bench, "redo", {"steps": 3})
    assert bench.history.current == start  # a request beyond the history changed nothing
    run_tool(bench, "redo", {"steps": 2})
    np.testing.assert_array_equal(bench.probabilities(), twice)
    depth = _branch_length(bench.history)
    with pytest.raises(LookupError, match=f"only {depth} change"):
        run_tool(bench, "undo", {"steps": depth + 1})
    np.testing.assert_array_equal(bench.probabilities(), twice)
    result = run_tool(bench, "go_to_version", {"version": first})
    assert result.version == first and f"version {first}" in result.message
    np.testing.assert_array_equal(bench.probabilities(), once)
    for bad in ({"steps": 0}, {"steps": True}, {"steps": "2"}):
        with pytest.raises(ValidationError):
            run_tool(bench, "undo", bad)
    with pytest.raises(ValidationError):
        run_tool(bench, "go_to_version", {"version": -1})
    run_tool(bench, "go_to_version", {"version": start})


def test_versions_kept_as_patches_read_back_exactly_after_a_restart(tmp_path):
    """A version after the first is stored as what changed from its parent, or, once its parent's chain is PATCH_CHAIN
    long, from the full version the chain starts from (never in full again); reopened with nothing in memory, every
    version on every branch reads back as it was added (float16), and chains stay at most PATCH_CHAIN long. A session
    from before patch boxes were recorded carries on the same way."""
    rng = np.random.default_rng(0)
    history, added = MaskHistory(tmp_path), {}
    current = rng.random((6, 3, 20, 20), dtype=np.float32)
    for step in range(3 * PATCH_CHAIN + 3):
        if step == 5:
            history.undo(2)  # a branch: the next edit's parent is version 2
        if step == 2 * PATCH_CHAIN:  # as a session from before: no box recorded, read from the patch files
            index = json.loads((tmp_path / "history.json").read_text())
            for saved in index["versions"]:
                saved.pop("box")
            (tmp_path / "history.json").write_text(json.dumps(index))
            history = MaskHistory(tmp_path)
        if step > 0:  # each edit starts from the current version, as the tools' do
            current = history.probabilities().copy()
        if step > 0 and step != 7:  # step 7 changes nothing: an empty patch
            row, col = 2 * (step % 6), 3 * (step % 4)  # boxes in different places, so that their union matters
            current[step % 6, step % 3, row : row + 6, col : col + 7] = rng.random((6, 7))
        added[history.add(current, f"step {step}").number] = current.astype(np.float16)
    last = history.current  # in memory since it was added, not read back
    np.testing.assert_array_equal(history.probabilities(last), added[last].astype(np.float32))
    reopened = MaskHistory(tmp_path)
    for number, expected in added.items():
        np.testing.assert_array_equal(reopened.probabilities(number), expected.astype(np.float32))
    assert all(v.file.endswith(".patch.npz") for v in history.versions[1:])  # only the first in full
    assert max(history._chain_length(v.number) for v in history.versions) == PATCH_CHAIN
    rebased = [v for v in history.versions if v.base is not None]
    assert len(rebased) >= 2 and all(history._chain_length(v.number) == 1 for v in rebased)
    full_size = (tmp_path / history.versions[0].file).stat().st_size
    recorded = [v for v in history.versions[1:] if v.box is not None]
    assert len(recorded) > PATCH_CHAIN  # since the session's restart; before it, each box is read from its file:
    assert all(patch_box(tmp_path / v.file) == tuple(slice(*span) for span in v.box) for v in recorded)
    for version in history.versions[1:]:  # a patch on its parent holds only the values that changed
        with np.load(tmp_path / version.file) as patch:
            assert ("changed" in patch) == (version.base is None and patch["start"].size > 0)
    size = {v.number: (tmp_path / v.file).stat().st_size for v in history.versions[1:]}
    assert all(size[v.number] < (full_size if v.base is not None else full_size / 10) for v in history.versions[1:])
    with pytest.raises(ValueError, match="read-only"):
        reopened.probabilities(3)[0, 0, 0, 0] = 1.0  # shared, never copied: a version cannot be changed by accident


def _branch_length(history: MaskHistory) -> int:
    """Versions with a parent along the current branch: how far undo can walk."""
    count, number = 0, history.current
    while history.versions[number].parent is not None:
        count, number = count + 1, history.versions[number].parent
    return count


def test_every_version_stays_on_disk_and_can_be_made_current_again(bench):
    count = len(bench.history.versions)
    run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "smooth"})
    smoothed = bench.probabilities()
    run_tool(bench, "undo", {})
    run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "shrink", "strength": 0.3})
    assert len(bench.history.versions) == count + 2
    assert all((bench.history.folder / v.file).is_file() for v in bench.history.versions)
    # the smoothed version sits on a branch the shrink left; the Python API returns to it
    bench.history.go_to(count)
    np.testing.assert_array_equal(bench.probabilities(), smoothed)
    assert MaskHistory(bench.history.folder).current == count  # and a resumed session finds it there
    with pytest.raises(LookupError, match="versions are 0 to"):
        bench.history.go_to(count + 2)
    run_tool(bench, "undo", {})


@pytest.mark.parametrize(
    "args",
    [
        {"organ": "pancreas", "action": "expand"},
        {"organ": "liver", "action": "expand", "strength": 1.5},
        {"organ": "liver", "action": "inflate"},
        {"organ": "liver", "action": "expand", "region": "sideways"},
        {"organ": "liver", "action": "expand", "slices": [9, 2]},
        {"organ": "liver", "action": "expand", "slices": [0, 500]},
        {"organ": "liver", "action": "expand", "strength": True},  # not the full 30 mm move
        {"organ": "liver", "action": "expand", "strength": "0.5"},
        {"organ": "liver", "action": "expand", "slices": [True, 3]},
    ],
)
def test_a_malformed_correction_is_rejected_before_touching_state(bench, args):
    current, versions = bench.history.current, len(bench.history.versions)
    with pytest.raises((ValidationError, ValueError)):
        run_tool(bench, "intervene_decoder", args)
    assert (bench.history.current, len(bench.history.versions)) == (current, versions)


def test_a_malformed_call_says_what_the_loaded_model_and_study_allow(bench):
    """The schema's organ list is every shipped model's (the LLM's closed choice); the refusal names the loaded
    model's own organs and the loaded volume's slice numbers, and every problem at once, in plain field names."""
    organs = "organ: this model segments liver, spleen, right_kidney, left_kidney"
    for tool, args in [
        ("measure", {"organ": "enhancing_tumour", "metric": "volume"}),
        ("segment", {"organ": "heart"}),
        ("intervene_decoder", {"organ": "whole_tumour", "action": "expand", "strength": 2}),
    ]:
        with pytest.raises(ValidationError) as refused:
            run_tool(bench, tool, args)
        problems = validation_problems(refused.value)
        assert organs in problems and "literal[" not in problems, problems
    with pytest.raises(ValidationError) as refused:
        run_tool(bench, "measure", {"organ": "enhancing_tumour", "metric": "volume"})
    assert "metric: Input should be 'volume_ml', 'extent', 'dice' or 'hd95'" in validation_problems(refused.value)
    with pytest.raises(ValidationError) as refused:
        run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "expand", "slices": [-3, 5]})
    assert f"allowed indices: 0..{bench.depth - 1}" in validation_problems(refused.value)


def test_measure_reports_dice_hd95_and_volumes_against_the_reference(bench):
    """Checked against values computed here from the masks: voxel counts, the Dice formula, MONAI's HD95 called
    directly with the study's spacing (rows, cols, slices in the order the masks are stored)."""
    masks, reference, spacing = bench.masks(), bench.reference(), bench.require_case().axial_spacing_mm()
    spleen = bench.classes.index("spleen")
    predicted, wanted = masks[:, spleen], reference[:, spleen]
    dice = run_tool(bench, "measure", {"metric": "dice", "organ": "all"})
    expected_dice = 200 * (predicted & wanted).sum() / (predicted.sum() + wanted.sum())
    assert dice.data["spleen"]["dice"] == pytest.approx(expected_dice, abs=0.05)
    hd95 = run_tool(bench, "measure", {"metric": "hd95", "organ": "spleen"})
    as_tensor = [torch.from_numpy(m.astype(np.float32))[None, None] for m in (predicted, wanted)]
    expected_hd95 = compute_hausdorff_distance(*as_tensor, percentile=95, spacing=list(spacing)).item()
    assert hd95.data["spleen"]["hd95_mm"] == pytest.approx(expected_hd95, abs=0.05) and " mm" in hd95.message
    volume = run_tool(bench, "measure", {"metric": "volume_ml", "organ": "spleen"})
    assert volume.data["volume_ml"]["spleen"] == pytest.approx(predicted.sum() * np.prod(spacing) / 1000, abs=0.05)


def test_measure_on_named_slices_counts_only_those_slices(bench):
    """ "The liver's volume on slices a to b" is the volume there, not the whole organ's; Dice, HD95 and the extent
    likewise; a range outside the volume is refused saying what is allowed."""
    masks, reference, spacing = bench.masks(), bench.reference(), bench.require_case().axial_spacing_mm()
    liver = bench.classes.index("liver")
    held = np.nonzero(masks[:, liver].any(axis=(1, 2)))[0]
    first, last = int(held[0]), int(held[0] + len(held) // 2)  # the upper half of the liver: a part, not all of it
    slab = slice(first, last + 1)
    on = {"organ": "liver", "slices": [first, last]}
    volume = run_tool(bench, "measure", {"metric": "volume_ml", **on})
    expected = masks[slab, liver].sum() * np.prod(spacing) / 1000
    whole = run_tool(bench, "measure", {"metric": "volume_ml", "organ": "liver"}).data["volume_ml"]["liver"]
    assert volume.data["volume_ml"]["liver"] == pytest.approx(expected, abs=0.05) and expected < whole - 1
    assert volume.message.startswith(f"Volumes on slices {first}–{last}: liver ")
    dice = run_tool(bench, "measure", {"metric": "dice", **on})
    predicted, wanted = masks[slab, liver], reference[slab, liver]
    expected_dice = 200 * (predicted & wanted).sum() / (predicted.sum() + wanted.sum())
    assert dice.data["liver"]["dice"] == pytest.approx(expected_dice, abs=0.05)
    extent = run_tool(bench, "measure", {"metric": "extent", "organ": "liver", "slices": [first + 1, bench.depth - 1]})
    assert extent.data["slices"]["liver"][0] == held[held > first][0]  # numbered as the volume's slices
    assert extent.message.startswith(f"Of slices {first + 1}–{bench.depth - 1}: liver on ")
    with pytest.raises(ValueError, match=f"allowed 0..{bench.depth - 1}"):
        run_tool(bench, "measure", {"metric": "volume_ml", "organ": "liver", "slices": [3, bench.depth]})


def test_describe_style_names_the_modality(bench):
    result = run_tool(bench, "describe_style", {})
    assert result.data["modality"] == "MR" and "MR" in result.message
    assert result.message.endswith(" a.u.") and not result.message.endswith("..")


def test_nifti_export_lands_in_the_session_folder_with_the_source_geometry(bench):
    source = bench.require_case().source_path
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    path = run_tool(bench, "export", {"format": "nifti"}).data["path"]
    assert path.startswith(str(bench.folder))
    image, exported = nib.load(str(source)), nib.load(path)
    assert exported.shape == image.shape
    np.testing.assert_allclose(exported.affine, image.affine, atol=1e-4)
    assert set(np.unique(np.asarray(exported.dataobj))) <= {0, 6, 1, 2, 3}  # BTCV: liver 6, spleen 1, kidneys 2, 3
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest  # the source is never written
    # it loads back as the study's labels: the same masks, organ by organ
    reloaded = open_study(str(source), labels=path)
    np.testing.assert_array_equal(class_masks(reloaded, bench.classes), bench.masks())


def test_dicom_seg_export_of_a_real_ct_slice(tmp_path):
    bench = Workbench.create(tmp_path / "dicom")
    run_tool(bench, "load_study", {"study": "sample:abdomen_ct"})
    run_tool(bench, "segment", {"organ": "all"})
    assert run_tool(bench, "export", {"format": "nifti"}).message.endswith(
        "Ask for DICOM-SEG for masks that reference the source images."
    )
    exported = run_tool(bench, "export", {"format": "dicom_seg"})
    assert "DICOM-SEG" not in exported.message
    seg = pydicom.dcmread(exported.data["path"])
    assert seg.Modality == "SEG"
    assert [s.SegmentLabel for s in seg.SegmentSequence] == bench.classes
    types = [s.SegmentedPropertyTypeCodeSequence[0].CodeMeaning for s in seg.SegmentSequence]
    assert types == ["Liver", "Spleen", "Kidney", "Kidney"]


def test_a_single_slice_dicom_seg_is_as_deep_as_the_study_was_read(tmp_path):
    """The real MR slice is 4 mm thick: its SEG says so (not highdicom's 1 mm default), so a reader of the SEG
    measures the volumes `measure` reports."""
    bench = Workbench.create(tmp_path / "dicom")
    run_tool(bench, "load_study", {"study": "sample:abdomen_mr"})
    run_tool(bench, "segment", {"organ": "all"})
    path = run_tool(bench, "export", {"format": "dicom_seg"}).data["path"]
    measures = pydicom.dcmread(path).SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    assert float(measures.SpacingBetweenSlices) == float(measures.SliceThickness) == 4.0
    assert bench.require_case().axial_spacing_mm()[0] == 4.0


@pytest.mark.parametrize(
    "orientation", [AXIAL, (-1, 0, 0, 0, -1, 0), (1, 0, 0, 0, 0, -1)], ids=["axial", "rotated", "coronal"]
)
def test_each_dicom_seg_frame_lies_on_the_source_image_it_references(tmp_path, orientation):
    """A series' DICOM-SEG, whatever order its files are named in and however it was acquired: masks made by
    thresholding the loaded image come back, frame by frame, as each source file's own pixels thresholded."""
    folder, rng = tmp_path / "series", np.random.default_rng(0)
    uids = {"study_uid": generate_uid(), "series_uid": generate_uid(), "frame_uid": generate_uid()}
    normal = np.cross(orientation[:3], orientation[3:])
    for k, name in enumerate("cadb"):  # file names out of anatomical order; 6 × 5 pixels: a transpose shows
        pixels = rng.integers(-100, 200, (6, 5))
        write_dicom_slice(folder / f"{name}.dcm", pixels, (0, 0, 0) + 3.0 * k * normal, orientation, **uids)
    axial = open_study(str(folder)).axial_image()
    thresholds = np.percentile(axial, [20, 40, 60, 80])
    classes = ["liver", "spleen", "right_kidney", "left_kidney"]  # one per threshold
    ras = np.stack([axial_stack_to_ras(axial > t) for t in thresholds])
    write_dicom_seg(ras, classes, folder, tmp_path / "seg.dcm")
    seg = hd.seg.segread(str(tmp_path / "seg.dcm"))
    for path in sorted(folder.iterdir()):
        image = pydicom.dcmread(str(path))
        frames = seg.get_pixels_by_source_instance([image.SOPInstanceUID], segment_numbers=[1, 2, 3, 4])[0]
        np.testing.assert_array_equal(frames.astype(bool), np.stack([image.pixel_array > t for t in thresholds], -1))


def test_a_series_whose_files_carry_different_series_uids_is_refused_as_dicom_seg_with_the_reason(tmp_path):
    for k in range(3):  # as CHAOS's anonymiser left them: new UIDs in every file
        write_dicom_slice(tmp_path / "series" / f"{k}.dcm", np.arange(30).reshape(6, 5) * k, (0, 0, 3.0 * k), AXIAL)
    masks = np.ones((1, 5, 6, 3), bool)
    with pytest.raises(ValueError, match="3 source slices carry 3 different study/series UIDs"):
        write_dicom_seg(masks, ["liver"], tmp_path / "series", tmp_path / "seg.dcm")
    assert not (tmp_path / "seg.dcm").exists()


def test_every_shipped_class_has_its_own_dicom_seg_code():
    """Tumour regions are coded as neoplasm under 'morphologically abnormal structure', organs as themselves."""
    shipped = {name for protocol in ("ct_to_mr", "brats_cross_sequence") for name in load_protocol(protocol).classes}
    assert shipped <= set(SEGMENT_CODES)
    assert SEGMENT_CODES["enhancing_tumour"][0].meaning == "Morphologically Abnormal Structure"
    assert SEGMENT_CODES["enhancing_tumour"][1].meaning in ("Neoplasm", "Tumor")


def test_dicom_seg_of_a_nifti_study_is_refused_clearly(home_benchmark, tmp_path):
    fresh = Workbench.create(tmp_path / "fresh")
    run_tool(fresh, "load_study", {"study": CASE})
    run_tool(fresh, "segment", {"organ": "liver"})
    before = sorted(fresh.folder.rglob("*"))
    with pytest.raises(ValueError, match="needs a DICOM study"):
        run_tool(fresh, "export", {"format": "dicom_seg"})
    assert sorted(fresh.folder.rglob("*")) == before  # refused before anything was written (no exports/ either)


def test_a_session_folder_open_in_another_process_is_refused_until_that_process_ends(bench, tmp_path):
    """Two processes on one folder would number their next versions alike and the later would overwrite the
    earlier's (a correction lost). The holder is named; once it is killed (no clean-up runs) the folder opens."""
    folder = tmp_path / "held"
    folder.mkdir()
    script = HOLD_AND_WAIT.format(folder=str(folder))
    holder = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        with pytest.raises(SessionInUseError, match=f"is open in another process \\(pid {holder.pid}\\)"):
            Workbench.create(folder)
    finally:
        holder.kill()
        holder.wait(timeout=60)
    assert Workbench.create(folder).folder == folder
    # the other way round: this process holds the fixture's folder, so another is refused it
    taker = script.replace(str(folder), str(bench.folder))
    other = subprocess.run([sys.executable, "-c", taker], capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
    assert other.returncode != 0 and b"is open in another process (pid " in other.stderr
    assert Workbench.resume(bench.folder).history.current == bench.history.current  # this process may reopen it


HOLD_AND_WAIT = """
import sys
from pathlib import Path
from causal_sam_llm.tools import session_lock
session_lock._held.clear()  # a fresh process
session_lock.hold_session(Path({folder!r}))
print("held", flush=True)
sys.stdin.read()
"""


def test_a_resumed_workbench_is_where_it_was(bench):
    resumed = Workbench.resume(bench.folder)
    assert resumed.history.current == bench.history.current
    np.testing.assert_array_equal(resumed.probabilities(), bench.probabilities())


def test_a_session_resumes_the_mask_history_of_the_study_it_had_loaded_last(home_benchmark, tmp_path):
    """Two studies loaded within the same second each get their own history; resuming finds the second one's."""
    session = Workbench.create(tmp_path / "two")
    run_tool(session, "load_study", {"study": CASE})
    run_tool(session, "segment", {"organ": "all"})
    run_tool(session, "load_study", {"study": "benchmark:mr_t2-0002"})
    run_tool(session, "segment", {"organ": "liver"})
    run_tool(session, "intervene_decoder", {"organ": "liver", "action": "expand", "region": "whole"})
    resumed = Workbench.resume(session.folder)
    assert resumed.case.case_id == "mr_t2-0002"
    assert resumed.history.folder == session.history.folder != session.folder / "masks"
    assert resumed.history.current == session.history.current == 1
    np.testing.assert_array_equal(resumed.probabilities(), session.probabilities())
    assert len(list(session.folder.glob("masks*"))) == 2  # the first study's masks stay on disk


def test_a_study_opened_by_a_relative_path_resumes_from_another_folder(tmp_path, monkeypatch):
    """The session saves the study's path made absolute: before, `ct.dcm` was saved as typed and a session resumed
    from another folder said "study not found: 'ct.dcm'"."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(sample_path("abdomen_ct"), data / "ct.dcm")
    monkeypatch.chdir(data)
    session = Workbench.create(tmp_path / "s")
    run_tool(session, "load_study", {"study": "ct.dcm"})
    run_tool(session, "segment", {"organ": "liver"})
    monkeypatch.chdir(tmp_path)
    resumed = Workbench.resume(session.folder)
    assert json.loads((session.folder / "study.json").read_text())["study"] == str(data / "ct.dcm")
    assert resumed.is_open(str(data / "ct.dcm")) and resumed.is_open("data/ct.dcm") and not resumed.is_open("ct.dcm")
    assert resumed.history.current == session.history.current == 0


def test_a_session_resumes_only_with_the_segmenter_it_was_started_with(bench):
    """Another checkpoint given to a session folder is refused, not silently ignored; the same one, named as the
    command line names it, resumes."""
    with pytest.raises(CheckpointError, match=r"was started with the segmenter .* leave out the segmenter"):
        Workbench.resume(bench.folder, checkpoint=checkpoint_path("brats_cross_sequence/lad"))
    resumed = Workbench.resume(bench.folder, checkpoint=checkpoint_path("ct_to_mr/lad"))
    assert resumed.history.current == bench.history.current


def test_tools_are_langchain_structured_tools_with_schemas(bench):
    tools = {t.name: t for t in langchain_tools(bench)}
    assert set(tools) >= {"load_study", "segment", "describe_style", "intervene_decoder", "measure", "undo", "export"}
    schema = tools["intervene_decoder"].args_schema.model_json_schema()
    assert set(schema["properties"]) == {"organ", "action", "region", "strength", "slices"}
    reply = tools["measure"].invoke({"metric": "volume_ml", "organ": "liver"})
    assert reply["tool"] == "measure" and reply["data"]["volume_ml"]["liver"] > 0


def test_a_correction_that_changed_most_of_the_organ_says_so(bench):
    """A whole-organ shrink at full strength (30 mm) leaves a kidney a fraction of its size: the reply says by how
    much, and how to ask for less; a small one says nothing of it."""
    assert large_change_note(100.0, 40.0).startswith(" That changed the organ by -60 %: if you meant less, say 'undo'")
    assert large_change_note(100.0, 260.0).startswith(" That changed the organ by +160 %")
    assert large_change_note(100.0, 60.0) == large_change_note(0.0, 5.0) == ""
    args = {"organ": "left_kidney", "action": "shrink", "region": "whole", "strength": 1.0}
    result = run_tool(bench, "intervene_decoder", args)
    before, after = result.data["volume_ml"]
    assert ("That changed the organ by" in result.message) == (abs(after - before) > 0.5 * before)
    assert after < 0.5 * before  # this case's kidney is under 60 mm thick: 30 mm from every side leaves little
    run_tool(bench, "undo", {"steps": 1})


def test_a_grow_or_shrink_with_no_amount_is_sized_to_the_organ_and_says_so(bench):
    """A grow the call gives no strength (the guard rails leave it out when the words state none) moves the organ's
    edge by the reach `unsaid_strength` sizes to it, and the reply says how far and how to ask for another amount;
    a stated strength, and any other action left without one, are done as before."""
    kidney = bench.classes.index("left_kidney")
    mask, spacing = bench.masks()[:, kidney].copy(), bench.require_case().axial_spacing_mm()
    sized = unsaid_strength(mask, Intervention(organ="left_kidney", action="expand"), spacing)
    grown = run_tool(bench, "intervene_decoder", {"organ": "left_kidney", "action": "expand"})
    assert grown.data["intervention"]["strength"] == pytest.approx(sized) and sized < 0.5
    assert f"No amount was said, so it was given a reach of {round(sized * 30)} mm" in grown.message
    before, after = grown.data["volume_ml"]
    run_tool(bench, "undo", {"steps": 1})
    stated = run_tool(bench, "intervene_decoder", {"organ": "left_kidney", "action": "expand", "strength": 0.5})
    assert stated.data["intervention"]["strength"] == 0.5 and "No amount was said" not in stated.message
    assert after - before < stated.data["volume_ml"][1] - before  # the 15 mm of the old default moved more
    run_tool(bench, "undo", {"steps": 1})
    added = run_tool(bench, "intervene_decoder", {"organ": "left_kidney", "action": "add_region"})
    assert added.data["intervention"]["strength"] == 0.5 and "No amount was said" not in added.message
    run_tool(bench, "undo", {"steps": 1})


def test_a_shrink_says_where_another_organ_was_next_most_likely(home_benchmark, tmp_path):
    """What the liver gives up where the spleen was also above 0.5 stays background (no other organ's mask changes),
    and the reply says so with the spleen's volume there, so that the model's second opinion is not dropped
    silently."""
    session = Workbench.create(tmp_path / "second")
    run_tool(session, "load_study", {"study": CASE})
    run_tool(session, "segment", {"organ": "all"})
    liver, spleen = session.classes.index("liver"), session.classes.index("spleen")
    probabilities = session.probabilities().copy()
    inside = session.masks()[:, liver]
    probabilities[:, spleen][inside] = np.maximum(probabilities[:, spleen][inside], 0.7)  # second inside the liver
    session.history.add(probabilities, "the spleen second most likely inside the liver (test)")
    spleen_before = session.masks()[:, spleen].copy()
    result = run_tool(session, "intervene_decoder", {"organ": "liver", "action": "shrink", "strength": 0.8})
    np.testing.assert_array_equal(session.masks()[:, spleen], spleen_before)
    assert "Left as background where another organ was next most likely: " in result.message
    assert re.search(r"most likely: [\d.]+ ml of spleen\.", result.message), result.message
    assert "Also changed" not in result.message
    quiet = run_tool(session, "intervene_decoder", {"organ": "right_kidney", "action": "shrink", "strength": 0.5})
    assert "next most likely" not in quiet.message  # nobody else was above 0.5 where the kidney gave voxels up


def test_measure_extent_names_the_slices_each_organ_lies_on(bench):
    """Checked against the masks: the first and last slice holding each organ, as corrections number them."""
    masks, slice_mm = bench.masks(), bench.require_case().axial_spacing_mm()[0]
    result = run_tool(bench, "measure", {"metric": "extent", "organ": "all"})
    for index, organ in enumerate(bench.classes):
        held = np.nonzero(masks[:, index].any(axis=(1, 2)))[0]
        assert result.data["slices"][organ] == [held[0], held[-1]]
        said = f"{organ.replace('_', ' ')} on {span_text(masks[:, index], slice_mm)}"
        assert said in result.message and f"({len(held)} slices" in said
    assert result.message.startswith(f"Of slices 0–{bench.depth - 1}: ")
    spleen = run_tool(bench, "measure", {"metric": "extent", "organ": "spleen"})
    assert list(spleen.data["slices"]) == ["spleen"]


def test_span_text_of_one_slice_and_of_none():
    mask = np.zeros((6, 4, 4), bool)
    assert span_text(mask, 5.0) == "no slice" and occupied_slices(mask) is None
    mask[3, 1, 1] = True
    assert span_text(mask, 5.0) == "slice 3 (1 slice, 5 mm)"
    mask[4:6, 2, 2] = True
    assert span_text(mask, 5.0) == "slices 3–5 (3 slices, 15 mm)"
    mask[0, 0, 0] = True  # a speck two slices away: the gap is said, and no length that would count it
    assert span_text(mask, 5.0) == "slices 0 and 3–5 (4 slices)"
    mask[0, 0, 0] = mask[4:6] = False
    assert holds_none_of(mask, (0, 2)) and holds_none_of(mask, (4, 5)) and not holds_none_of(mask, (2, 3))


def test_a_correction_that_moves_nothing_keeps_no_version_and_says_where_the_organ_is(bench):
    """A shrink on slices the organ is not on changes no mask: no version is kept (so an 'undo' after it undoes
    the last change the clinician saw), and the error names the slices the organ lies on."""
    spleen = bench.classes.index("spleen")
    first, last = (int(z) for z in np.nonzero(bench.masks()[:, spleen].any(axis=(1, 2)))[0][[0, -1]])
    away = (0, first - 3) if first >= 3 else (last + 3, bench.depth - 1)
    assert away[0] <= away[1], "the case's spleen leaves no slices 3 away from it"
    start, count = bench.history.current, len(bench.history.versions)
    args = {"organ": "spleen", "action": "shrink", "region": "whole", "strength": 0.3, "slices": list(away)}
    with pytest.raises(
        ValueError,
        match=rf"nothing changed, so no version was kept: the spleen lies on slices "
        rf"{first}–{last} \(.*\), and slices {away[0]}–{away[1]} hold none of it",
    ):
        run_tool(bench, "intervene_decoder", args)
    assert (bench.history.current, len(bench.history.versions)) == (start, count)
    # a grow there: the clinician may be saying that the organ is missing there, so the reason says how to look
    with pytest.raises(
        ValueError,
        match=rf"too far from slices {away[0]}–{away[1]} for a grow to reach; to look for "
        rf"it there, segment the spleen on slices {away[0]}–{away[1]}",
    ):
        run_tool(bench, "intervene_decoder", {**args, "action": "add_region", "strength": 0.1})
    assert (bench.history.current, len(bench.history.versions)) == (start, count)
    assert "a larger amount moves more" in no_change_reason(
        Intervention(organ="spleen", action="shrink", strength=0.0), bench.masks()[:, spleen], bench
    )


def test_a_correction_says_when_the_organ_now_starts_or_ends_on_another_slice(bench):
    """Said exactly when the first or last slice of the organ moved; a full-strength shrink of one end moves it."""
    liver = bench.classes.index("liver")
    moved = []
    for region in ("inferior", "superior"):
        before = tuple(int(z) for z in np.nonzero(bench.masks()[:, liver].any(axis=(1, 2)))[0][[0, -1]])
        args = {"organ": "liver", "action": "shrink", "region": region, "strength": 1.0}
        result = run_tool(bench, "intervene_decoder", args)
        after = tuple(int(z) for z in np.nonzero(bench.masks()[:, liver].any(axis=(1, 2)))[0][[0, -1]])
        note = f"Now on slices {after[0]}–{after[1]} (was {before[0]}–{before[1]})."
        assert (note in result.message) == (after != before) and ("Now on slices" in result.message) == (
            after != before
        )
        moved.append(after != before)
        run_tool(bench, "undo", {})
    assert any(moved), "a full-strength shrink of an end of the liver moves its first or last slice"
    mask = np.zeros((5, 3, 3), bool)
    mask[1:3] = True
    assert span_change_note(mask, mask) == span_change_note(mask, np.zeros_like(mask)) == ""


def test_list_versions_names_the_current_version_its_steps_and_what_undo_left(bench):
    start = bench.history.current
    first = run_tool(bench, "intervene_decoder", {"organ": "spleen", "action": "shrink", "strength": 0.3}).version
    second = run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "shrink", "strength": 0.3}).version
    run_tool(bench, "undo", {})
    listed = run_tool(bench, "list_versions", {})
    assert listed.data["current"] == first and listed.data["steps"][-2:] == [start, first]
    assert listed.data["undone"] == [second] and listed.message.startswith(f"At version {first}. Its steps: 0 ")
    assert f"Undone (redo brings back): {second} shrink liver whole 0.3." in listed.message
    run_tool(bench, "go_to_version", {"version": start})  # the other branch is kept, not undone
    listed = run_tool(bench, "list_versions", {})
    assert listed.data["undone"] == [] and {first, second} <= set(listed.data["elsewhere"])
    assert "Also kept (go to one by its number):" in listed.message
    with pytest.raises(ValidationError):
        run_tool(bench, "list_versions", {"version": 1})


def test_a_shrink_on_slices_partly_without_the_organ_says_which_hold_none(bench):
    spleen = bench.classes.index("spleen")
    first = int(np.nonzero(bench.masks()[:, spleen].any(axis=(1, 2)))[0][0])
    assert first >= 2, "the case's spleen starts on slice 2 or later"
    args = {"organ": "spleen", "action": "shrink", "region": "whole", "strength": 0.5, "slices": [first - 2, first + 1]}
    result = run_tool(bench, "intervene_decoder", args)
    assert f"Of the slices named, slices {first - 2}–{first - 1} hold none of the spleen." in result.message
    run_tool(bench, "undo", {})
    grown = run_tool(bench, "intervene_decoder", {**args, "action": "expand"})  # a grow may reach into them
    assert "hold none" not in grown.message
    run_tool(bench, "undo", {})
    assert slices_said([3, 4, 5, 9]) == "slices 3–5 and 9" and slices_said([7]) == "slice 7"
    assert slices_said([1, 3, 5]) == "slices 1, 3 and 5"


def test_a_grow_toward_the_feet_on_slices_the_organ_goes_on_past_says_it_moved_edges_not_the_end(bench):
    liver = bench.classes.index("liver")
    first, last = occupied_slices(bench.masks()[:, liver])
    assert last - first >= 5, "the case's liver spans at least 6 slices"
    args = {"organ": "liver", "action": "expand", "region": "inferior", "strength": 0.8}
    inside = run_tool(bench, "intervene_decoder", {**args, "slices": [first + 2, last]})
    assert f"The liver goes on toward the feet past the slices named, to slice {first}: this moved its edges on " in (
        inside.message
    )
    assert f"not its end; to move its end, name slices that hold it (slice {first}) or none." in inside.message
    run_tool(bench, "undo", {})
    at_the_end = run_tool(bench, "intervene_decoder", {**args, "slices": [first, last]})  # its end among them
    toward_the_head = run_tool(bench, "intervene_decoder", {**args, "region": "superior", "slices": [first, last - 2]})
    assert "goes on" not in at_the_end.message
    assert "The liver goes on toward the head past the slices named" in toward_the_head.message
    run_tool(bench, "undo", {"steps": 2})


def test_remove_region_deletes_the_detached_piece_it_is_aimed_at_and_nothing_else(bench):
    """ "That blob at the front is not spleen, delete it": `remove_region` takes the spleen's detached piece toward the
    front whole (piece_removal.detached_pieces) — not a slice of the spleen's own front — and no other voxel of any
    organ changes. "Delete the spleen on slice m" takes all of it there and nothing elsewhere."""
    from causal_sam_llm.segmentation.inference import masks_from_probabilities
    from causal_sam_llm.segmentation.tci_apply import Evidence, apply_learned, correct

    bench.wait_for_box_evidence()
    case, probabilities, masks = bench.require_case(), bench.probabilities().copy(), bench.masks()
    spleen = bench.classes.index("spleen")
    slices, rows, cols = np.nonzero(masks[:, spleen])
    middle, column = int(np.median(slices)), int(np.median(cols))
    blob = np.zeros(masks[:, spleen].shape, bool)
    blob[middle - 1 : middle + 2, rows.min() - 12 : rows.min() - 7, column - 3 : column + 3] = True
    assert not (masks.any(axis=1) & blob).any()  # planted where no organ is
    spleen_values = probabilities[:, spleen]  # a view
    spleen_values[blob] = 0.9
    command = Intervention(organ="spleen", action="remove_region", region="anterior")
    inputs = (bench.decoded, probabilities, command, case.label_set, case.axial_spacing_mm(), case.axial_image())
    after = apply_learned(bench.segmenter, bench.generator, *inputs)
    assert after[:, spleen][blob].max() < 0.5
    np.testing.assert_array_equal(after[:, spleen][~blob], probabilities[:, spleen][~blob])
    np.testing.assert_array_equal(np.delete(after, spleen, axis=1), np.delete(probabilities, spleen, axis=1))
    evidence = Evidence(bench.segmenter, bench.generator, case.label_set)
    corrected = correct(evidence, bench.decoded, probabilities, command, case.axial_spacing_mm(), case.axial_image())
    np.testing.assert_array_equal(corrected.deleted_pieces, blob)  # what the reply's note counts and measures
    on_slice = Intervention(organ="spleen", action="remove_region", region="whole", slices=(middle, middle))
    gone = apply_learned(bench.segmenter, bench.generator, bench.decoded, after, on_slice, *inputs[3:])
    shown = masks_from_probabilities(after, case.label_set, bench.classes)[:, spleen]
    assert shown[middle].any() and gone[middle, spleen][shown[middle]].max() < 0.5  # "delete the spleen on slice m"
    np.testing.assert_array_equal(np.delete(gone, middle, axis=0), np.delete(after, middle, axis=0))


def test_a_removal_says_whether_it_deleted_separate_pieces_or_cut_the_organ_back():
    """`remove_region` means different edits (piece_removal.deleted_whole); the reply says which one applied."""
    organ = np.zeros((6, 30, 30), bool)
    organ[1:5, 10:20, 10:20] = True
    organ[2:4, 2:5, 12:15] = True  # a separate piece at the front (rows run front to back)
    command = Intervention(organ="left_kidney", action="remove_region", region="anterior")
    spacing = (5.0, 10.0, 10.0)  # 0.5 ml a voxel
    deleted = " Deleted 1 separate piece of the left kidney (9.0 ml) at the front."

    def note(said: Intervention) -> str:  # the pieces as the correction finds them (tci_apply.Correction)
        return removal_note(said, deleted_whole(said, organ, spacing), spacing)

    assert note(command) == deleted
    behind = command.model_copy(update={"region": "posterior"})
    assert note(behind) == (
        " No separate piece of the left kidney lay at the back, so the left kidney itself was cut back there."
    )
    on_slices = command.model_copy(update={"region": "whole", "slices": (2, 3)})
    assert note(on_slices) == " Deleted the left kidney on slices 2–3 (109 ml)."  # its body and the piece there
    assert (
        note(on_slices.model_copy(update={"slices": (5, 5)}))
        == " The left kidney did not reach slice 5: nothing was deleted."
    )
    assert note(command.model_copy(update={"action": "shrink"})) == ""
