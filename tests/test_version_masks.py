"""A correction's version has its masks decided again only where its values changed (tools/version_masks.py): they
must equal the masks of the whole version decided afresh, and a change that only rounding would erase is no change."""

import numpy as np
import pytest

from causal_sam_llm.datasets.label_maps import label_set
from causal_sam_llm.segmentation.inference import masks_from_probabilities
from causal_sam_llm.tools.mask_history import MaskHistory
from causal_sam_llm.tools.mask_patch import changed_box
from causal_sam_llm.tools.registry import run_tool
from causal_sam_llm.tools.version_masks import kept_change, masks_after_change
from causal_sam_llm.tools.workbench import Workbench

ABDOMEN = ["liver", "spleen", "right_kidney", "left_kidney"]
BRAIN = ["whole_tumour", "tumour_core", "enhancing_tumour"]


@pytest.mark.parametrize(("kind", "classes"), [("abdomen", ABDOMEN), ("brain_tumour", BRAIN)])
def test_masks_decided_inside_the_changed_box_equal_the_whole_versions(kind, classes):
    rng = np.random.default_rng(7)
    labels = label_set(kind)
    parent = rng.random((6, len(classes), 20, 24), dtype=np.float32)
    child = parent.copy()
    child[2:4, 1, 5:12, 8:20] = rng.random((2, 7, 12), dtype=np.float32)  # one organ's values, in a box
    box = (slice(2, 4), slice(1, 2), slice(5, 12), slice(8, 20))
    masks = masks_after_change(masks_from_probabilities(parent, labels, classes), child, box, labels, classes)
    np.testing.assert_array_equal(masks, masks_from_probabilities(child, labels, classes))
    # an exclusive set decides a voxel across every organ: the other organs' masks changed inside the box too
    assert (masks[2:4, 0] != masks_from_probabilities(parent, labels, classes)[2:4, 0]).any() == (kind == "abdomen")


def test_a_change_that_rounding_to_the_kept_precision_erases_is_no_change():
    labels = label_set("abdomen")
    parent = np.zeros((2, 4, 3, 3), np.float32)
    parent[0, 0] = 0.25
    child = parent.copy()
    child[0, 0, 1, 1] = np.float32(0.50001)  # above 0.5 as computed, exactly 0.5 as float16 keeps it
    assert kept_change(parent, child, masks_from_probabilities(parent, labels, ABDOMEN), labels, ABDOMEN) is None
    child[0, 0, 1, 1] = 0.6
    change = kept_change(parent, child, masks_from_probabilities(parent, labels, ABDOMEN), labels, ABDOMEN)
    assert change is not None and change.masks[0, 0, 1, 1] and change.masks.sum() == 1
    assert child[0, 0, 1, 1] == np.float32(np.float16(0.6))  # rounded in place as the version will hold it


def test_the_changed_box_found_inside_a_known_box_is_the_one_found_over_the_whole_array():
    rng = np.random.default_rng(3)
    parent = rng.random((6, 4, 20, 24), dtype=np.float32)
    child = parent.copy()
    child[2:4, 1, 5:12, 8:20] += 1
    child[2:4, 1, 11] = parent[2:4, 1, 11]  # the box is found from the changes, not from where they were written
    known = (slice(1, 5), slice(None), slice(3, 15), slice(6, 22))
    assert (
        changed_box(parent, child, known)
        == changed_box(parent, child)
        == (slice(2, 4), slice(1, 2), slice(5, 11), slice(8, 20))
    )
    assert changed_box(parent, child, (slice(1, 5), slice(1, 2), slice(3, 15), slice(6, 22))) == changed_box(
        parent, child
    )
    assert changed_box(parent, parent.copy(), known) is None


def test_after_corrections_the_kept_masks_are_those_of_the_version_read_back(home_benchmark, tmp_path):
    bench = Workbench.create(tmp_path / "session")
    run_tool(bench, "load_study", {"study": "benchmark:mr_t2-0001"})
    run_tool(bench, "segment", {"organ": "all"})
    commands = [
        {"organ": "liver", "action": "expand", "region": "superior", "strength": 0.4},
        {"organ": "spleen", "action": "shrink", "region": "whole", "strength": 0.3},
        {"organ": "left_kidney", "action": "smooth", "region": "whole", "strength": 0.5},
    ]
    voxel_ml = np.prod(bench.require_case().axial_spacing_mm()) / 1000
    for command in commands:
        run_tool(bench, "intervene_decoder", command)
        case = bench.require_case()
        read_back = MaskHistory(bench.history.folder).probabilities()  # from the files, as after a restart
        masks = masks_from_probabilities(read_back, case.label_set, bench.classes)
        np.testing.assert_array_equal(bench.masks(), masks)
        # the volumes, counted in the changed box only, are those of the whole version's masks
        volumes = {name: float(masks[:, i].sum() * voxel_ml) for i, name in enumerate(bench.classes)}
        assert bench.organ_volumes_ml() == volumes
