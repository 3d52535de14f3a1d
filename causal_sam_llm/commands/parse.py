"""`causal-sam-llm parse TEXT --json`: the validated tool call for one command, as one JSON object; `parse -` reads
one command per line from stdin and prints one object per line (the model loads once). Lines are parsed as
independent commands unless --conversation is given."""

import argparse
import json
import sys
from pathlib import Path

from rich.text import Text

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.command_parser import CommandParser
from causal_sam_llm.commands import summary
from causal_sam_llm.commands.common import console
from causal_sam_llm.segmentation.checkpoint_io import checkpoint_path, read_checkpoint
from causal_sam_llm.tools.workbench import default_segmenter_checkpoint


def add_llm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--llm", choices=["llm", "none"], default="llm", help="none: the keyword parser (no model)")
    parser.add_argument("--llm-model", type=Path, default=None, help="another GGUF chat model (default: Qwen 1.5B)")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("parse", help=summary("parse"))
    parser.add_argument("text", help="the command, or - to read one command per line from stdin")
    parser.add_argument("--json", action="store_true", help="print only the JSON call(s)")
    parser.add_argument("--conversation", action="store_true", help="stdin lines form one conversation ('it')")
    parser.add_argument(
        "--segmenter", default=None, help="checkpoint whose organs are allowed (a path or PROTOCOL/METHOD)"
    )
    add_llm_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    classes = read_checkpoint(checkpoint_path(args.segmenter) or default_segmenter_checkpoint())["classes"]
    parser = CommandParser(classes, args.llm, args.llm_model)
    parser.prepare(progress=True)
    lines = sys.stdin.read().splitlines() if args.text == "-" else [args.text]
    history: list[tuple[str, ParsedCall]] = []
    for line in lines:
        call = parser.parse(line, history if args.conversation else [])
        history.append((line, call))
        if args.json:
            print(json.dumps(call.model_dump(mode="json")), flush=True)
        else:
            # a Text, not markup: the clinician's words may hold brackets, and they are printed as typed
            console.print(Text.assemble((line, "bold"), f" → {call.model_dump_json()}"))
    return 0
