"""The Textual chat driven by Pilot (type a command → the mask and legend change; undo restores; SVG screenshot;
the image pane's own SVG snapshot is in test_slice_pane.py),
and scripted replay: a shipped session passes its expectations, a failing expectation exits non-zero, and a
malformed session file is refused with its line."""

import asyncio
import json
import re
from pathlib import Path

import pytest

from causal_sam_llm.agent.assistant import Assistant
from causal_sam_llm.agent.audit_log import AuditLog
from causal_sam_llm.agent.border_request import leak_named
from causal_sam_llm.chat.app import ChatApp
from causal_sam_llm.cli import main
from causal_sam_llm.datasets.study import open_study
from causal_sam_llm.eval_sessions.session_file import SessionFileError, read_session

SESSIONS = Path(__file__).parents[1] / "eval_sessions"


async def _submit(app: ChatApp, pilot, text: str) -> None:
    app.query_one("#command").value = text
    await pilot.press("enter")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def test_chat_turns_change_the_mask_and_legend_and_undo_restores(home_benchmark, tmp_path, llm_parser):
    asyncio.run(_chat_turns(tmp_path, llm_parser))


async def _chat_turns(tmp_path: Path, llm_parser) -> None:
    assistant = Assistant(tmp_path / "chat", llm="none", parser=llm_parser)
    app = ChatApp(assistant, "benchmark:mr_t2-0004")
    async with app.run_test(size=(140, 44)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await _submit(app, pilot, "segment everything")
        segmented = app.legend_text()
        assert "liver:" in segmented and "— " not in segmented.split("liver:")[1].splitlines()[0]
        await _submit(app, pilot, "the liver is cut short toward the head, grow it a lot")
        grown = app.legend_text()
        assert grown != segmented, "\n".join(str(line.text) for line in app.query_one("#log").lines)
        await pilot.press("ctrl+z")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.legend_text() == segmented
        await pilot.press("ctrl+e")  # with the command box focused, which binds Ctrl+E itself
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Saved " in _log(app) and list((tmp_path / "chat" / "exports").glob("*.nii.gz"))
        shown = app.legend_text().splitlines()[0]  # "slice i of 0–last", as commands number slices
        number, last = map(int, shown.removeprefix("slice ").split(" of 0–"))
        await pilot.press("pageup")
        await pilot.pause()
        assert number < last and app.legend_text().splitlines()[0] == f"slice {number + 1} of 0–{last}"  # one up
        svg = app.export_screenshot()
        (tmp_path / "chat.svg").write_text(svg)
        assert "liver" in svg and "Causal-SAM-LLM" in svg


def test_chat_shows_errors_in_the_conversation(home_benchmark, tmp_path, llm_parser):
    asyncio.run(_chat_error(tmp_path, llm_parser))


async def _chat_error(tmp_path: Path, llm_parser) -> None:
    app = ChatApp(Assistant(tmp_path / "err", llm="none", parser=llm_parser))
    async with app.run_test(size=(120, 40)) as pilot:
        await _submit(app, pilot, "segment everything")  # nothing loaded yet
        assert "no study is loaded" in _log(app) and "Traceback" not in _log(app)
        app.busy = True  # as while a turn runs: quitting or sending waits, and the typed text is kept
        await pilot.press("ctrl+q")
        app.query_one("#command").value = "grow the liver"
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running and app.query_one("#command").value == "grow the liver"
        app.busy = False
    missing = ChatApp(Assistant(tmp_path / "missing", llm="none", parser=llm_parser), "benchmark:mr_t2-9999")
    async with missing.run_test(size=(120, 40)) as pilot:  # a first study that cannot be opened
        await missing.workers.wait_for_complete()
        await pilot.pause()
        assert "Could not load study" in _log(missing) and missing.is_running


def _log(app: ChatApp) -> str:
    return "\n".join(str(line.text) for line in app.query_one("#log").lines)


def test_chat_on_a_resumed_session_with_the_same_study_carries_on_where_it_was(home_benchmark, tmp_path, llm_parser):
    asyncio.run(_chat_resumed(tmp_path, llm_parser))


async def _chat_resumed(tmp_path: Path, llm_parser) -> None:
    first = Assistant(tmp_path / "s", llm="none", parser=llm_parser)
    first.load("benchmark:mr_t2-0004")
    first.ask("segment everything")
    first.ask("grow the liver a little")  # version 1
    app = ChatApp(Assistant(tmp_path / "s", llm="none", parser=llm_parser), "benchmark:mr_t2-0004")
    async with app.run_test(size=(140, 44)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Resumed benchmark:mr_t2-0004 at mask version 1" in _log(app)
        assert "liver:" in app.legend_text()
    assert [p.name for p in (tmp_path / "s").glob("masks*")] == ["masks"]  # the study was not opened afresh


def test_chat_refuses_a_session_it_cannot_open_as_asked_in_one_line(home_benchmark, tmp_path, capsys):
    """A session folder that is a file, a misspelt shipped model, a session resumed with another model than its own:
    a one-line error before the chat starts (before, a FileExistsError traceback, and the other model ignored)."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a session")
    chat = ["chat", "--llm", "none", "--graphics", "halfblock", "--session"]
    with pytest.raises(SystemExit) as usage_error:  # said by the argument's check, before any model loads
        main([*chat, str(notes)])
    assert usage_error.value.code == 2 and f"{notes} is a file; give a folder" in capsys.readouterr().err
    assert notes.read_text() == "not a session"
    assert main([*chat, str(tmp_path / "new"), "--segmenter", "ct_to_mr/lda"]) == 2
    assert "no shipped checkpoint for ct_to_mr/lda" in capsys.readouterr().err
    Assistant(tmp_path / "s", llm="none").load("benchmark:mr_t2-0004")
    assert main([*chat, str(tmp_path / "s"), "--segmenter", "brats_cross_sequence/lad"]) == 2
    assert "was started with the segmenter" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()  # a start that failed leaves no empty session folder


def test_a_chat_whose_model_fails_to_load_leaves_no_empty_session(tmp_path, capsys):
    """The LLM is loaded after the session folder is made (a file that is no GGUF model fails there): the folder it
    made for the session, holding nothing, is removed; a folder the user had made, or one with turns, is kept."""
    not_a_model = tmp_path / "model.gguf"
    not_a_model.write_text("not a gguf")
    chat = ["chat", "--graphics", "halfblock", "--llm-model", str(not_a_model), "--session"]
    assert main([*chat, str(tmp_path / "new")]) == 2
    assert "is not a GGUF model file" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    assert main([*chat, str(tmp_path / "mine")]) == 2
    assert (tmp_path / "mine").is_dir()


def test_chat_in_a_graphics_terminal_draws_the_slice_as_pixels(home_benchmark, tmp_path, llm_parser):
    asyncio.run(_chat_graphics(tmp_path, llm_parser))


async def _chat_graphics(tmp_path: Path, llm_parser) -> None:
    """Also: the study opened by its NIfTI path with its label file, as `chat STUDY --labels FILE` does."""
    image = open_study("benchmark:mr_t2-0004").source_path  # BTCV layout: Training/img/imgXXXX.nii.gz
    labels = image.parent.parent / "label" / image.name.replace("img", "label")
    assistant = Assistant(tmp_path / "gfx", llm="none", parser=llm_parser)
    app = ChatApp(assistant, str(image), "sixel", labels=str(labels))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.assistant.bench.require_case().has_labels, _log(app)
        await _submit(app, pilot, "segment the liver")
        picture = app.query_one("#slice").image
        case = app.assistant.bench.require_case()
        rows, cols = case.axial_image().shape[1:]
        spacing = case.axial_spacing_mm()
        assert picture.width >= cols
        assert abs(picture.height / picture.width - rows * spacing[1] / (cols * spacing[2])) < 0.05
        assert "liver:" in app.legend_text() and "liver: —" not in app.legend_text()


def test_every_shipped_session_file_is_valid():
    files = sorted(SESSIONS.glob("*.yaml"))
    assert len(files) >= 6
    sessions = [read_session(f) for f in files]
    tools = {t.expect.tool for s in sessions for t in s.turns if t.expect}
    assert tools >= {"load_study", "segment", "describe_style", "intervene_decoder", "measure", "undo", "export"} - {
        "load_study"
    }
    actions = {t.expect.args.get("action") for s in sessions for t in s.turns if t.expect}
    assert actions >= {"expand", "shrink", "remove_region", "add_region", "smooth"}
    models = {s.checkpoint.split("/")[0] for s in sessions if s.checkpoint}
    assert models >= {"ct_to_mr", "cross_scanner", "brats_cross_sequence"}


def test_no_shipped_correction_is_read_as_running_into_something_it_does_not_name():
    """A replay of every shipped session (`causal-sam-llm replay eval_sessions/*.yaml`) found "the right kidney spills
    over a touch, shrink it" asked where it runs into, after the border rules landed; this test reads every scripted
    correction the same way without replaying the sessions' studies."""
    organs = ["liver", "spleen", "right_kidney", "left_kidney"]
    corrections = [
        turn.say
        for session in map(read_session, sorted(SESSIONS.glob("*.yaml")))
        for turn in session.turns
        if turn.expect and turn.expect.tool == "intervene_decoder"
    ]
    assert len(corrections) >= 8
    for text in corrections:
        leak = leak_named(text, organs)
        assert leak is None or leak.into, text


def test_a_shipped_session_replays_with_its_expectations(tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["replay", str(SESSIONS / "real_ct_dicom.yaml"), "--report", str(report)]) == 0
    turns = json.loads((report / "report.json").read_text())
    assert [t["call"]["tool"] for t in turns] == ["load_study", "segment", "measure", "clarify", "export"]
    assert all(not t["failures"] for t in turns)
    # a single-slice study: its one slice named as such, and its small organs in tenths of a ml, not "0 ml"
    assert "Segmented all on slice 0:" in turns[1]["reply"]
    assert re.search(r"spleen \d+\.\d ml", turns[2]["reply"]), turns[2]["reply"]
    assert (report / "report.md").is_file() and list((report / "real_ct_dicom").glob("turn-*.png"))
    markdown = (report / "report.md").read_text()
    assert "| [1](real_ct_dicom/turn-01.png) |" in markdown  # each turn links its overlay
    assert "simulated clinician" not in markdown  # no turn was the simulated clinician's


def test_a_failing_expectation_exits_non_zero(home_benchmark, tmp_path):
    session = tmp_path / "failing.yaml"
    session.write_text(
        "study: benchmark:mr_t2-0001\nturns:\n"
        "  - say: segment everything\n    expect: {tool: segment, dice_at_least: 100}\n"
    )
    assert main(["replay", str(session), "--report", str(tmp_path / "r"), "--llm", "none"]) == 1
    assert "FAIL" in (tmp_path / "r" / "report.md").read_text()
    # replayed again into the same report: a new session beside the first, which is kept and not resumed
    assert main(["replay", str(session), "--report", str(tmp_path / "r"), "--llm", "none"]) == 1
    for folder in ("session", "session-2"):
        records = AuditLog(tmp_path / "r" / "failing" / folder / "audit.jsonl").records()
        assert [r.text for r in records] == ["load benchmark:mr_t2-0001", "segment everything"]


def test_replay_adds_turns_spoken_by_the_simulated_clinician(home_benchmark, tmp_path):
    """`--simulate 2`: after the scripted turns the clinician compares the mask with the reference and says its
    correction in words; the agent parses the words (here the keyword parser) and the mean Dice rises."""
    session = tmp_path / "short.yaml"
    session.write_text("study: benchmark:mr_t1-0002\nturns:\n  - say: segment everything\n")
    report = tmp_path / "r"
    assert main(["replay", str(session), "--report", str(report), "--llm", "none", "--simulate", "2"]) == 0
    turns = json.loads((report / "report.json").read_text())
    spoken = [t for t in turns if t["simulated"]]
    assert len(spoken) == 2 and all(t["ok"] and t["call"]["tool"] == "intervene_decoder" for t in spoken)
    assert spoken[-1]["dice_after"] > turns[1]["dice_after"]  # better than the segmentation the turns started from
    # each correction's own organ is scored beside the mean, which dilutes a change to one organ among four
    markdown = (report / "report.md").read_text()
    for turn in spoken:
        organ = turn["call"]["args"]["organ"]
        assert turn["organ"] == organ and turn["organ_dice_after"] != turn["organ_dice_before"]
        change = f"{organ.replace('_', ' ')} {turn['organ_dice_before']:.1f} → {turn['organ_dice_after']:.1f}"
        assert change in markdown
    assert turns[1]["organ"] is None and "`*` spoken by the simulated clinician." in markdown


def test_simulated_turns_on_a_study_without_labels_are_refused_before_any_scripted_turn(
    home_benchmark, tmp_path, capsys
):
    """The session without labels is refused before its scripted turns; the other session still runs, and the report
    holds it (before, the whole replay stopped there and wrote no report)."""
    labelled = tmp_path / "labelled.yaml"
    labelled.write_text("study: benchmark:mr_t1-0002\nturns:\n  - say: segment the spleen\n")
    report = tmp_path / "r"
    files = [str(SESSIONS / "real_ct_dicom.yaml"), str(labelled)]
    assert main(["replay", *files, "--report", str(report), "--llm", "none", "--simulate", "1"]) == 2
    err = capsys.readouterr().err
    assert "--simulate needs a study with reference labels" in err and "not replayed: " in err
    assert not list((report / "real_ct_dicom").glob("turn-01.png"))  # its scripted 'segment everything' never ran
    replayed = json.loads((report / "report.json").read_text())
    assert [t["session"] for t in replayed] == ["labelled"] * 3 and replayed[-1]["simulated"]


def test_a_session_naming_a_checkpoint_that_is_not_there_is_refused_before_any_session_runs(tmp_path, capsys):
    named = tmp_path / "named.yaml"
    named.write_text("study: benchmark:mr_t1-0002\ncheckpoint: ct_to_mr/lda\nturns:\n  - say: segment the spleen\n")
    files = [str(SESSIONS / "real_ct_dicom.yaml"), str(named)]
    assert main(["replay", *files, "--report", str(tmp_path / "r"), "--llm", "none"]) == 2
    assert "no shipped checkpoint for ct_to_mr/lda" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_an_expectation_on_arguments_alone_is_checked(home_benchmark, tmp_path):
    """`expect: {args: {organ: spleen}}` without a tool still fails when the call names another organ."""
    session = tmp_path / "args_only.yaml"
    session.write_text(
        "study: benchmark:mr_t2-0001\nturns:\n  - say: segment the liver\n    expect: {args: {organ: spleen}}\n"
    )
    assert main(["replay", str(session), "--report", str(tmp_path / "r"), "--llm", "none"]) == 1
    assert "expected a call {'organ': 'spleen'}" in (tmp_path / "r" / "report.md").read_text()


def test_a_session_files_relative_paths_are_read_from_its_own_folder(tmp_path, monkeypatch):
    """`study: ../src/scan.nii.gz` had been looked for from wherever replay was started (a research-user trial)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "scan.nii.gz").write_bytes(b"")
    (tmp_path / "sessions").mkdir()
    session = tmp_path / "sessions" / "relative.yaml"
    session.write_text("study: ../src/scan.nii.gz\nlabels: ../src/missing.nii.gz\ncheckpoint: ct_to_mr/lad\n")
    monkeypatch.chdir("/")
    read = read_session(session)
    assert Path(read.study).resolve() == (tmp_path / "src" / "scan.nii.gz").resolve()
    assert (read.labels, read.checkpoint) == ("../src/missing.nii.gz", "ct_to_mr/lad")  # not there: kept as written
    session.write_text("study: benchmark:mr_t2-0011\n")
    assert read_session(session).study == "benchmark:mr_t2-0011"


def test_a_malformed_session_file_names_the_line(tmp_path):
    session = tmp_path / "bad.yaml"
    session.write_text(
        "study: sample:abdomen_ct\nturns:\n  - say: segment everything\n    expect: {tool: segment, dice: 3}\n"
    )
    with pytest.raises(SessionFileError, match=r"bad.yaml line 4: turns.0.expect.dice"):
        read_session(session)
    assert main(["replay", str(session)]) == 2
    # a misspelt tool or argument is an error in the file, found before any turn runs
    session.write_text("study: sample:abdomen_ct\nturns:\n  - say: segment everything\n    expect: {tool: segmnt}\n")
    with pytest.raises(
        SessionFileError, match=r"line 4: turns.0.expect.tool: unknown tool 'segmnt'; one of: load_study"
    ):
        read_session(session)
    session.write_text(
        "study: sample:abdomen_ct\nturns:\n  - say: segment everything\n    expect:\n      tool: segment\n"
        "      args: {orgn: all}\n"
    )
    with pytest.raises(SessionFileError, match=r"line 6: turns.0.expect.args: orgn: no argument of segment \(its"):
        read_session(session)


def test_a_replay_whose_study_cannot_be_opened_fails_there(home_benchmark, tmp_path, capsys):
    """The study is the session's premise: its load failing is a failed expectation, and no turn runs after it (each
    would only say that no study is loaded). report.json holds null, not NaN, for the scores there are none of."""
    session = tmp_path / "nostudy.yaml"
    session.write_text("study: benchmark:no_such-0001\nturns:\n  - say: segment everything\n")
    assert main(["replay", str(session), "--report", str(tmp_path / "r"), "--llm", "none"]) == 1
    assert "FAIL 0: 'load benchmark:no_such-0001'" in capsys.readouterr().out
    text = (tmp_path / "r" / "report.json").read_text()
    turns = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in report.json"))
    assert (
        len(turns) == 1
        and turns[0]["dice_before"] is None
        and "expected the tool to succeed" in turns[0]["failures"][0]
    )
