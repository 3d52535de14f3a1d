"""`causal-sam-llm cache info|clear`: inspect or empty the embedding cache (`info` also names the LLM's stored system
prompts, agent/prompt_state.py: at most four files, pruned by themselves)."""

import argparse

from causal_sam_llm.commands import summary
from causal_sam_llm.commands.common import add_cache_arguments, console, open_cache
from causal_sam_llm.paths import embedding_cache_dir, prompt_state_dir


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cache", help=summary("cache"))
    parser.add_argument(
        "action", choices=["info", "clear"], help="info: where it is, entries and size; clear: empty it"
    )
    add_cache_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "info":
        _prompt_state_info()
    folder = args.cache_dir or embedding_cache_dir()
    if not folder.is_dir():  # info and clear only look: nothing is created
        console.print(f"folder:  {folder} (none yet: nothing embedded there)")
        return 0
    cache = open_cache(args)
    if args.action == "clear":
        console.print(f"removed {cache.clear()} embeddings from {cache.root}")
        return 0
    size = cache.total_bytes()
    console.print(f"folder:  {cache.root}")
    console.print(f"entries: {len(cache.entries())}")
    console.print(f"size:    {size / 1024**2:.1f} MiB of {cache.max_bytes / 1024**3:.1f} GiB limit")
    return 0


def _prompt_state_info() -> None:
    folder = prompt_state_dir()
    stored = list(folder.glob("*.npz")) if folder.is_dir() else []
    size = sum(p.stat().st_size for p in stored) / 1024**2
    console.print(f"LLM system prompts stored: {len(stored)}, {size:.0f} MiB")
    console.print(f"  in {folder}")
