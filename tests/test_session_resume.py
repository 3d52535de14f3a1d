"""A session folder belongs to one process at a time, and a resumed workbench is where it was: its study, its mask
history and its segmenter."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from causal_sam_llm.datasets.sample_images import sample_path
from causal_sam_llm.errors import CheckpointError
from causal_sam_llm.segmentation.checkpoint_io import checkpoint_path
from causal_sam_llm.tools.registry import run_tool
from causal_sam_llm.tools.session_lock import SessionInUseError
from causal_sam_llm.tools.workbench import Workbench

CASE = "benchmark:mr_t2-0001"


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
