"""The background box pass as the correction tool meets it: a correction uses the box evidence decoded at
segmentation, waits only for its own organ's, gets what eval-tci measures, and loses nothing when the pass fails;
a correction inside its window equals one over the whole volume."""

import numpy as np
import pytest

from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.tools.registry import run_tool
from causal_sam_llm.tools.workbench import Workbench

CASE = "benchmark:mr_t2-0001"


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
