"""`causal-sam-llm demo`: the README's main job. Now: the encoder, a cached embedding of a real CT slice, then the
shipped LAD checkpoint segmenting an MR case of the built-in benchmark (trained on CT only) and a simulated
clinician's plain-language corrections applied by TCI, with Dice before and after each."""

import argparse
import time
from pathlib import Path

import numpy as np

from causal_sam_llm.commands import embed, info
from causal_sam_llm.commands.common import add_cache_arguments, add_encoder_arguments, console, open_cache
from causal_sam_llm.commands.tci import load_generator
from causal_sam_llm.datasets.benchmark.make import MANIFEST, make_benchmark
from causal_sam_llm.datasets.protocol import default_benchmark_dir, load_protocol
from causal_sam_llm.segmentation.checkpoint_io import load_segmenter
from causal_sam_llm.segmentation.clinician import choose_intervention, say
from causal_sam_llm.segmentation.decoded_volume import decode_volume, organ_probabilities
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.inference import embed_case, masks_from_probabilities
from causal_sam_llm.segmentation.metrics import dice_hd95
from causal_sam_llm.segmentation.tci_apply import apply_learned
from causal_sam_llm.segmentation.training_set import class_masks

SHIPPED = Path("checkpoints/ct_to_mr/lad.pt")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the demo")
    add_encoder_arguments(parser)
    add_cache_arguments(parser)
    parser.add_argument("--segmenter", type=Path, default=SHIPPED, help="trained checkpoint with a TCI response")
    parser.add_argument("--corrections", type=int, default=3)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    console.rule("encoder")
    info.run(args)
    console.rule("embedding a real abdominal CT slice twice (second pass: from the cache)")
    embed.run(argparse.Namespace(**vars(args), dicom=None, sample="abdomen_ct", window="abdomen", repeat=2))
    console.rule("CT-trained segmenter on an MR case, corrected in plain language (TCI)")
    _correction_session(args)
    console.print("\nNext: `.venv/bin/causal-sam-llm --help`; README.md lists training, evaluation and TCI commands.")
    return 0


def _dice_line(masks: np.ndarray, reference: np.ndarray, classes: list[str], spacing) -> tuple[str, float]:
    scores = [dice_hd95(masks[:, i], reference[:, i], spacing)[0] for i in range(len(classes))]
    text = ", ".join(f"{c} {100 * d:.0f}" for c, d in zip(classes, scores, strict=True) if d == d)
    return text, 100 * float(np.nanmean(scores))


def _correction_session(args: argparse.Namespace) -> None:
    benchmark = default_benchmark_dir()
    if not (benchmark / MANIFEST).is_file():
        console.print(f"building the built-in benchmark in {benchmark} (once, ~30 s)")
        make_benchmark(benchmark)
    segmenter, meta = load_segmenter(args.segmenter)
    generator = load_generator(args.segmenter, len(segmenter.classes))
    case = load_protocol("ct_to_mr").cases("test")["MR-T2SPIR"][0]
    console.print(
        f"checkpoint {args.segmenter}: {meta['method']} trained on {meta['protocol']} (CT only); "
        f"case {case.case_id} ({case.modality} {case.sequence}, {case.image.shape[2]} slices)"
    )
    embedder = SliceEmbedder(segmenter.backbone, open_cache(args))
    decoded = decode_volume(segmenter, embed_case(embedder, case, progress=True))
    probabilities = organ_probabilities(segmenter, decoded, list(range(len(segmenter.classes))))
    reference = class_masks(case, segmenter.classes)
    spacing = case.axial_spacing_mm()
    rng = np.random.default_rng(0)
    for turn in range(args.corrections + 1):
        masks = masks_from_probabilities(probabilities, case.label_set, segmenter.classes)
        line, mean = _dice_line(masks, reference, segmenter.classes, spacing)
        console.print(f"  Dice %: {line} (mean {mean:.1f})")
        if turn == args.corrections:
            break
        command = choose_intervention(masks, reference, segmenter.classes, spacing)
        if command is None:
            break
        console.print(f'[bold]clinician:[/bold] "{say(command, rng)}"')
        console.print(f"  → {command.model_dump_json()}")
        calls, start = embedder.encoder_calls, time.perf_counter()
        probabilities = apply_learned(segmenter, generator, decoded, probabilities, command, case.label_set, spacing)
        console.print(
            f"  re-decoded in {1000 * (time.perf_counter() - start):.0f} ms, "
            f"{embedder.encoder_calls - calls} encoder calls"
        )
