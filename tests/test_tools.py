"""The tools on a real workbench (shipped LAD checkpoint, LiteMedSAM, a tiny benchmark MR case): segment, correct,
measure, describe and export; corrections from cached features only, touching only the named organ, and bad calls
rejected before any state changes."""

import hashlib

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.metrics import compute_hausdorff_distance
from pydantic import ValidationError

from causal_sam_llm.datasets.study import open_study
from causal_sam_llm.errors import validation_problems
from causal_sam_llm.segmentation.training_set import class_masks
from causal_sam_llm.tools.organ_extent import span_text
from causal_sam_llm.tools.registry import langchain_tools, run_tool
from causal_sam_llm.tools.workbench import NoStudyError, Workbench

CASE = "benchmark:mr_t2-0001"


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


def test_segmenting_again_says_what_it_replaced_and_keeps_no_identical_version(bench):
    """A re-segmentation of some slices had stated the whole liver's volume as if it were theirs and dropped the
    corrections made there without a word; asked twice, it kept a second, identical version."""
    start = bench.history.current
    again = run_tool(bench, "segment", {"organ": "all"})
    assert "nothing changed and no version was kept" in again.message and bench.history.current == start
    run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "expand", "region": "whole", "strength": 0.5})
    grown = bench.history.current
    first, last = (int(z) for z in np.nonzero(bench.masks()[:, 0].any(axis=(1, 2)))[0][[0, -1]])
    middle = (first + last) // 2
    redone = run_tool(bench, "segment", {"organ": "liver", "slices": [middle, middle]})
    assert f"liver {bench.organ_volumes_ml()['liver']:.0f} ml in all" in redone.message
    assert f"It replaced the earlier masks on slice {middle}, with any corrections made there: liver" in redone.message
    assert "'undo' brings them back" in redone.message
    run_tool(bench, "undo", {"steps": 2})
    assert bench.history.current == start and grown == start + 1


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
    lowest = min(bench.classes, key=lambda name: dice.data[name]["dice"])  # "which organ is worst?" is answered
    assert dice.message.endswith(f" Lowest: {lowest.replace('_', ' ')} ({dice.data[lowest]['dice']}%).")
    hd95 = run_tool(bench, "measure", {"metric": "hd95", "organ": "spleen"})
    as_tensor = [torch.from_numpy(m.astype(np.float32))[None, None] for m in (predicted, wanted)]
    expected_hd95 = compute_hausdorff_distance(*as_tensor, percentile=95, spacing=list(spacing)).item()
    assert hd95.data["spleen"]["hd95_mm"] == pytest.approx(expected_hd95, abs=0.05) and " mm" in hd95.message
    volume = run_tool(bench, "measure", {"metric": "volume_ml", "organ": "spleen"})
    assert volume.data["volume_ml"]["spleen"] == pytest.approx(predicted.sum() * np.prod(spacing) / 1000, abs=0.05)


def test_an_organ_on_neither_mask_nor_reference_is_said_to_be_unscored(bench):
    """Dice and HD95 where an organ is in neither had read "spleen None%" under "DICE:" (a research-user trial)."""
    masks, reference = bench.masks(), bench.reference()
    spleen = bench.classes.index("spleen")
    empty = (~masks[:, spleen].any(axis=(1, 2))) & (~reference[:, spleen].any(axis=(1, 2)))
    z = int(np.flatnonzero(empty)[0])
    for metric, name in (("dice", "Dice"), ("hd95", "HD95")):
        reply = run_tool(bench, "measure", {"metric": metric, "organ": "spleen", "slices": [z, z]})
        assert reply.message == f"{name} on slices {z}–{z}: spleen not scored (in neither the mask nor the reference)."
    assert run_tool(bench, "measure", {"metric": "dice", "organ": "spleen"}).message.startswith("Dice: spleen ")


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
    for code in ("qform_code", "sform_code"):  # as the source declares its grid
        assert exported.header[code] == image.header[code]
    assert set(np.unique(np.asarray(exported.dataobj))) <= {0, 6, 1, 2, 3}  # BTCV: liver 6, spleen 1, kidneys 2, 3
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest  # the source is never written
    # it loads back as the study's labels: the same masks, organ by organ
    reloaded = open_study(str(source), labels=path)
    np.testing.assert_array_equal(class_masks(reloaded, bench.classes), bench.masks())


def test_tools_are_langchain_structured_tools_with_schemas(bench):
    tools = {t.name: t for t in langchain_tools(bench)}
    assert set(tools) >= {"load_study", "segment", "describe_style", "intervene_decoder", "measure", "undo", "export"}
    schema = tools["intervene_decoder"].args_schema.model_json_schema()
    assert set(schema["properties"]) == {"organ", "action", "region", "strength", "slices"}
    reply = tools["measure"].invoke({"metric": "volume_ml", "organ": "liver"})
    assert reply["tool"] == "measure" and reply["data"]["volume_ml"]["liver"] > 0


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


def test_a_nifti_export_keeps_a_qform_only_sources_codes(tmp_path):
    """A source with only a "scanner" qform had been exported with an "aligned" sform (a research-user trial)."""
    from causal_sam_llm.tools.export import _codes_of, _write_nifti

    affine = np.diag([0.8, 0.8, 2.5, 1.0])
    source = nib.Nifti1Image(np.zeros((4, 5, 3), np.int16), None)
    source.set_qform(affine, code=1)
    source.set_sform(None, code=0)
    nib.save(source, str(tmp_path / "scan.nii.gz"))
    codes = _codes_of(nib.load(str(tmp_path / "scan.nii.gz")).header)
    assert codes == (1, 0)
    ras = np.zeros((1, 4, 5, 3), bool)
    _write_nifti(ras, ["liver"], affine, codes, "abdomen", tmp_path / "out.nii.gz")
    header = nib.load(str(tmp_path / "out.nii.gz")).header
    assert (int(header["qform_code"]), int(header["sform_code"])) == (1, 0)


def test_dice_after_a_correction_says_what_it_was_before_it(bench):
    """ "is the spleen better now?" had been answered with the Dice now only (a fourth clinician-language trial): an
    organ the current version changed is told with its score in the version it was made from."""
    start = bench.history.current
    before = run_tool(bench, "measure", {"metric": "dice", "organ": "all"})
    assert all("before" not in scores for scores in before.data.values())  # the segmentation: nothing earlier
    run_tool(bench, "intervene_decoder", {"organ": "spleen", "action": "shrink", "strength": 0.6})
    after = run_tool(bench, "measure", {"metric": "dice", "organ": "all"})
    was = before.data["spleen"]["dice"]
    assert after.data["spleen"]["before"] == {"version": start, **before.data["spleen"]}
    now = after.data["spleen"]["dice"]
    assert now != was and f"spleen {now}% (was {was}% in version {start})" in after.message
    changed = [name for name, scores in after.data.items() if scores.get("before")]
    assert "liver" not in changed and after.message.count("(was") == len(changed)  # only what the shrink changed
    hd95 = run_tool(bench, "measure", {"metric": "hd95", "organ": "spleen"})
    assert f"(was {before.data['spleen']['hd95_mm']} mm in version {start})" in hd95.message
    run_tool(bench, "undo", {})
    assert bench.history.current == start
