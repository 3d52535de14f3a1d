"""Argument parsing every subcommand shares: how its --help reads, and argument types that need nothing heavy. Only
argparse here: the top-level parser imports it, and `causal-sam-llm --help` must not pull in torch."""

import argparse
from pathlib import Path


class HelpWithDefaults(argparse.HelpFormatter):
    """Each option's help ends with its default, where it has one worth saying and the help does not say it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        unsaid = action.default in (None, False, [], argparse.SUPPRESS) or "default" in text
        if not text or unsaid or not (action.option_strings or action.nargs in ("?", "*")):
            return action.help
        return f"{text} (default: %(default)s)"


class CommandParser(argparse.ArgumentParser):
    """Every subcommand's parser (and theirs in turn): help with defaults."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpWithDefaults)
        super().__init__(*args, **kwargs)


def folder_path(text: str) -> Path:
    """argparse type: a folder to write into, which may not exist yet; an existing file is a usage error, said
    before any model loads."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; give a folder (it is created if missing)")
    return path


def file_path(text: str) -> Path:
    """argparse type: a file to write (its folder is created if missing); an existing folder is a usage error, said
    before the work whose results it would receive (an evaluation had run to its end, then failed to write)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name, e.g. {Path(text) / 'report.json'}")
    return path
