"""Every mask version kept: undo and redo exact and all-or-nothing, versions stored as patches that read back exactly
after a restart, any version can be made current again, and the list of versions says where undo left off."""

import json

import numpy as np
import pytest
from pydantic import ValidationError

from causal_sam_llm.tools.mask_history import PATCH_CHAIN, MaskHistory
from causal_sam_llm.tools.mask_patch import patch_box
from causal_sam_llm.tools.registry import run_tool


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
    # "start over" goes to version 0; an undo there names the versions kept after it (a third clinician trial read
    # "nothing to undo" as the work being gone)
    bench.history.go_to(0)
    last = len(bench.history.versions) - 1
    with pytest.raises(LookupError, match=f"versions 1 to {last} are kept: 'go back to version {last}' returns"):
        run_tool(bench, "undo", {})
    bench.history.go_to(count)
    run_tool(bench, "undo", {})


def test_list_versions_names_the_current_version_its_steps_and_what_undo_left(bench):
    start = bench.history.current
    first = run_tool(bench, "intervene_decoder", {"organ": "spleen", "action": "shrink", "strength": 0.3}).version
    second = run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "shrink", "strength": 0.3}).version
    run_tool(bench, "undo", {})
    listed = run_tool(bench, "list_versions", {})
    assert listed.data["current"] == first and listed.data["steps"][-2:] == [start, first]
    assert listed.data["undone"] == [second] and listed.message.startswith(f"At version {first}. Its steps: 0 ")
    assert f"Undone (redo brings back): {second} shrink liver whole 9 mm." in listed.message
    run_tool(bench, "go_to_version", {"version": start})  # back along the branch: as an undo, redo brings it back
    assert run_tool(bench, "list_versions", {}).data["undone"] == [first, second]
    run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "shrink", "strength": 0.2})
    listed = run_tool(bench, "list_versions", {})  # the other branch is kept, not undone
    assert listed.data["undone"] == [] and {first, second} <= set(listed.data["elsewhere"])
    assert "Also kept (go to one by its number):" in listed.message
    run_tool(bench, "go_to_version", {"version": start})
    with pytest.raises(ValidationError):
        run_tool(bench, "list_versions", {"version": 1})


def test_redo_after_going_back_to_a_version_steps_forward_again(bench):
    """A redo after "go back to version N" had said there was nothing to redo: going back along the branch is an
    undo of as many steps; going to an undone version leaves the ones after it to redo."""
    start = bench.history.current
    first = run_tool(bench, "intervene_decoder", {"organ": "spleen", "action": "shrink", "strength": 0.3}).version
    once = bench.probabilities()
    second = run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "shrink", "strength": 0.3}).version
    twice = bench.probabilities()
    run_tool(bench, "go_to_version", {"version": start})
    assert run_tool(bench, "redo", {}).version == first
    np.testing.assert_array_equal(bench.probabilities(), once)
    run_tool(bench, "undo", {})
    assert run_tool(bench, "go_to_version", {"version": first}).version == first  # forward to an undone version
    assert run_tool(bench, "redo", {}).version == second
    np.testing.assert_array_equal(bench.probabilities(), twice)
    with pytest.raises(LookupError, match="nothing to redo"):
        run_tool(bench, "redo", {})
    # to another branch: redo is the way back to the version left (a fifth trial: it had said nothing to redo)
    run_tool(bench, "undo", {"steps": 2})
    other = run_tool(bench, "intervene_decoder", {"organ": "spleen", "action": "shrink", "strength": 0.2}).version
    run_tool(bench, "go_to_version", {"version": second})
    back = run_tool(bench, "redo", {})
    assert back.version == other and back.message.endswith(f", the version left for version {second}.")
    with pytest.raises(LookupError, match="nothing to redo"):
        run_tool(bench, "redo", {})
    run_tool(bench, "go_to_version", {"version": start})
