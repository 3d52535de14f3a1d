"""Replay correction sessions through the real agent and segmenter: per turn the parsed call, latency, Dice/HD95
before and after (when the study has reference labels), an overlay PNG, and whether each expectation held.
`simulate` adds turns spoken by the simulated clinician after the scripted ones."""

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from causal_sam_llm.agent.assistant import Assistant, Turn
from causal_sam_llm.agent.call_schema import Strategy
from causal_sam_llm.agent.command_parser import CommandParser
from causal_sam_llm.agent.command_set import matches
from causal_sam_llm.errors import CausalSamError
from causal_sam_llm.eval_sessions.overlay import busiest_slice, write_overlay
from causal_sam_llm.eval_sessions.session_file import Expectation, read_session
from causal_sam_llm.paths import claim_folder, numbered
from causal_sam_llm.segmentation.checkpoint_io import checkpoint_path
from causal_sam_llm.segmentation.clinician import choose_intervention
from causal_sam_llm.segmentation.clinician_words import say
from causal_sam_llm.tools.workbench import Workbench


class SimulationError(CausalSamError, ValueError):
    """Simulated clinician turns were asked for where they cannot be made."""


@dataclass
class TurnReport:
    session: str
    index: int
    text: str
    call: dict
    reply: str
    ok: bool
    timings_ms: dict[str, float]
    dice_before: float
    dice_after: float
    hd95_before: float
    hd95_after: float
    overlay: str | None
    simulated: bool = False
    failures: list[str] = field(default_factory=list)
    organ: str | None = None  # the organ a correction names: its own Dice is reported beside the mean
    organ_dice_before: float = math.nan
    organ_dice_after: float = math.nan


def failed_expectations(expect: Expectation | None, turn: Turn, dice_after: float) -> list[str]:
    if expect is None:
        return []
    failures = []
    wanted = {"tool": expect.tool, **expect.args} if expect.tool is not None else dict(expect.args)
    if wanted and not matches(turn.call, wanted):  # arguments are checked with or without a tool named
        failures.append(f"expected {expect.tool or 'a call'} {expect.args}, got {turn.call.tool} {turn.call.args}")
    if turn.ok != expect.ok:
        failures.append(f"expected the tool to {'succeed' if expect.ok else 'fail'}: {turn.reply}")
    if expect.dice_at_least is not None and not dice_after >= expect.dice_at_least:
        failures.append(f"mean Dice {dice_after:.1f} % < {expect.dice_at_least:g} %")
    return failures


def fresh_session_folder(out: Path) -> Path:
    """Every replay starts a new session: an earlier run's session in the same report folder is kept, not resumed
    (its conversation would reach the LLM's prompt and change what this run parses)."""
    return claim_folder(out, numbered("session"))


