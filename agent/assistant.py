"""`Assistant`: the agent as a Python API — the object the chat UI, replay and other apps embed.

One turn: text → `CommandParser` (LLM by default) → one validated call → the tool runs on the `Workbench` →
a reply, a new mask version where the masks changed, and one audit-log line. A call that fails validation or a tool
that raises leaves the masks as they were and says why. A session folder holds everything; re-opening it resumes."""

import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from causal_sam_llm.agent.amount_words import FULL_STRENGTH_MM, beyond_one_correction
from causal_sam_llm.agent.audit_log import AuditLog, TurnRecord
from causal_sam_llm.agent.border_request import aimed_at_the_border
from causal_sam_llm.agent.both_kidneys import both_kidneys_note
from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall, Strategy, ToolCallError, clarify
from causal_sam_llm.agent.command_parser import CommandParser
from causal_sam_llm.agent.region_typos import with_region_typos_mended
from causal_sam_llm.agent.request_clauses import left_out_note, other_regions_note
from causal_sam_llm.agent.slice_distance import at_the_organs_end, slice_distance_note
from causal_sam_llm.agent.slice_end import to_the_end_said
from causal_sam_llm.agent.study_words import stated_destination
from causal_sam_llm.agent.unlogged_versions import is_recovered, recovered_record, unlogged_versions
from causal_sam_llm.errors import CausalSamError, validation_problems
from causal_sam_llm.paths import app_home, claim_folder, numbered
from causal_sam_llm.tools.registry import langchain_tools, run_tool
from causal_sam_llm.tools.session_lock import release_unused_session
from causal_sam_llm.tools.workbench import Workbench


@dataclass
class Turn:
    text: str
    call: ParsedCall
    reply: str
    ok: bool
    version: int | None
    timings_ms: dict[str, float]
    result: dict


# what a failed call was to do, in the clinician's words where the tool's name is not ("could not intervene decoder")
TOOL_ACTIONS = {"intervene_decoder": "correct the mask", "list_versions": "list the versions"}


def new_session_dir() -> Path:
    """A new folder under sessions/, named by the time and claimed atomically (mkdir), so two sessions started in the
    same second never share one."""
    return claim_folder(app_home() / "sessions", numbered(time.strftime("%Y%m%d-%H%M%S")))


