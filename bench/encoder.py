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

from causal_sam_llm.bench.report import markdown_table, write_section
from causal_sam_llm.datasets.dicom_slice import read_dicom_slice
from causal_sam_llm.datasets.sample_images import sample_path
from causal_sam_llm.segmentation.backbone import native_bf16
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.encoder_registry import build_backbone

COMMAND = "python -m causal_sam_llm.bench.encoder"


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--encoders", nargs="+", default=["litemedsam", "mobilesam"])
    parser.add_argument("--out", type=Path, default=Path("bench/results/encoder.md"))
    args = parser.parse_args(argv)
    volume = _slices(args.slices)
    precisions = ["fp32", "bf16"] if native_bf16("cpu") else ["fp32"]
    rows = [measure(name, precision, volume) for name in args.encoders for precision in precisions]
    table = markdown_table(["encoder", "precision", "slices", "cold slices/s", "cached slices/s", "cached/cold"], rows)
    if len(precisions) == 1:
        table += "\n\nNo native bf16 on this CPU, so bf16 (emulated, slower) is not measured."
    write_section(args.out, "Encoder: cold vs cached", f"{COMMAND} --slices {args.slices}", table)
    print(args.out.read_text())


if __name__ == "__main__":
    main()
