"""eval-smooth: what one learned `smooth` ("the liver edge is ragged, clean it up") does to each organ on its own, on
OOD cases — organ Dice / HD95 before, after the smooth as shipped (the thin band around the edge re-decided from the
decoder's logits plus the image's intensity and box evidence) and after the decoder's logits alone (how `smooth`
worked before it weighed the image evidence). The simulated clinician of eval-tci never asks to smooth, so this is
where that action is measured."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.segmentation.box_evidence import BOX_WEIGHT, keep_for_corrections
from causal_sam_llm.segmentation.decoded_volume import decode_volume, organ_probabilities
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.inference import embed_case, masks_from_probabilities
from causal_sam_llm.segmentation.intensity_evidence import INTENSITY_WEIGHT
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.metrics import dice_hd95
from causal_sam_llm.segmentation.segmenter import PromptFreeSegmenter
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator
from causal_sam_llm.segmentation.tci_apply import apply_learned
from causal_sam_llm.segmentation.training_set import class_masks, require_every_class_annotated

# evidence weights (intensity, box) of each scored way to smooth
WAYS = {"image_evidence": (INTENSITY_WEIGHT, BOX_WEIGHT), "decoder_only": (0.0, 0.0)}


@dataclass
class SmoothScore:
    domain: str
    case_id: str
    organ: str
    dice_before: float  # %
    hd95_before_mm: float
    dice_after: dict[str, float]  # way → %
    hd95_after_mm: dict[str, float]


def smooth_case(
    segmenter: PromptFreeSegmenter,
    generator: InterventionFilmGenerator,
    embedder: SliceEmbedder,
    case: Case,
    domain: str,
) -> list[SmoothScore]:
    """One `smooth` of each segmented organ, each from the segmentation as it came (not one after another)."""
    spacing, image = case.axial_spacing_mm(), case.axial_image()
    reference = class_masks(case, segmenter.classes)
    decoded = decode_volume(segmenter, embed_case(embedder, case))
    organs = list(range(len(segmenter.classes)))
    start = organ_probabilities(segmenter, decoded, organs)
    masks = masks_from_probabilities(start, case.label_set, segmenter.classes)
    keep_for_corrections(segmenter.backbone, decoded, masks, organs, spacing)
    rows = []
    for organ, name in enumerate(segmenter.classes):
        if not masks[:, organ].any() or not reference[:, organ].any():
            continue
        dice, hd95 = dice_hd95(masks[:, organ], reference[:, organ], spacing)
        after: dict[str, tuple[float, float]] = {}
        command = Intervention(organ=name, action="smooth")
        for way, (intensity_weight, box_weight) in WAYS.items():
            smoothed = apply_learned(
                segmenter,
                generator,
                decoded,
                start,
                command,
                case.label_set,
                spacing,
                image,
                intensity_weight,
                box_weight,
            )
            mask = masks_from_probabilities(smoothed, case.label_set, segmenter.classes)[:, organ]
            after[way] = dice_hd95(mask, reference[:, organ], spacing)
        rows.append(
            SmoothScore(
                domain,
                case.case_id,
                name,
                100 * dice,
                hd95,
                {way: 100 * d for way, (d, _) in after.items()},
                {way: h for way, (_, h) in after.items()},
            )
        )
    return rows


def evaluate_smooth(
    segmenter, generator, embedder, domains: dict[str, list[Case]], progress: bool = True
) -> list[SmoothScore]:
    for cases in domains.values():
        require_every_class_annotated(cases, segmenter.classes, "smoothing's evaluation")
    rows: list[SmoothScore] = []
    with Progress(disable=not progress) as bar, torch.inference_mode():
        task = bar.add_task("smoothing each organ", total=sum(len(c) for c in domains.values()))
        for domain, cases in domains.items():
            for case in cases:
                rows += smooth_case(segmenter, generator, embedder, case, domain)
                bar.advance(task)
    return rows


def summarise(rows: list[SmoothScore]) -> dict[str, dict[str, float]]:
    """way → mean organ Dice change (points), mean HD95 change (mm), how many organs it made worse, of how many."""
    summary = {}
    for way in WAYS:
        change = np.array([r.dice_after[way] - r.dice_before for r in rows])
        hd95 = np.array([r.hd95_after_mm[way] - r.hd95_before_mm for r in rows])
        summary[way] = {
            "dice_change": float(change.mean()),
            "hd95_change_mm": float(np.nanmean(hd95)),
            "worse": int((change < 0).sum()),
            "organs": len(rows),
        }
    return summary


def write_smooth_report(rows: list[SmoothScore], out_json: Path, title: str, command: str) -> str:
    summary = summarise(rows)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(
        json.dumps(
            {"title": title, "command": command, "summary": summary, "organs": [asdict(r) for r in rows]}, indent=2
        )
    )
    before = np.mean([r.dice_before for r in rows])
    lines = ["| smooth | organ Dice % | change | HD95 change mm | organs made worse |", "|---|---|---|---|---|"]
    for way, values in summary.items():
        lines.append(
            f"| {way.replace('_', ' ')} | {before + values['dice_change']:.1f} | {values['dice_change']:+.2f} | "
            f"{values['hd95_change_mm']:+.2f} | {values['worse']} of {values['organs']} |"
        )
    markdown = (
        f"## {title}\n\nCommand: `{command}`\n\nOne `smooth` of each organ on its own; organ Dice before: {before:.1f} "
        "(mean over organs and cases)\n\n" + "\n".join(lines) + "\n"
    )
    out_json.with_suffix(".md").write_text(markdown)
    return markdown