class Assistant:
    """Assistant(session_dir).load("benchmark:mr_t2-0011"); assistant.ask("segment everything")."""

    def __init__(
        self,
        session_dir: Path | None = None,
        checkpoint: Path | None = None,
        llm: Strategy = "llm",
        llm_model: Path | None = None,
        parser: CommandParser | None = None,
    ) -> None:
        self.created_folder = session_dir is None or not Path(session_dir).exists()
        self.session_dir = Path(session_dir or new_session_dir())
        try:
            self._open(checkpoint, llm, llm_model, parser)
        except BaseException:  # a bad checkpoint or model path, or Ctrl-C while loading: no empty session is left
            self.discard_if_unused()
            raise

    def discard_if_unused(self) -> None:
        """Remove the session folder this assistant created when no turn has been kept in it yet (a start that
        failed after the assistant was made: `chat` loading the LLM)."""
        if self.created_folder:
            release_unused_session(self.session_dir)

    def _open(
        self, checkpoint: Path | None, llm: Strategy, llm_model: Path | None, parser: CommandParser | None
    ) -> None:
        resuming = (self.session_dir / "study.json").is_file()
        self.bench = (
            Workbench.resume(self.session_dir, checkpoint=checkpoint)
            if resuming
            else Workbench.create(self.session_dir, checkpoint)
        )
        self.log = AuditLog(self.session_dir / "audit.jsonl")
        records = self.log.records()
        for version in unlogged_versions(records, self.bench.history) if resuming else []:
            records.append(recovered_record(version))  # killed between keeping a version and logging its turn
            self.log.append(records[-1])
        self.history: list[tuple[str, ParsedCall]] = [(r.text, r.call) for r in records if not is_recovered(r)]
        self.last_timings_ms: dict[str, float] = records[-1].timings_ms if records else {}
        # the last correction the masks aimed (its border, its end): the words, the call as read, the call as run
        self._last_aim: tuple[str, ParsedCall, ParsedCall] | None = None
        self.parser = parser or CommandParser(self.bench.classes, llm, llm_model, tools=langchain_tools(self.bench))

    def load(self, study: str, labels: str | None = None) -> Turn:
        """Open a study directly (no LLM), logged like any other turn."""
        return self._execute(f"load {study}", ParsedCall(tool="load_study", args={"study": study, "labels": labels}))

    def ask(self, text: str) -> Turn:
        start = time.perf_counter()
        try:
            with self.bench.foreground():  # a background box evidence pass waits while the LLM reads the command
                call = self.parser.parse(text, self.history, self._slice_mm())
        except ToolCallError as exc:  # e.g. a model answer that is no valid call: a logged turn, not an exception
            call = clarify(f"I could not turn that into a command ({exc}); please rephrase it.")
        mended = with_region_typos_mended(text)  # as the parser read it; the log keeps what was typed
        call, aiming_words = self._copied_for_another_organ(mended, call)
        parsed = call
        call, border_note = self._at_the_border(mended, call)
        call, end_note = self._at_the_organs_end(aiming_words, call)
        self._last_aim = (aiming_words, parsed, call) if call != parsed else None
        timings = {"parse_ms": 1000 * (time.perf_counter() - start), **self._llm_timings()}
        note = border_note + end_note + self._carried_distance_note(aiming_words, mended, call)
        return self._execute(text, call, timings, self.parser.last_answer, note=note)

    def _carried_distance_note(self, aiming_words: str, said: str, call: ParsedCall) -> str:
        """A correction carried over to another organ ("the right kidney too") says the length its slices were read
        as, as the first one did: a fourth trial's follow-up had not said it."""
        slice_mm = self._slice_mm()
        if aiming_words == said or slice_mm is None:
            return ""
        return slice_distance_note(aiming_words, call, slice_mm)

    def _slice_mm(self) -> float | None:
        """The open study's slice spacing (an amount said in slices is that many of it), None before one is open."""
        return None if self.bench.case is None else self.bench.case.axial_spacing_mm()[0]

    def _copied_for_another_organ(self, text: str, call: ParsedCall) -> tuple[ParsedCall, str]:
        """A follow-up for another organ ("the liver too") copies the last correction as the model read it, not as
        the masks aimed it: a fourth trial's "now the liver" had cut the liver on the slices where the spleen met the
        left kidney. An end aimed by the earlier words ("by 2 slices toward the head") is found again on this organ:
        the words returned are those to aim it by."""
        if self._last_aim is None or call.tool != "intervene_decoder":
            return call, text
        said, parsed, aimed = self._last_aim
        organ = call.args.get("organ")
        if organ == aimed.args.get("organ") or {**call.args, "organ": None} != {**aimed.args, "organ": None}:
            return call, text
        return ParsedCall(tool=call.tool, args={**parsed.args, "organ": organ}), said

    def _at_the_organs_end(self, text: str, call: ParsedCall) -> tuple[ParsedCall, str]:
        """A correction said as where the organ should end (slice_end.py), or by N slices toward the head or feet
        (slice_distance.py), aimed at the organ's end."""
        bench, organ = self.bench, call.args.get("organ")
        if call.tool != "intervene_decoder" or organ not in bench.classes:
            return call, ""
        if bench.history is None or bench.history.current is None or bench.case is None:
            return call, ""
        organ_mask = bench.masks()[:, bench.classes.index(organ)]
        ended, note = to_the_end_said(call, text, organ_mask, bench.case.axial_spacing_mm()[0])
        return (ended, note) if note else at_the_organs_end(call, text, organ_mask)

    def _at_the_border(self, text: str, call: ParsedCall) -> tuple[ParsedCall, str]:
        """A correction said as the organ running into another, aimed where their masks meet (border_request.py);
        other calls, and any before there are masks of organs that exclude each other, as they are."""
        bench = self.bench
        if call.tool != "intervene_decoder":  # nothing to aim: no masks read for other calls
            return call, ""
        if bench.case is None or bench.history is None or bench.history.current is None:
            return call, ""
        if bench.case.label_set.kind != "exclusive":  # nested tumour regions lie inside each other, not beside
            return call, ""
        return aimed_at_the_border(call, text, bench.masks(), bench.classes, bench.case.axial_spacing_mm())

    def run(self, call: ParsedCall, text: str = "") -> Turn:
        """Execute an already-validated call (from replay, another app, or `parse --json` output). Without `text`,
        the call's JSON is logged as what was said, and no note is drawn from words (a research-user trial: the JSON
        had been read as a clinician's second request)."""
        return self._execute(text or call.model_dump_json(), call, typed=bool(text))

    def _llm_timings(self) -> dict[str, float]:
        llm_ms = self.parser.last_timings.get("llm_ms")
        return {"llm_ms": llm_ms} if llm_ms is not None else {}

    def _execute(
        self,
        text: str,
        call: ParsedCall,
        timings: dict[str, float] | None = None,
        answer: dict | None = None,
        typed: bool = True,
        note: str = "",
    ) -> Turn:
        timings = dict(timings or {})
        result: dict = {}
        version = self.bench.history.current if self.bench.history else None
        if call.tool == CLARIFY:
            ok, reply = True, call.args["question"]
        else:
            start = time.perf_counter()
            try:
                outcome = run_tool(self.bench, call.tool, call.args)
                notes = self._notes_on_the_words(text, call, outcome.data) if typed else ""
                ok, reply, result = True, outcome.message + note + notes, outcome.data
                version = version if outcome.version is None else outcome.version  # version 0 is a version
            except (CausalSamError, ValidationError, ValueError, LookupError, OSError) as exc:
                doing = TOOL_ACTIONS.get(call.tool, call.tool.replace("_", " "))
                ok, reply = False, f"Could not {doing}: {_first_line(exc)}{_strength_hint(exc)}"
            timings["tool_ms"] = 1000 * (time.perf_counter() - start)
        turn = Turn(text, call, reply, ok, version, timings, result)
        self.log.append(
            TurnRecord(
                text=text,
                call=call,
                answer=answer,
                ok=ok,
                reply=reply,
                result=result,
                version=version,
                timings_ms=timings,
            )
        )
        self.history.append((text, call))
        self.last_timings_ms = timings
        return turn

    def _notes_on_the_words(self, text: str, call: ParsedCall, data: dict) -> str:
        """What the clinician's words asked that the call did not do as said."""
        notes = _beyond_one_correction_note(text, call) + _export_destination_note(text, call, data)
        notes += both_kidneys_note(text, call, data)
        slice_mm = self._slice_mm()
        notes += "" if slice_mm is None else slice_distance_note(text, call, slice_mm)
        return notes + left_out_note(text, call, self.bench.classes) + other_regions_note(text, call)


