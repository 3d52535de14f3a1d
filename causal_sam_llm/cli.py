"""The `causal-sam-llm` command: one subcommand per module in `causal_sam_llm.commands`."""

import argparse
import sys
from importlib import import_module

from causal_sam_llm import __version__
from causal_sam_llm.commands import COMMANDS
from causal_sam_llm.commands.cli_arguments import CommandParser
from causal_sam_llm.errors import CausalSamError
from causal_sam_llm.heap import keep_freed_memory

DESCRIPTION = (
    "Segment abdominal and brain CT/MR with a frozen SAM-family encoder, and correct the masks in plain language "
    "through a local LLM. Start with `demo` (a scored correction session) or `chat STUDY`; `SUBCOMMAND --help` "
    "says more."
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand listed; only `command`'s module is imported to give its arguments (the
    others are names and summaries until asked for)."""
    parser = argparse.ArgumentParser(prog="causal-sam-llm", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)
    chosen = COMMANDS[command][0] if command in COMMANDS else None
    for name, (module, summary) in COMMANDS.items():
        if module != chosen:
            subparsers.add_parser(name, help=summary)
    if chosen is not None:
        import_module(f"causal_sam_llm.commands.{chosen}").add_parser(subparsers)
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The subcommand: the first word that is no option (the top level has only --help and --version)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(_command_in(words)).parse_args(words)
    args.words = list(words)  # what was asked, for the records a command keeps (train.json's command)
    keep_freed_memory()  # every command works on volume-sized arrays (causal_sam_llm/heap.py)
    try:
        return args.run(args)
    except (CausalSamError, OSError) as exc:  # OSError: a folder that is a file, a disk that is full, no permission
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
