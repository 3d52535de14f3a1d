"""`causal-sam-llm demo`: the README's main job. The frozen encoder and its cache on a real CT slice, then a short
correction session with the real LLM agent: the shipped LAD checkpoint (trained on CT only) segments an MR case of
the built-in benchmark, a simulated clinician types plain-language corrections, the LLM turns each into a validated
tool call, TCI re-decodes, and the Dice against the reference is printed before and after each turn."""

import argparse

import numpy as np

from causal_sam_llm.agent.assistant import Assistant, Turn
from causal_sam_llm.commands import embed, info, summary
from causal_sam_llm.commands.common import add_cache_arguments, add_encoder_arguments, console, non_negative_int
from causal_sam_llm.commands.parse import add_llm_arguments
from causal_sam_llm.datasets.benchmark.make import MANIFEST, make_benchmark
from causal_sam_llm.datasets.protocol import default_benchmark_dir
from causal_sam_llm.errors import CausalSamError
from causal_sam_llm.segmentation.clinician import choose_intervention
from causal_sam_llm.segmentation.clinician_words import say

DEMO_CASE = "benchmark:mr_t2-0011"


class DemoError(CausalSamError, ValueError):
    """The demo cannot run as asked."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help=summary("demo"),
        description="--encoder, --checkpoint, --device and --cache-dir choose the encoder of the first part (a real CT "
        "slice embedded twice); the correction session uses the shipped CT-trained checkpoint and its encoder.",
    )
    add_encoder_arguments(parser)
    add_cache_arguments(parser)
    add_llm_arguments(parser)
    parser.add_argument("--case", default=DEMO_CASE, help="a study with reference labels: benchmark:CASE_ID or a path")
    parser.add_argument("--labels", default=None, help="the reference label NIfTI of a --case given as a NIfTI path")
    parser.add_argument("--corrections", type=non_negative_int, default=3, help="simulated clinician's corrections")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    console.rule("encoder")
    info.run(argparse.Namespace(**vars(args), shipped=False))
    console.rule("embedding a real abdominal CT slice twice (second pass: from the cache)")
    embed.run(argparse.Namespace(**vars(args), dicom=None, sample="abdomen_ct", window="abdomen", repeat=2))
    console.rule("a CT-trained segmenter on an MR case, corrected in plain language through the LLM agent")
    correction_session(args)
    console.print(
        "\nNext: `causal-sam-llm chat` (`make chat` in the repository) opens the same agent in a terminal chat; "
        "`causal-sam-llm --help` lists every command."
    )
    return 0


def _show(turn: Turn) -> None:
    console.print(f"[bold cyan]clinician:[/bold cyan] {turn.text}")
    console.print(f"  call: {turn.call.model_dump_json()}", markup=False, style="dim")
    timing = ", ".join(f"{k} {v:.0f}" for k, v in turn.timings_ms.items())
    console.print(f"[bold green]assistant:[/bold green] {turn.reply} [dim]({timing})[/dim]")


def correction_session(args: argparse.Namespace) -> None:
    if not (default_benchmark_dir() / MANIFEST).is_file():
        console.print(f"building the built-in benchmark in {default_benchmark_dir()} (once, about 30 s)")
        make_benchmark(default_benchmark_dir())
    console.print("loading the segmenter and the LLM …")
    assistant = Assistant(llm=args.llm, llm_model=args.llm_model)
    assistant.parser.prepare(progress=True)  # its system prompt: evaluated on the first run (~1 min), then read back
    console.print(f"session folder: {assistant.session_dir}")
    loaded = assistant.load(args.case, args.labels)
    _show(loaded)
    if not loaded.ok:  # nothing to segment: the turns below would each say so
        raise DemoError(f"could not load {args.case}: {loaded.reply}")
    if args.corrections and not assistant.bench.require_case().has_labels:  # said before segmenting, not after
        raise DemoError(
            f"{args.case} has no reference labels, so the simulated clinician cannot correct it: give them with "
            "--labels, or --corrections 0."
        )
    for text in ("segment everything", "what's the dice for every organ?"):
        _show(assistant.ask(text))
    rng = np.random.default_rng(0)
    bench = assistant.bench
    reference, spacing = bench.reference(), bench.require_case().axial_spacing_mm()
    wanted = None
    for _ in range(args.corrections):
        before = bench.mean_dice()
        exclusive = bench.require_case().label_set.kind == "exclusive"
        wanted = choose_intervention(bench.masks(), reference, bench.classes, spacing, wanted, exclusive)
        if wanted is None:
            break
        turn = assistant.ask(say(wanted, rng))
        _show(turn)
        console.print(
            f"  mean Dice {before:.1f} → {bench.mean_dice():.1f} %  (meant: {wanted.model_dump_json()})", markup=False
        )
    _show(assistant.ask("export the masks"))