def _beyond_one_correction_note(text: str, call: ParsedCall) -> str:
    """Said when the text asked for more than one correction moves ("by 5 cm"): it was carried out at full strength,
    and the clinician should know that, not find out from the image."""
    asked = beyond_one_correction(text) if call.tool == "intervene_decoder" else None
    if asked is None:
        return ""
    return f" You asked for {asked}; one correction moves at most {FULL_STRENGTH_MM:g} mm, so say it again for more."


def _export_destination_note(text: str, call: ParsedCall, data: dict) -> str:
    """Said when the text asked for an export into a folder of its own: exports are always written into the
    session's exports folder (beside their provenance), and the clinician should not look for it elsewhere."""
    asked = stated_destination(text) if call.tool == "export" else None
    if asked is None or "path" not in data:
        return ""
    return f" It was written to the session's exports folder, not {asked}: copy it from {Path(data['path']).parent}."


def _strength_hint(exc: Exception) -> str:
    """What a strength the Intervention refuses means, and the words that say an amount instead: a number typed as
    "strength 2" is refused, not guessed at."""
    if not isinstance(exc, ValidationError) or not any(e["loc"][-1:] == ("strength",) for e in exc.errors()):
        return ""
    return (
        f". Strength runs from 0 to 1 (1 moves {FULL_STRENGTH_MM:g} mm); or say the amount, e.g. 'a little' or '5 mm'."
    )


def _first_line(exc: Exception) -> str:
    """What went wrong, in one line; for a malformed call every field's problem and what it allows."""
    if isinstance(exc, ValidationError):
        return validation_problems(exc)
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