class SessionReplayer:
    """Replays sessions, sharing one loaded LLM between sessions whose models segment the same organs."""

    def __init__(self, report_dir: Path, llm: Strategy = "llm", llm_model: Path | None = None) -> None:
        self.report_dir, self.llm, self.llm_model = report_dir, llm, llm_model
        self._parsers: dict[tuple[str, ...], CommandParser] = {}

    def replay(self, path: Path, simulate: int = 0) -> list[TurnReport]:
        session = read_session(path)
        out = self.report_dir / path.stem
        checkpoint = checkpoint_path(session.checkpoint)
        assistant = Assistant(fresh_session_folder(out), checkpoint, self.llm, self.llm_model)
        key = tuple(assistant.bench.classes)
        if key in self._parsers:
            assistant.parser = self._parsers[key]
        self._parsers[key] = assistant.parser
        assistant.parser.prepare(progress=True)  # before the turns: their parse times are the commands' own
        opened = Expectation(tool="load_study")  # the session's premise: a study that cannot be opened fails it
        reports = [self._record(path.stem, 0, assistant, lambda: assistant.load(session.study, session.labels), opened)]
        if reports[0].failures:
            return reports  # every turn after it would only say that no study is loaded
        if simulate and (assistant.bench.case is None or not assistant.bench.case.has_labels):
            raise SimulationError(
                f"{path}: --simulate needs a study with reference labels; {session.study} has none "
                "(refused before any scripted turn ran)."
            )
        for index, scripted in enumerate(session.turns, start=1):
            reports.append(
                self._record(path.stem, index, assistant, lambda t=scripted.say: assistant.ask(t), scripted.expect)
            )
        reports += self._simulated_turns(path.stem, assistant, simulate, start=len(reports))
        return reports

    def _simulated_turns(self, name: str, assistant: Assistant, count: int, start: int) -> list[TurnReport]:
        reports, rng = [], np.random.default_rng(0)
        bench = assistant.bench
        reference = bench.reference() if count else None  # replay() made sure there is one
        if count and (bench.history is None or bench.history.current is None):
            reports.append(self._record(name, start, assistant, lambda: assistant.ask("segment everything"), None))
        wanted = None
        for _ in range(count):
            case = bench.require_case()
            exclusive = case.label_set.kind == "exclusive"
            wanted = choose_intervention(
                bench.masks(), reference, bench.classes, case.axial_spacing_mm(), wanted, exclusive
            )
            if wanted is None:
                break
            text = say(wanted, rng)
            report = self._record(name, start + len(reports), assistant, lambda t=text: assistant.ask(t), None)
            report.simulated = True
            reports.append(report)
        return reports

    def _record(self, name: str, index: int, assistant: Assistant, act, expect: Expectation | None) -> TurnReport:
        bench = assistant.bench
        dice_before, hd95_before = bench.mean_scores() if bench.case is not None else (math.nan, math.nan)
        scores_before = _organ_dice_by_name(bench)
        turn = act()
        dice_after, hd95_after = bench.mean_scores() if bench.case is not None else (math.nan, math.nan)
        corrected = turn.call.args.get("organ") if turn.call.tool == "intervene_decoder" else None
        corrected = corrected if corrected in scores_before else None
        overlay = None
        if bench.history is not None and bench.history.current is not None:
            masks = bench.masks()
            organ = turn.call.args.get("organ")
            organ_index = bench.classes.index(organ) if organ in bench.classes else None
            slice_index = busiest_slice(masks, organ_index)
            path = self.report_dir / name / f"turn-{index:02d}.png"
            image = bench.axial_image()
            write_overlay(image, masks, bench.classes, slice_index, f"{name} turn {index}: {turn.call.tool}", path)
            overlay = str(path.relative_to(self.report_dir))
        return TurnReport(
            session=name,
            index=index,
            text=turn.text,
            call=turn.call.model_dump(mode="json"),
            reply=turn.reply,
            ok=turn.ok,
            timings_ms={k: round(v, 1) for k, v in turn.timings_ms.items()},
            dice_before=dice_before,
            dice_after=dice_after,
            hd95_before=hd95_before,
            hd95_after=hd95_after,
            overlay=overlay,
            failures=failed_expectations(expect, turn, dice_after),
            organ=corrected,
            organ_dice_before=scores_before[corrected] if corrected else math.nan,
            organ_dice_after=bench.organ_dice(corrected) if corrected else math.nan,
        )


def _organ_dice_by_name(bench: Workbench) -> dict[str, float]:
    """Each organ's Dice % now, where there is a reference to score against (empty otherwise)."""
    if bench.case is None or bench.reference() is None or bench.history is None or bench.history.current is None:
        return {}
    return {organ: bench.organ_dice(organ) for organ in bench.classes}


def _json_number(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else value


def _number(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.1f}"


def write_report(reports: list[TurnReport], report_dir: Path, command: str) -> tuple[Path, Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = report_dir / "report.json", report_dir / "report.md"
    # a score a turn has not (no study or no labels yet) is null, not NaN: NaN is no JSON and strict readers refuse it
    records = [{k: _json_number(v) for k, v in asdict(r).items()} for r in reports]
    json_path.write_text(json.dumps(records, indent=1, default=str, allow_nan=False))
    failed = sum(bool(r.failures) for r in reports)
    lines = [f"# Replay report\n\nCommand: `{command}`\n\n{len(reports)} turns, {failed} with failed expectations.\n"]
    for session in dict.fromkeys(r.session for r in reports):
        lines += [
            f"\n## {session}\n",
            "| # | clinician | call | parse ms | tool ms | mean Dice % before → after | corrected organ's Dice % "
            "before → after | mean HD95 mm before → after | check |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in (r for r in reports if r.session == session):
            call = json.dumps(r.call).replace("|", "\\|")
            check = "FAIL: " + "; ".join(r.failures) if r.failures else "ok"
            marker = "*" if r.simulated else ""
            index = f"[{r.index}]({r.overlay})" if r.overlay else str(r.index)  # the turn's overlay PNG
            lines.append(
                f"| {index}{marker} | {r.text} | `{call}` | {_number(r.timings_ms.get('parse_ms'))} "
                f"| {_number(r.timings_ms.get('tool_ms'))} | {_number(r.dice_before)} → {_number(r.dice_after)} "
                f"| {_organ_change(r)} | {_number(r.hd95_before)} → {_number(r.hd95_after)} | {check} |"
            )
    simulated = "\n\n`*` spoken by the simulated clinician." if any(r.simulated for r in reports) else ""
    md_path.write_text("\n".join(lines) + simulated + "\n")
    return md_path, json_path


def _organ_change(report: TurnReport) -> str:
    """ "liver 82.6 → 78.2" for a correction scored against a reference; "—" for any other turn."""
    if report.organ is None or math.isnan(report.organ_dice_before):
        return "—"
    return f"{report.organ.replace('_', ' ')} {_number(report.organ_dice_before)} → {_number(report.organ_dice_after)}"
