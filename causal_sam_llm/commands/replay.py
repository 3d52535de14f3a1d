"""`causal-sam-llm replay FILES... --report DIR`: run scripted correction sessions through the real agent and
segmenter; writes report.md, report.json and an overlay PNG per turn; exits 1 when an expectation fails."""

import argparse
import shlex
import sys
from pathlib import Path

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.cli_arguments import folder_path
from causal_sam_llm.commands.common import console, non_negative_int
from causal_sam_llm.commands.parse import add_llm_arguments
from causal_sam_llm.errors import CheckpointError
from causal_sam_llm.eval_sessions.replay import SessionReplayer, SimulationError, TurnReport, write_report
from causal_sam_llm.eval_sessions.session_file import read_session
from causal_sam_llm.segmentation.checkpoint_io import checkpoint_path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("replay", help=summary("replay"))
    parser.add_argument("files", nargs="+", type=Path, help="session YAML files")
    parser.add_argument("--report", type=folder_path, default=Path("out/replay"), help="report folder")
    parser.add_argument(
        "--simulate", type=non_negative_int, default=0, help="then N turns spoken by the simulated clinician"
    )
    add_llm_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for path in args.files:  # every file and the checkpoint it names are checked before any work starts
        _check_checkpoint(read_session(path).checkpoint, path)
    replayer = SessionReplayer(args.report, args.llm, args.llm_model)
    reports, refused = [], []
    for path in args.files:
        console.rule(str(path))
        try:
            replayed = replayer.replay(path, args.simulate)
        except SimulationError as exc:  # this session cannot run as asked; the others still do, and are reported
            print(f"error: {exc}", file=sys.stderr)
            refused.append(path)
            continue
        for report in replayed:
            _print_turn(report)
        reports += replayed
    command = "causal-sam-llm " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    failed = sum(bool(r.failures) for r in reports)
    if reports:
        markdown, _ = write_report(reports, args.report, command)
        console.print(f"{len(reports)} turns, {failed} failed expectations; report: {markdown}")
    if refused:
        print(f"error: not replayed: {', '.join(map(str, refused))} (reasons above)", file=sys.stderr)
        return 2
    return 1 if failed else 0


def _check_checkpoint(name: str | None, session: Path) -> None:
    path = checkpoint_path(name)  # a shipped name that does not exist is refused here
    if path is not None and not path.is_file():
        raise CheckpointError(f"{session}: checkpoint not found: {path}.")


def _print_turn(report: TurnReport) -> None:
    # "refused": the tool did not run and nothing expected otherwise (a turn expected to be refused is ok)
    mark = "[green]ok[/green]" if report.ok else "[yellow]refused[/yellow]"
    mark = "[red]FAIL[/red]" if report.failures else mark
    console.print(f"{mark} {report.index}: {report.text!r} → {report.call['tool']} ({report.reply})", highlight=False)
    for failure in report.failures:
        console.print(f"    [red]{failure}[/red]", highlight=False)
