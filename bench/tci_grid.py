"""What the pooled grid (segmentation/correction_grid.py) costs in accuracy: ct_to_mr's MR test cases resampled
in-plane to a clinical 512² (image bilinear, labels nearest), segmented, then corrected by the simulated clinician
up to 3 times with the learned TCI — computed on the pooled grid as shipped and on the source's own pixels as before,
side by side in one run. Mean Dice / HD95 after each correction and where each correction went (eval-tci's tables).

Run: `python -m causal_sam_llm.bench.tci_grid --checkpoint trained/ct_to_mr/lad.pt [--cases 3] [--size 512]`
(about 20 minutes for 3 cases of each MR sequence on 2 CPU cores)
"""

import argparse
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import Progress

from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.bench.tci_settings import at_source_resolution
from causal_sam_llm.datasets.case import Case, Volume
from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation.checkpoint_io import load_generator, load_segmenter
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.tci_evaluation import correct_case, curves


def resampled(case: Case, size: int) -> Case:
    """The case with every axial plane resampled to size × size (RAS x, y are the plane), spacing scaled to match."""
    volume = case.volume
    planes = torch.from_numpy(np.moveaxis(volume.array.astype(np.float32), 2, 0))[:, None]
    image = F.interpolate(planes, size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    labels = torch.from_numpy(np.moveaxis(case.labels, 2, 0).astype(np.float32))[:, None]
    nearest = F.interpolate(labels, size=(size, size), mode="nearest-exact")[:, 0]
    scale = (volume.array.shape[0] / size, volume.array.shape[1] / size)
    affine = volume.affine.copy()
    affine[:3, 0] *= scale[0]
    affine[:3, 1] *= scale[1]
    spacing = (volume.spacing_mm[0] * scale[0], volume.spacing_mm[1] * scale[1], volume.spacing_mm[2])
    resized = Volume(np.moveaxis(image.numpy(), 0, 2), spacing, affine)
    unified = np.moveaxis(nearest.numpy(), 0, 2).astype(case.labels.dtype)
    return replace(
        case, case_id=f"{case.case_id}@{size}", _load_image=lambda: resized, _load_labels=lambda: (unified, unified)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--cases", type=int, default=3, help="cases of each MR sequence")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--out", type=Path, default=Path("bench/results/tci_grid.md"))
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    segmenter, _ = load_segmenter(args.checkpoint, "cpu", precision="auto")
    generator = load_generator(args.checkpoint, len(segmenter.classes))
    # cached: each case is corrected both ways, and the cache returns what the encoder gave, float16 as always
    embedder = SliceEmbedder(segmenter.backbone, EmbeddingCache(embedding_cache_dir()))
    domains = load_protocol("ct_to_mr").cases("test")
    cases = [resampled(case, args.size) for sequence in domains.values() for case in sequence[: args.cases]]
    rows: dict[str, list] = {"pooled grid (shipped)": [], "source pixels (as before)": []}
    with Progress() as bar:
        task = bar.add_task("simulated corrections", total=2 * len(cases))
        for index, case in enumerate(cases):
            for way, scores in rows.items():
                with at_source_resolution() if "source" in way else nullcontext():
                    # the blind edit and the oracle do not use the grid
                    scores += correct_case(
                        segmenter, generator, embedder, case, "MR", 3, index, strategies=("none", "learned")
                    )
                bar.advance(task)
    table = []
    for way, scores in rows.items():
        learned = curves(scores)["learned"]
        dice = " / ".join(f"{d:.2f}" for d in learned["dice"])
        hd95 = " / ".join(f"{h:.1f}" for h in learned["hd95_mm"])
        share = " / ".join(f"{s:.1f}" for s in learned["right_share"][1:])
        table.append([way, dice, hd95, share])
    write_section(
        args.out,
        f"Learned TCI at {args.size}²: pooled grid vs source pixels",
        command_line("causal_sam_llm.bench.tci_grid", argv),
        f"{len(cases)} ct_to_mr MR test cases ({args.cases} per sequence) resampled in-plane to {args.size}², the "
        "simulated clinician's 3 corrections (eval-tci's loop), the learned TCI computed both ways on each case.\n\n"
        + markdown_table(
            ["learned TCI computed on", "mean Dice % after 0/1/2/3", "HD95 mm after 0/1/2/3", "right share % 1/2/3"],
            table,
        ),
    )
    print(args.out.read_text())


if __name__ == "__main__":
    main()
