"""`causal-sam-llm replay FILES... --report DIR`: run scripted correction sessions through the real agent and
segmenter; writes report.md, report.json and an overlay PNG per turn; exits 1 when an expectation fails."""

import argparse
import shlex
import sys
from pathlib import Path

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.common import console, non_negative_int
from causal_sam_llm.commands.parse import add_llm_arguments
from causal_sam_llm.eval_sessions.replay import SessionReplayer, write_report
from causal_sam_llm.eval_sessions.session_file import read_session


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("replay", help=summary("replay"))
    parser.add_argument("files", nargs="+", type=Path, help="session YAML files")
    parser.add_argument("--report", type=Path, default=Path("out/replay"), help="report folder")
    parser.add_argument(
        "--simulate", type=non_negative_int, default=0, help="then N turns spoken by the simulated clinician"
    )
    add_llm_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for path in args.files:
        read_session(path)  # every file is checked before any work starts
    replayer = SessionReplayer(args.report, args.llm, args.llm_model)
    reports = []
    for path in args.files:
        console.rule(str(path))
        for report in replayer.replay(path, args.simulate):
            # "refused": the tool did not run and nothing expected otherwise (a turn expected to be refused is ok)
            mark = "[green]ok[/green]" if report.ok else "[yellow]refused[/yellow]"
            mark = "[red]FAIL[/red]" if report.failures else mark
            console.print(
                f"{mark} {report.index}: {report.text!r} → {report.call['tool']} ({report.reply})", highlight=False
            )
            for failure in report.failures:
                console.print(f"    [red]{failure}[/red]", highlight=False)
            reports.append(report)
    command = "causal-sam-llm " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    markdown, _ = write_report(reports, args.report, command)
    failed = sum(bool(r.failures) for r in reports)
    console.print(f"{len(reports)} turns, {failed} failed expectations; report: {markdown}")
    return 1 if failed else 0
