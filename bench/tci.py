"""TCI correction speed: one learned correction re-decoded from cached decoder features vs re-segmenting the same
slices from pixels (encoder + decoder), on a 100-slice volume, measured side by side in one run. The segmenter runs on
the GPU when one is present (the report names it), so the re-segment row is also the GPU's first segmentation.

Run: `python -m causal_sam_llm.bench.tci --checkpoint trained/ct_to_mr/lad.pt [--slices 100] [--device cpu]`
"""

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.bench.tci_settings import setting_of
from causal_sam_llm.bench.timing import clock, device_name, timed, timed_in_turn
from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.heap import keep_freed_memory
from causal_sam_llm.segmentation.backbone import PRECISIONS
from causal_sam_llm.segmentation.box_evidence import box_logits, keep_for_corrections, organ_boxes
from causal_sam_llm.segmentation.checkpoint_io import load_generator, load_segmenter
from causal_sam_llm.segmentation.correction_grid import pooled, pooled_image, pooling_factor
from causal_sam_llm.segmentation.decoded_volume import decode_volume, organ_probabilities
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.encoder_registry import default_device
from causal_sam_llm.segmentation.inference import masks_from_probabilities
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator
from causal_sam_llm.segmentation.tci_apply import Evidence, apply_learned, correct
from causal_sam_llm.tools.mask_history import PATCH_CHAIN, MaskHistory, npy_bytes, write_atomically

NO_RANKER = ", fixed sum: no learned ranker, as before"
RANKER_FP32 = ", learned ranker in fp32, as before"


