"""`causal-sam-llm demo`: the README's main job. Grows with each feature; now: info, then a cached embedding pass."""

import argparse

from causal_sam_llm.commands import embed, info
from causal_sam_llm.commands.common import add_cache_arguments, add_encoder_arguments, console


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the demo")
    add_encoder_arguments(parser)
    add_cache_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    console.rule("encoder")
    info.run(args)
    console.rule("embedding a real abdominal CT slice twice (second pass: from the cache)")
    embed_args = argparse.Namespace(**vars(args), dicom=None, sample="abdomen_ct", window="abdomen", repeat=2)
    return embed.run(embed_args)
