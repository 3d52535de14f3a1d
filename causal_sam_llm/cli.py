"""The `causal-sam-llm` command: one subcommand per module in `causal_sam_llm.commands`."""

import argparse
import sys

from causal_sam_llm import __version__
from causal_sam_llm.commands import bench, cache, chat, data, demo, embed, evaluate, info, parse, replay, tci, train
from causal_sam_llm.errors import CausalSamError

SUBCOMMANDS = (info, cache, embed, data, train, evaluate, tci, parse, replay, chat, bench, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="causal-sam-llm", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CausalSamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
