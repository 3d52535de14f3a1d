"""Shared pieces of benchmark reports: the machine description and a markdown table writer."""

import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from causal_sam_llm.heap import freed_memory_kept


def machine_line() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch threads "
        f"{torch.get_num_threads()}, {gpu}, Python {sys.version.split()[0]}, torch {torch.__version__}"
        + (", freed memory kept (as the causal-sam-llm command runs)" if freed_memory_kept() else "")
    )


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def command_line(module: str, argv: list[str] | None) -> str:
    """The command a bench was run with, its arguments as given but `--out` (a report written with other command sets
    or settings must say so, not show the default command; where it was written is where it is read)."""
    arguments, shown = list(sys.argv[1:] if argv is None else argv), []
    while arguments:
        argument = arguments.pop(0)
        if argument == "--out":
            arguments = arguments[1:]
        elif not argument.startswith("--out="):
            shown.append(shlex.quote(argument))
    return " ".join(["python -m", module, *shown])


def write_section(path: Path, title: str, command: str, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    run = time.strftime("%Y-%m-%d %H:%M %Z")  # results.md joins parts run at different times: say when
    path.write_text(f"## {title}\n\nMachine: {machine_line()}\n\nRun: {run}\n\nCommand: `{command}`\n\n{body}\n")
