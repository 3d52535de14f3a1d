"""eval-tci: on OOD cases, Dice and HD95 after 0..R simulated corrections, for the learned TCI, a blind
morphological edit driven by the same Intervention, no correction, and an oracle that carries each command out
perfectly: inside its gate, in its direction, exactly its amount, the wrong voxels first (the most an edit that does
what the learned response is asked to do could give: its upper bound). Each correction also reports the share of the
voxels it changed that it set right (`right_share`): how well it placed what it moved."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator
from rich.progress import Progress

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.segmentation.box_evidence import BOX_WEIGHT, keep_for_corrections
from causal_sam_llm.segmentation.clinician import choose_intervention, perfect_edit
from causal_sam_llm.segmentation.clinician_words import say
from causal_sam_llm.segmentation.decoded_volume import decode_volume, organ_probabilities
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.inference import embed_case, masks_from_probabilities
from causal_sam_llm.segmentation.intensity_evidence import INTENSITY_WEIGHT
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.metrics import mean_dice_hd95
from causal_sam_llm.segmentation.segmenter import PromptFreeSegmenter
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator
from causal_sam_llm.segmentation.tci_apply import apply_learned
from causal_sam_llm.segmentation.tci_blind import apply_blind
from causal_sam_llm.segmentation.tci_gate import held_by_other_organs
from causal_sam_llm.segmentation.training_set import class_masks, require_every_class_annotated

STRATEGIES = ("none", "blind", "learned", "oracle")
MASK_STRATEGIES = ("blind", "oracle")  # these edit binary masks; the others edit probabilities


@dataclass
class RoundScore:
    strategy: str
    domain: str
    case_id: str
    round: int
    dice: float  # mean over organs present, %
    hd95_mm: float
    command: str
    right_share: float | None = None  # % of the voxels this round's correction changed that it set right


def right_share(before: np.ndarray, after: np.ndarray, reference: np.ndarray) -> float | None:
    """% of the voxels a correction changed (any organ) that now agree with the reference: where inside its gate
    the commanded amount went (the oracle's are right first). None when nothing changed."""
    changed = before != after
    count = int(changed.sum())
    return 100.0 * int((changed & (after == reference)).sum()) / count if count else None


def apply_oracle(
    masks: np.ndarray,
    reference: np.ndarray,
    organ: int,
    intervention: Intervention,
    spacing_mm,
    exclusive: bool = True,
) -> np.ndarray:
    """The command carried out perfectly (`perfect_edit`); elsewhere nothing changes. `exclusive`: an exclusive
    label set, where the organ gains no voxel another organ holds (as the learned response)."""
    result = masks.copy()
    held = held_by_other_organs(masks, organ) if exclusive else None
    result[:, organ] = perfect_edit(intervention, masks[:, organ], reference[:, organ], spacing_mm, None, held)
    return result


def correct_case(
    segmenter: PromptFreeSegmenter,
    generator: InterventionFilmGenerator,
    embedder: SliceEmbedder,
    case: Case,
    domain: str,
    rounds: int,
    seed: int = 0,
    intensity_weight: float = INTENSITY_WEIGHT,
    box_weight: float = BOX_WEIGHT,
    strategies: tuple[str, ...] = STRATEGIES,
) -> list[RoundScore]:
    """`strategies`: a subset of STRATEGIES to run (each is independent of the others)."""
    spacing, image = case.axial_spacing_mm(), case.axial_image()
    reference = class_masks(case, segmenter.classes)
    decoded = decode_volume(segmenter, embed_case(embedder, case))
    organs = list(range(len(segmenter.classes)))
    start = organ_probabilities(segmenter, decoded, organs)
    start_masks = masks_from_probabilities(start, case.label_set, segmenter.classes)
    if box_weight:  # as the agent's `segment` does, so that the learned corrections find the same boxes
        keep_for_corrections(segmenter.backbone, decoded, start_masks, organs, spacing)
    rng = np.random.default_rng(seed)
    exclusive = case.label_set.kind == "exclusive"  # a command touches only its organ (tci_gate.held_by_other_organs)
    rows: list[RoundScore] = []
    state = {strategy: start_masks if strategy in MASK_STRATEGIES else start for strategy in strategies}

    def masks_of(strategy: str) -> np.ndarray:
        if strategy in MASK_STRATEGIES:
            return state[strategy]
        return masks_from_probabilities(state[strategy], case.label_set, segmenter.classes)

    def apply(strategy: str, intervention: Intervention) -> np.ndarray:
        organ = segmenter.classes.index(intervention.organ)
        if strategy == "learned":
            return apply_learned(
                segmenter,
                generator,
                decoded,
                state[strategy],
                intervention,
                case.label_set,
                spacing,
                image,
                intensity_weight,
                box_weight,
            )
        if strategy == "blind":
            return apply_blind(state[strategy], organ, intervention, spacing, exclusive=exclusive)
        return apply_oracle(state[strategy], reference, organ, intervention, spacing, exclusive)

    said: dict[str, Intervention | None] = {strategy: None for strategy in strategies}
    for round_index in range(rounds + 1):
        for strategy in strategies:
            masks, command, share = masks_of(strategy), "", None
            if round_index > 0 and strategy != "none":
                intervention = choose_intervention(
                    masks, reference, segmenter.classes, spacing, said[strategy], exclusive
                )
                said[strategy] = intervention
                if intervention is not None:
                    command = say(intervention, rng)
                    state[strategy] = apply(strategy, intervention)
                    masks, before = masks_of(strategy), masks
                    share = right_share(before, masks, reference)
            dice, hd95 = mean_dice_hd95(masks, reference, spacing)
            rows.append(RoundScore(strategy, domain, case.case_id, round_index, dice, hd95, command, share))
    return rows


def evaluate_tci(
    segmenter,
    generator,
    embedder,
    domains: dict[str, list[Case]],
    rounds: int = 3,
    progress: bool = True,
    intensity_weight: float = INTENSITY_WEIGHT,
    box_weight: float = BOX_WEIGHT,
) -> list[RoundScore]:
    for cases in domains.values():
        require_every_class_annotated(cases, segmenter.classes, "simulated corrections")
    rows: list[RoundScore] = []
    total = sum(len(c) for c in domains.values())
    with Progress(disable=not progress) as bar, torch.inference_mode():
        task = bar.add_task("simulated corrections", total=total)
        for domain, cases in domains.items():
            for index, case in enumerate(cases):
                rows += correct_case(
                    segmenter, generator, embedder, case, domain, rounds, index, intensity_weight, box_weight
                )
                bar.advance(task)
    return rows


def curves(rows: list[RoundScore]) -> dict:
    """strategy → {"dice": [mean per round], "hd95_mm": [...], "right_share": [...; None where no correction
    changed anything]}."""
    result = {}
    for strategy in STRATEGIES:
        chosen = [r for r in rows if r.strategy == strategy]
        rounds = sorted({r.round for r in chosen})
        shares = [[r.right_share for r in chosen if r.round == k and r.right_share is not None] for k in rounds]
        result[strategy] = {
            "dice": [float(np.nanmean([r.dice for r in chosen if r.round == k])) for k in rounds],
            "hd95_mm": [float(np.nanmean([r.hd95_mm for r in chosen if r.round == k])) for k in rounds],
            "right_share": [float(np.mean(s)) if s else None for s in shares],
        }
    return result


def write_tci_report(rows: list[RoundScore], out_json: Path, title: str, command: str) -> str:
    summary = curves(rows)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(
        json.dumps(
            {"title": title, "command": command, "curves": summary, "rounds": [asdict(r) for r in rows]}, indent=2
        )
    )
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for strategy, values in summary.items():
        axes[0].plot(values["dice"], marker="o", label=strategy)
        axes[1].plot(values["hd95_mm"], marker="o", label=strategy)
    axes[0].set(xlabel="corrections", ylabel="mean Dice %", title="Dice")
    axes[1].set(xlabel="corrections", ylabel="mean HD95 mm", title="HD95")
    for axis in axes:  # a count of corrections: no 0.5 between them
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(out_json.with_suffix(".png"), dpi=100)
    plt.close(figure)
    header = "| strategy | " + " | ".join(f"after {k}" for k in range(len(summary["none"]["dice"]))) + " |"
    lines = [header, "|---|" + "---|" * len(summary["none"]["dice"])]
    for strategy, values in summary.items():
        cells = [f"{d:.1f} / {h:.1f}" for d, h in zip(values["dice"], values["hd95_mm"], strict=True)]
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    markdown = (
        f"## {title}\n\nCommand: `{command}`\n\nMean Dice % / HD95 mm after k simulated corrections\n\n"
        + "\n".join(lines)
        + "\n\nWhere the k-th correction went: % of the voxels it changed that it set right (mean over cases)\n\n"
        + "\n".join(_share_table(summary))
        + f"\n\n![curves]({out_json.with_suffix('.png').name})\n"
    )
    out_json.with_suffix(".md").write_text(markdown)
    return markdown


def _share_table(summary: dict) -> list[str]:
    corrections = len(summary["none"]["dice"]) - 1
    lines = ["| strategy | " + " | ".join(f"correction {k}" for k in range(1, corrections + 1)) + " |"]
    lines.append("|---|" + "---|" * corrections)
    for strategy, values in summary.items():
        if strategy != "none":
            cells = ["–" if v is None else f"{v:.1f}" for v in values["right_share"][1:]]
            lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    return lines
