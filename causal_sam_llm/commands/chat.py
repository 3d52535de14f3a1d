"""`causal-sam-llm chat [STUDY]`: the Textual terminal chat over the agent (`--session DIR` resumes a session)."""

import argparse

from causal_sam_llm.chat.graphics import GRAPHICS_MODES
from causal_sam_llm.commands import summary
from causal_sam_llm.commands.cli_arguments import folder_path
from causal_sam_llm.commands.parse import add_llm_arguments


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chat", help=summary("chat"))
    parser.add_argument("study", nargs="?", default=None, help="study to open (path, benchmark:<id>, sample:<name>)")
    parser.add_argument("--labels", default=None, help="the study's reference label NIfTI (Dice and HD95 against it)")
    parser.add_argument("--session", type=folder_path, default=None, help="session folder (an existing one resumes)")
    parser.add_argument(
        "--segmenter",
        default=None,
        help="trained checkpoint: a path, or a shipped one as PROTOCOL/METHOD, e.g. brats_cross_sequence/lad for "
        "brain tumours (default: ct_to_mr/lad, abdominal organs)",
    )
    parser.add_argument(
        "--graphics",
        choices=GRAPHICS_MODES,
        default="auto",
        help="slice picture: auto asks the terminal (Sixel / kitty graphics where supported, else half blocks)",
    )
    add_llm_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from causal_sam_llm.agent.assistant import Assistant
    from causal_sam_llm.chat.app import ChatApp
    from causal_sam_llm.chat.graphics import resolve_graphics
    from causal_sam_llm.segmentation.checkpoint_io import checkpoint_path

    graphics = resolve_graphics(args.graphics)  # before Textual owns the terminal
    assistant = Assistant(args.session, checkpoint_path(args.segmenter), args.llm, args.llm_model)
    try:
        assistant.parser.prepare(
            progress=True
        )  # before Textual owns the terminal: the first command is answered at once
    except BaseException:  # a model that fails to load, or Ctrl-C while it loads: no empty session is left behind
        assistant.discard_if_unused()
        raise
    ChatApp(assistant, args.study, graphics, args.labels).run()
    return 0