def benchmark_volume(slices: int, size: int = 0):
    """A real benchmark MR volume, its slices repeated to the requested depth; with `size`, resampled in-plane to
    size × size (bilinear) as a clinical 512² study would be. Returns the case, the stack and its spacing."""
    case = load_protocol("ct_to_mr").cases("test")["MR-T2SPIR"][0]
    stack = case.axial_image()
    stack = np.concatenate([stack] * (slices // len(stack) + 1))[:slices]
    spacing = case.axial_spacing_mm()
    if not size:
        return case, stack, spacing
    resized = F.interpolate(torch.from_numpy(stack)[:, None], size=(size, size), mode="bilinear", align_corners=False)
    scale = (stack.shape[1] / size, stack.shape[2] / size)
    return case, resized[:, 0].numpy(), (spacing[0], spacing[1] * scale[0], spacing[2] * scale[1])


def _version_rows(probabilities: np.ndarray, correct) -> list[list[str]]:
    """Writing a correction's mask version as what changed from its parent (the shipped way, mask_patch.py) and in
    full (as before), side by side; each timed once on a fresh history holding the segmentation, the correction
    (`correct`: probabilities → corrected ones) made on the version as kept, as the tool makes it. Also the version
    whose parent's chain is PATCH_CHAIN patches long (every ninth correction), written as what changed from the
    full version the chain starts from; before, it was written in full (the second row's cost)."""
    rows = []
    for way in ("patch", "full", "deep"):
        with tempfile.TemporaryDirectory() as folder:
            history = MaskHistory(Path(folder))
            history.add(probabilities.copy(), "segment")
            for _ in range(PATCH_CHAIN if way == "deep" else 0):  # a parent whose chain is as long as one may be
                history.add(correct(history.probabilities()), "correction")
            child = correct(history.probabilities())
            start = time.perf_counter()
            if way == "full":  # the whole float16 array, as every version was stored before
                version_file = Path(folder) / "full.npy"
                write_atomically(version_file, npy_bytes(child.astype(np.float16)))
            else:
                version = history.add(child, "correction")
                version_file = Path(folder) / version.file
            seconds = time.perf_counter() - start
            size = version_file.stat().st_size
        what = {
            "patch": "the correction's mask version written, patch (shipped)",
            "full": "the correction's mask version written, full, as before",
            "deep": f"the same after {PATCH_CHAIN} patches (one from the full version; in full before)",
        }[way]
        rows.append([f"{what}: {size / 1e6:.1f} MB", f"{seconds:.2f} s", "—"])
    return rows


def _decode(segmenter, embedded, precision: str | None = None):
    """Decoder features and organ probabilities for every slice; `precision` "fp32" runs the decoder as before bf16
    autocast (decode_features uses autocast only for a bf16 backbone)."""
    kept = segmenter.backbone.precision
    segmenter.backbone.precision = precision or kept
    try:
        decoded = decode_volume(segmenter, embedded)
        return decoded, organ_probabilities(segmenter, decoded, list(range(len(segmenter.classes))))
    finally:
        segmenter.backbone.precision = kept


def _decoder_seconds(segmenter, embedded, device: str, repeats: int = 3) -> tuple[float, float]:
    """Median seconds of the decoder as shipped and in fp32, the two runs alternating so neither is always first."""
    shipped, fp32 = [], []
    for _ in range(repeats):
        for precision, times in ((None, shipped), ("fp32", fp32)):
            start = clock(device)
            _decode(segmenter, embedded, precision)
            times.append(clock(device) - start)
    return float(np.median(shipped)), float(np.median(fp32))


def _box_evidence_row(segmenter, decoded, masks, spacing, device) -> list[str]:
    """The pass that the agent's `segment` starts in the background (segmentation/box_prefetch.py), timed here in the
    foreground: every organ's box evidence on the slices within one command's reach, decoded once."""
    decoded.box_logits.clear()
    organs = list(range(len(segmenter.classes)))
    start = clock(device)
    count = keep_for_corrections(segmenter.backbone, decoded, masks, organs, spacing)
    seconds = clock(device) - start
    return [
        f"box evidence, decoded in the background after segmentation ({len(organs)} organs, {count} slice decodes)",
        f"{seconds:.1f} s",
        "—",
    ]


def _box_batch_rows(segmenter, decoded, masks, spacing, device) -> list[list[str]]:
    """The liver's box pass at the shipped 2 slices per batch and at 8, side by side (box_evidence.box_logits)."""
    liver = masks[:, segmenter.classes.index("liver")]
    slices = np.nonzero(liver.any(axis=(1, 2)))[0]
    if slices.size == 0:  # a few-slice run (--slices) may hold no liver
        return []
    boxes = organ_boxes(liver, slices, spacing)
    rows = []
    for batch in (2, 8):
        seconds = timed(
            lambda b=batch: box_logits(segmenter.backbone, decoded.embeddings, decoded.letterbox, slices, boxes, b),
            device,
            repeats=3,
        )
        shipped = " (shipped)" if batch == 2 else ""
        rows.append(
            [
                f"box pass over the liver's {len(slices)} slices, {batch} per batch{shipped}",
                f"{seconds:.1f} s ({1000 * seconds / len(slices):.0f} ms per slice)",
                "—",
            ]
        )
    return rows


def _first_correction_row(evidence, decoded, probabilities, spacing, images, resegment, device) -> list[str]:
    """The liver's first correction, a single call, once the background pass has ended: its box evidence is kept."""
    command = Intervention(organ="liver", action="expand", region="whole", strength=0.5)
    start = clock(device)
    correct(evidence, decoded, probabilities, command, spacing, *images)
    seconds = clock(device) - start
    return [
        "first correction of an organ (liver, expand whole; a single call after the background pass)",
        f"{seconds * 1000:.0f} ms",
        f"{resegment / seconds:.0f}×",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--size", type=int, default=0, help="resample the slices in-plane to SIZE² (e.g. 512)")
    parser.add_argument("--out", type=Path, help="default bench/results/tci.md (with --size N: tci_N.md)")
    parser.add_argument("--encoder-precision", choices=PRECISIONS, default="auto", help="auto: what the agent uses")
    parser.add_argument("--device", default=default_device(), help="default: the GPU when present, else the CPU")
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the causal-sam-llm command runs (causal_sam_llm/heap.py)
    args.out = args.out or Path(f"bench/results/tci{f'_{args.size}' if args.size else ''}.md")
    torch.set_grad_enabled(False)
    device = args.device
    segmenter, _ = load_segmenter(args.checkpoint, device, precision=args.encoder_precision)
    generator = load_generator(args.checkpoint, len(segmenter.classes))
    case, volume, spacing = benchmark_volume(args.slices, args.size)
    embedder = SliceEmbedder(segmenter.backbone)  # no cache: re-segmenting means running the encoder again
    start = clock(device)
    _decode(segmenter, embedder.embed(volume[:4], case.modality, "abdomen"))  # warm-up: one-off costs, timed apart
    warm_up_seconds = clock(device) - start
    start = clock(device)
    embedded = embedder.embed(volume, case.modality, "abdomen", progress=True)
    encode_seconds = clock(device) - start
    decode_seconds, fp32_decode_seconds = _decoder_seconds(segmenter, embedded, device)
    decoded, probabilities = _decode(segmenter, embedded)
    image = volume  # the repeated stack the probabilities belong to
    resegment = encode_seconds + decode_seconds
    rows = [
        ["re-segment (encoder + decoder)", f"{resegment:.1f} s", "1×"],
        ["decoder only (features cached once)", f"{decode_seconds:.2f} s", f"{resegment / decode_seconds:.0f}×"],
        ["decoder only, fp32 decoder (before bf16 autocast)", f"{fp32_decode_seconds:.2f} s", "—"],
        ["first call after loading (4 slices: one-off set-up)", f"{warm_up_seconds:.2f} s", "—"],
    ]
    masks = masks_from_probabilities(probabilities, case.label_set, segmenter.classes)  # as segmented
    rows.append(_box_evidence_row(segmenter, decoded, masks, spacing, device))
    rows.extend(_box_batch_rows(segmenter, decoded, masks, spacing, device))
    # as the tool corrects: a study finer than the decoder's grid has its image pooled once (Workbench.load), the
    # segmentation's probabilities pooled by `segment` and each later version's where its correction changed them
    # (tools/pooled_version.py)
    factor = pooling_factor(decoded.letterbox)
    kept_image = pooled_image(image, decoded.letterbox)
    images = (image, kept_image, pooled(probabilities, factor) if factor > 1 else None)
    evidence = Evidence(segmenter, generator, case.label_set)
    rows.append(_first_correction_row(evidence, decoded, probabilities, spacing, images, resegment, device))
    rows.extend(_correction_rows(evidence, decoded, probabilities, spacing, images, resegment, device))
    grown = Intervention(organ="liver", action="expand", region="whole", strength=0.5)
    rows.extend(
        _version_rows(
            probabilities,
            lambda kept: apply_learned(segmenter, generator, decoded, kept, grown, case.label_set, spacing, image),
        )
    )
    body = (
        f"{args.slices}-slice volume ({volume.shape[1]}×{volume.shape[2]}), {device_name(device)}, encoder in "
        f"{segmenter.backbone.precision}; after a 4-slice warm-up (its own row), so every other row is warm: the "
        "encoder pass once, the decoder rows the median of 3 runs alternating shipped and fp32, each correction row "
        "the median of 5 rounds that each call every correction row once in turn (the order rotated), after one "
        "untimed call of each (the first correction of an organ, its own row, is a single call; it "
        "finds the box evidence of the background pass, the row before it, kept). The re-segment row is also the first "
        "segmentation of a "
        f"{args.slices}-slice volume.\n\n"
    )
    write_section(
        args.out,
        "TCI correction vs re-segmentation"
        + (f" at {args.size}²" if args.size else "")
        + (" on the GPU" if device.startswith("cuda") else ""),
        command_line("causal_sam_llm.bench.tci", argv),
        body + markdown_table(["what", "time", "speed-up"], rows),
    )
    print(args.out.read_text())


def _correction_rows(evidence, decoded, probabilities, spacing, images, resegment, device) -> list[list[str]]:
    """The correction rows, timed in turn: the liver's grow, shrink and smooth and the left kidney's grow, each also in
    the settings of before (bench/tci_settings.py) where one applies, for its gain or cost side by side."""
    # a shrink also measures the band outside the organ (intensity evidence); the last row leaves the kept box
    # evidence out (`eval-tci --box-weight 0`), to show what adding it costs a correction once it is kept
    # a smooth has no amount to solve: its band re-decided from the same evidence (tci_apply)
    # the liver's grow and shrink also without keeping the other organs' masks, for what keeping them costs
    # the same grow computed over the whole volume, as before the correction window, for the window's gain; on a study
    # finer than the decoder's grid, the liver's grow also on the source's own pixels, for the pooled grid's gain
    # the grow also with its in-plane work on one core, as before slice_threads.py, and on a finer study with the
    # image, and the version, pooled again by each correction, as before the workbench kept them pooled
    # and with the logits read from the whole slices' features, as before a pooled study read only its window's
    # the liver's grow and shrink also ranked by the evidence's fixed sum, for what the learned ranker costs, and the
    # grow with the ranker's convolutions in fp32, for what running them in bf16 gives
    finer = pooling_factor(decoded.letterbox) > 1
    generator, (image, kept_image, _version) = evidence.generator, images
    corrections = (
        ("liver", "expand", 1.0, ""),
        ("liver", "expand", 1.0, ", in-plane work on one core, as before"),
        *((("liver", "expand", 1.0, ", at source resolution as before"),) if finer else ()),
        *((("liver", "expand", 1.0, ", image pooled by each correction, as before"),) if finer else ()),
        *((("liver", "expand", 1.0, ", version pooled by each correction, as before"),) if finer else ()),
        *((("liver", "expand", 1.0, ", whole slices' features read, as before"),) if finer else ()),
        ("liver", "shrink", 1.0, ""),
        ("liver", "expand", 1.0, ", other organs' masks not kept, as before"),
        ("liver", "shrink", 1.0, ", other organs' masks not kept, as before"),
        ("liver", "smooth", 1.0, ""),
        ("liver", "expand", 0.0, ", no box evidence"),
        *((("liver", "expand", 1.0, RANKER_FP32),) if generator.ranker is not None else ()),
        *((("liver", "expand", 1.0, NO_RANKER),) if generator.ranker is not None else ()),
        *((("liver", "shrink", 1.0, NO_RANKER),) if generator.ranker is not None else ()),
        ("left_kidney", "expand", 1.0, ""),
        ("left_kidney", "expand", 1.0, ", over the whole volume as before"),
    )
    calls = []
    for organ, action, box_weight, note in corrections:
        command = Intervention(organ=organ, action=action, region="whole", strength=0.5)
        weighed = replace(evidence, box_weight=box_weight)
        if note == NO_RANKER:
            weighed = replace(weighed, generator=_without_ranker(generator))
        kept = images
        if "image pooled by each" in note:
            kept = (image, None, images[2])
        elif "version pooled by each" in note:
            kept = (image, kept_image, None)
        calls.append((note, lambda c=command, e=weighed, i=kept: correct(e, decoded, probabilities, c, spacing, *i)))
    rows = []
    for (organ, action, _weight, note), correction in zip(
        corrections, timed_in_turn(calls, device, setting_of), strict=True
    ):
        rows.append(
            [
                f"one TCI correction ({organ.replace('_', ' ')}, {action} whole{note})",
                f"{correction * 1000:.0f} ms",
                f"{resegment / correction:.0f}×",
            ]
        )
    return rows


def _without_ranker(generator: InterventionFilmGenerator) -> InterventionFilmGenerator:
    """The same FiLM generator without its learned ranker: corrections ranked by the evidence's fixed sum."""
    plain = InterventionFilmGenerator(generator.organ.num_embeddings)
    plain.load_state_dict({k: v for k, v in generator.state_dict().items() if not k.startswith("ranker.")})
    return plain.eval()


if __name__ == "__main__":
    main()
