"""Encoder throughput, cold (empty cache: the encoder runs) vs cached (read from disk), for the shipped encoders, in
fp32 and (where the CPU has native bf16) bf16.

Run: `python -m causal_sam_llm.bench.encoder [--slices N] [--out bench/results/encoder.md]`
The ratio is measured in one run, on the same slices, so it holds whatever the machine.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.datasets.dicom_slice import read_dicom_slice
from causal_sam_llm.datasets.sample_images import sample_path
from causal_sam_llm.heap import keep_freed_memory
from causal_sam_llm.segmentation.backbone import native_bf16
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.encoder_registry import build_backbone


def _slices(count: int) -> np.ndarray:
    """Distinct slices from the real CT: small shifts so that every slice is a new cache key."""
    ct = read_dicom_slice(sample_path("abdomen_ct")).pixels
    return np.stack([np.roll(ct, shift=3 * i, axis=1) for i in range(count)])


def _slices_per_second(embedder: SliceEmbedder, volume: np.ndarray) -> float:
    start = time.perf_counter()
    embedder.embed(volume, "CT", progress=True)
    return len(volume) / (time.perf_counter() - start)


def measure(encoder: str, precision: str, volume: np.ndarray) -> list[str]:
    backbone = build_backbone(encoder, device="cpu", precision=precision)
    with tempfile.TemporaryDirectory() as folder:
        embedder = SliceEmbedder(backbone, EmbeddingCache(Path(folder)))
        cold = _slices_per_second(embedder, volume)
        calls = embedder.encoder_calls
        cached = _slices_per_second(embedder, volume)
        assert embedder.encoder_calls == calls, "the cached pass must not call the encoder"
    return [encoder, precision, str(len(volume)), f"{cold:.2f}", f"{cached:.1f}", f"{cached / cold:.0f}×"]


def _encoder_seconds(forward, images: torch.Tensor) -> float:
    """Seconds per slice of `forward` over `images` one at a time, after one warm-up call."""
    forward(images[:1])
    start = time.perf_counter()
    for index in range(len(images)):
        forward(images[index : index + 1])
    return (time.perf_counter() - start) / len(images)


def compare_bf16_paths(volume: np.ndarray) -> str:
    """The bf16 encoder as shipped (batch norms folded, weights in bf16) against the earlier way (fp32 weights under
    autocast), encoder forward only, same slices, alternating twice so that drift of the machine hits both."""
    backbone = build_backbone("litemedsam", device="cpu", precision="bf16")
    size = backbone.spec.input_size
    images = torch.nn.functional.interpolate(
        torch.from_numpy(volume[:, None].astype(np.float32) / 4096).repeat(1, 3, 1, 1), size=(size, size)
    ).contiguous(memory_format=torch.channels_last)

    def autocast(x: torch.Tensor) -> torch.Tensor:
        normalized = ((x - backbone.pixel_mean) / backbone.pixel_std).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16):
            return backbone.image_encoder(normalized).float()

    times = {"fp32 weights under autocast (before)": [], "BN folded, bf16 weights (shipped)": []}
    for _ in range(2):
        times["fp32 weights under autocast (before)"].append(_encoder_seconds(autocast, images))
        times["BN folded, bf16 weights (shipped)"].append(_encoder_seconds(backbone.encode, images))
    before = float(np.median(times["fp32 weights under autocast (before)"]))
    rows = [
        ["litemedsam", path, f"{1 / float(np.median(t)):.2f}", f"{before / float(np.median(t)):.2f}×"]
        for path, t in times.items()
    ]
    return markdown_table(["encoder", "bf16 path", "slices/s (encoder only)", "vs before"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--encoders", nargs="+", default=["litemedsam", "mobilesam"])
    parser.add_argument("--out", type=Path, default=Path("bench/results/encoder.md"))
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the causal-sam-llm command runs (causal_sam_llm/heap.py)
    volume = _slices(args.slices)
    precisions = ["fp32", "bf16"] if native_bf16("cpu") else ["fp32"]
    rows = [measure(name, precision, volume) for name in args.encoders for precision in precisions]
    table = markdown_table(["encoder", "precision", "slices", "cold slices/s", "cached slices/s", "cached/cold"], rows)
    if len(precisions) == 1:
        table += "\n\nNo native bf16 on this CPU, so bf16 (emulated, slower) is not measured."
    else:
        table += "\n\nThe two bf16 paths, side by side:\n\n" + compare_bf16_paths(volume)
    write_section(args.out, "Encoder: cold vs cached", command_line("causal_sam_llm.bench.encoder", argv), table)
    print(args.out.read_text())


if __name__ == "__main__":
    main()
