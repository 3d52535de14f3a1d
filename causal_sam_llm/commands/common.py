"""Arguments and objects several subcommands share."""

import argparse
from pathlib import Path

import torch
from rich.console import Console

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.label_check import check_reference_labels
from causal_sam_llm.datasets.protocol import Protocol, Split
from causal_sam_llm.errors import CheckpointError
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation.backbone import PRECISIONS
from causal_sam_llm.segmentation.checkpoint_io import checkpoint_path
from causal_sam_llm.segmentation.embedding_cache import DEFAULT_MAX_BYTES, EmbeddingCache
from causal_sam_llm.segmentation.encoder_registry import DEFAULT_ENCODER, encoder_names

console = Console()


def scored_checkpoint(text: str) -> Path:
    """argparse type for a checkpoint a command only reads: a file, or a shipped one by name as `info --shipped`,
    `--segmenter` and sessions name it (`ct_to_mr/lad`). Checked when the command line is read, not after the data
    are (a research-user trial: `eval --checkpoint ct_to_mr/lad` was "not found" after 8 s of loading)."""
    try:
        path = checkpoint_path(text)
    except CheckpointError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if path is None or not path.is_file():
        raise argparse.ArgumentTypeError(
            f"checkpoint not found: {text}. Give a checkpoint file, a shipped one by name (e.g. ct_to_mr/lad; "
            "`causal-sam-llm info --shipped` lists them), or train one with `causal-sam-llm train`."
        )
    return path


def positive_float(text: str) -> float:
    """argparse type: a number above 0 (a usage error naming the flag otherwise)."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def device_name(text: str) -> str:
    """argparse type: cpu, or cuda / cuda:N where this machine has a CUDA GPU (torch's own error is a traceback)."""
    if text == "cpu":
        return text
    if text != "cuda" and not (text.startswith("cuda:") and text[5:].isdigit()):
        raise argparse.ArgumentTypeError(f"cpu, cuda or cuda:N, got {text!r}")
    if not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text} asked for, but this machine has no usable CUDA GPU; use cpu")
    return text


def add_encoder_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help=f"one of: {', '.join(encoder_names())}")
    parser.add_argument("--checkpoint", type=Path, help="weights file (required for sam_vit_b and medsam_vit_b)")
    parser.add_argument("--device", type=device_name, default=None, help="cpu or cuda (default: cuda when available)")


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encoder-precision",
        choices=PRECISIONS,
        default="fp32",
        help="frozen encoder precision; auto = bf16 where the CPU has native bf16 (default: fp32)",
    )


def add_cache_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache folder")
    parser.add_argument(
        "--cache-max-gb", type=positive_float, default=DEFAULT_MAX_BYTES / 1024**3, help="cache size limit"
    )


def open_cache(args: argparse.Namespace) -> EmbeddingCache:
    return EmbeddingCache(args.cache_dir or embedding_cache_dir(), max_bytes=int(args.cache_max_gb * 1024**3))


def note_domains_left_on_benchmark(protocol: Protocol, splits: tuple[Split, ...], overrides: dict[str, str]) -> None:
    """When `--set` points some of a protocol's domains at the user's data, say which of those the run reads still
    come from the built-in benchmark (a real-data run that names two of five folders would mix in phantoms)."""
    left = protocol.left_on_benchmark(splits, overrides)
    if left:
        named = ", ".join(f"{domain} (--set {variable}=PATH)" for domain, variable in left)
        console.print(
            f"note: {protocol.name}: the built-in benchmark still supplies {named}; set every domain's folder to your "
            "data to leave the benchmark out (one folder may be named for several domains).",
            markup=False,
        )


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """`--set name=value` pairs → dict; a pair without '=' is an error that says so."""
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"error: --set expects NAME=VALUE, got {pair!r}")
        values[name] = value
    return values


def evaluation_domains(
    protocol: Protocol, split: Split, assignments: list[str], max_cases: int | None
) -> dict[str, list[Case]]:
    """The protocol's `split` domains with `--set` applied (saying which the built-in benchmark still supplies), each
    cut to its first `max_cases` cases when given."""
    overrides = parse_assignments(assignments)
    note_domains_left_on_benchmark(protocol, (split,), overrides)
    domains = protocol.cases(split, overrides)
    if max_cases is not None:
        domains = {domain: cases[:max_cases] for domain, cases in domains.items()}
    check_reference_labels(domains)
    return domains
