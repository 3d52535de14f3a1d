"""Scoring checkpoints on a protocol's test domains (or any labelled folder): per case and organ Dice and HD95 (mm),
means ± std, a markdown table, a box plot and JSON. Several checkpoints are scored side by side on the same cases;
checkpoints of one method trained with different seeds are pooled, and also summarised across seeds (mean ± std of
the per-seed means), since on small benchmarks the seed can move a method more than the method does."""

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from rich.progress import Progress

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.protocol import Protocol
from causal_sam_llm.datasets.registry import open_dataset
from causal_sam_llm.errors import CheckpointError, DataLayoutError
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation.checkpoint_io import load_segmenter, read_checkpoint
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.inference import segment_case
from causal_sam_llm.segmentation.metrics import dice_hd95


@dataclass
class Score:
    method: str
    domain: str
    case_id: str
    organ: str
    dice: float
    hd95_mm: float
    seed: int | None = None


def test_cases(
    protocol: Protocol, overrides: dict[str, str], data: Path | None, split: str = "train"
) -> dict[str, list[Case]]:
    """The protocol's test cases, or those of `split` of the folder `data` (its own published split: AMOS `val` is
    imagesVa / labelsVa)."""
    if data is None:
        return protocol.cases("test", overrides)
    cases = [c for c in open_dataset(data, split) if c.has_labels]
    if not cases:
        raise DataLayoutError(f"{data} holds no labelled {split} cases to score.")
    other = sorted({c.label_set_name for c in cases} - {protocol.label_set})
    if other:  # a brain folder for an abdominal model: its labels name none of the model's classes
        raise DataLayoutError(
            f"{data} holds {' and '.join(other)} cases, and protocol {protocol.name} segments {protocol.label_set} "
            f"({', '.join(protocol.classes)}): score it under a protocol of its anatomy."
        )
    domains: dict[str, list[Case]] = {}
    for case in cases:  # a folder of several sequences (CHAOS: CT, T2-SPIR, T1-DUAL) is scored per sequence
        domains.setdefault(f"{data.name} {case.sequence}", []).append(case)
    return domains


def score_checkpoints(
    checkpoints: list[Path],
    domains: dict[str, list[Case]],
    protocol: Protocol,
    device: str = "cpu",
    progress: bool = True,
    precision: str = "fp32",
) -> list[Score]:
    """`domains`: `test_cases`' (called first, so that data errors, which name what the user passed, come first)."""
    check_distinct_runs(checkpoints)
    check_trained_for(checkpoints, protocol.name)
    scores: list[Score] = []
    total = len(checkpoints) * sum(len(c) for c in domains.values())
    with Progress(disable=not progress) as bar:
        task = bar.add_task("evaluating", total=total)
        for path in checkpoints:
            segmenter, meta = load_segmenter(path, device, expected_classes=protocol.classes, precision=precision)
            embedder = SliceEmbedder(segmenter.backbone, EmbeddingCache(embedding_cache_dir()))
            for domain, cases in domains.items():
                for case in cases:
                    scores += _score_case(segmenter, embedder, case, meta["method"], domain, _seed(meta))
                    bar.advance(task)
    return scores


def check_trained_for(checkpoints: list[Path], protocol: str) -> None:
    """A protocol keeps its test anatomies out of ITS training split; a checkpoint trained under another protocol may
    have trained on them (and the same classes are no guarantee), so it is refused."""
    for path in checkpoints:
        trained = read_checkpoint(path).get("protocol")
        if trained != protocol:
            raise CheckpointError(
                f"{path} was trained under protocol {trained!r}, not {protocol!r}: its training cases may be among "
                f"{protocol}'s test cases. Evaluate it with --protocol {trained}."
            )


def check_distinct_runs(checkpoints: list[Path]) -> None:
    """Rows are labelled by method and seed, so two checkpoints with both equal could not be told apart."""
    runs: dict[tuple[str, int | None], Path] = {}
    for path in checkpoints:
        meta = read_checkpoint(path)
        key = (meta["method"], _seed(meta))
        if key in runs:
            raise CheckpointError(
                f"{runs[key]} and {path} are both method {key[0]!r} with seed {key[1]}: their scores would be "
                "pooled as one run; score them in separate `eval` commands."
            )
        runs[key] = path


def _seed(meta: dict) -> int | None:
    return meta.get("config", {}).get("seed")


def _score_case(segmenter, embedder, case: Case, method: str, domain: str, seed: int | None) -> list[Score]:
    result = segment_case(segmenter, embedder, case)
    rows = []
    for index, organ in enumerate(segmenter.classes):
        if organ not in case.annotated_classes:  # unknown there, not background: no score either way
            continue
        reference = case.label_set.mask(case.labels, organ)
        dice, hd95 = dice_hd95(result.masks[index], reference, case.spacing_mm)
        rows.append(Score(method, domain, case.case_id, organ, dice, hd95, seed))
    return rows


def summarise(scores: list[Score]) -> dict:
    """method → domain → organ (and "mean") → {dice_mean, dice_std, hd95_mean, hd95_std, n}. "mean" pools every
    case × organ value of the domain: its std is over those values (organs included), not over per-case means."""
    summary: dict = {}
    keys = {(s.method, s.domain) for s in scores}
    for method, domain in sorted(keys):
        chosen = [s for s in scores if s.method == method and s.domain == domain]
        organs = list(dict.fromkeys(s.organ for s in chosen))
        entry = {organ: _stats([s for s in chosen if s.organ == organ]) for organ in organs}
        entry["mean"] = _stats(chosen)
        summary.setdefault(method, {})[domain] = entry
    return summary


def _stats(rows: list[Score]) -> dict:
    dice = np.array([r.dice for r in rows if not math.isnan(r.dice)]) * 100
    hd = np.array([r.hd95_mm for r in rows if not math.isnan(r.hd95_mm)])
    return {
        "dice_mean": float(dice.mean()) if dice.size else math.nan,
        "dice_std": float(dice.std()) if dice.size else math.nan,
        "hd95_mean": float(hd.mean()) if hd.size else math.nan,
        "hd95_std": float(hd.std()) if hd.size else math.nan,
        "n": int(dice.size),
    }


def seed_summary(scores: list[Score]) -> dict:
    """For each method scored with several seeds: domain (and "mean of domains") → per-seed mean Dice % and HD95 mm
    over cases and organs, and their mean ± std across seeds. Empty when no method has two seeds."""
    summary: dict = {}
    for method in dict.fromkeys(s.method for s in scores):
        rows = [s for s in scores if s.method == method]
        seeds = sorted({s.seed for s in rows}, key=lambda seed: (seed is None, seed))
        if len(seeds) < 2:
            continue
        domains = list(dict.fromkeys(s.domain for s in rows))
        per_domain = {
            d: {seed: _stats([s for s in rows if s.domain == d and s.seed == seed]) for seed in seeds} for d in domains
        }
        per_domain["mean of domains"] = {
            seed: {
                key: float(np.mean([per_domain[d][seed][key] for d in domains])) for key in ("dice_mean", "hd95_mean")
            }
            for seed in seeds
        }
        summary[method] = {domain: _across_seeds(by_seed) for domain, by_seed in per_domain.items()}
    return summary


def _across_seeds(by_seed: dict) -> dict:
    dice = np.array([stats["dice_mean"] for stats in by_seed.values()])
    hd = np.array([stats["hd95_mean"] for stats in by_seed.values()])
    return {
        "seeds": {
            str(seed): {"dice": stats["dice_mean"], "hd95": stats["hd95_mean"]} for seed, stats in by_seed.items()
        },
        "dice_mean": float(dice.mean()),
        "dice_std": float(dice.std(ddof=1)),
        "hd95_mean": float(hd.mean()),
        "hd95_std": float(hd.std(ddof=1)),
    }


def seed_table(over_seeds: dict) -> str:
    """One row per method and domain: each seed's mean, then mean ± sample std across seeds."""
    lines = ["| method | domain | per seed: Dice % / HD95 mm | across seeds: Dice % / HD95 mm |", "|---|---|---|---|"]
    for method, domains in over_seeds.items():
        for domain, s in domains.items():
            per_seed = ", ".join(f"s{seed}: {v['dice']:.1f} / {v['hd95']:.1f}" for seed, v in s["seeds"].items())
            name = f"**{domain}**" if domain == "mean of domains" else domain
            lines.append(
                f"| {method} | {name} | {per_seed} | "
                f"{s['dice_mean']:.1f} ± {s['dice_std']:.1f} / {s['hd95_mean']:.1f} ± {s['hd95_std']:.1f} |"
            )
    return "\n".join(lines)


def markdown_table(summary: dict) -> str:
    methods = list(summary)
    domains = list(dict.fromkeys(d for m in methods for d in summary[m]))
    header = "| domain | organ | " + " | ".join(f"{m} Dice % / HD95 mm" for m in methods) + " |"
    lines = [header, "|---|---|" + "---|" * len(methods)]
    for domain in domains:
        organs = list(summary[methods[0]][domain])
        for organ in organs:
            cells = []
            for method in methods:
                s = summary[method][domain][organ]
                cells.append(f"{s['dice_mean']:.1f} ± {s['dice_std']:.1f} / {s['hd95_mean']:.1f} ± {s['hd95_std']:.1f}")
            name = f"**{organ}**" if organ == "mean" else organ
            lines.append(f"| {domain} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def box_plot(scores: list[Score], out: Path) -> None:
    """Dice per method: one row of boxes per test domain (pooled, MR T2 and T1 would hide which one a method fails
    on), one column per organ."""
    methods = list(dict.fromkeys(s.method for s in scores))
    domains = list(dict.fromkeys(s.domain for s in scores))
    organs = list(dict.fromkeys(s.organ for s in scores))
    figure, axes = plt.subplots(
        len(domains), len(organs), figsize=(3.2 * len(organs), 3.0 * len(domains) + 0.6), squeeze=False
    )
    for row, domain in zip(axes, domains, strict=True):
        for axis, organ in zip(row, organs, strict=True):
            data = [
                [
                    100 * s.dice
                    for s in scores
                    if s.domain == domain and s.organ == organ and s.method == m and not math.isnan(s.dice)
                ]
                for m in methods
            ]
            axis.boxplot(data, tick_labels=methods)
            axis.tick_params(axis="x", labelrotation=25, labelsize=9)  # "aug" and "full_decoder" ran together
            axis.set_title(f"{domain}: {organ}", fontsize=10)
            axis.set_ylim(0, 100)
            axis.set_ylabel("Dice %")
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def write_report(scores: list[Score], out_json: Path, title: str, command: str) -> str:
    summary = summarise(scores)
    over_seeds = seed_summary(scores)
    table = markdown_table(summary) + (
        "\n\nmean ± std: an organ's row over its cases; the mean row over every case × organ value of the domain."
    )
    if over_seeds:
        table += "\n\nAcross training seeds (each seed's mean over cases and organs; std is the sample std):\n\n"
        table += seed_table(over_seeds)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    report = {"title": title, "command": command, "summary": summary, "over_seeds": over_seeds}
    out_json.write_text(json.dumps({**report, "scores": [asdict(s) for s in scores]}, indent=2))
    box_plot(scores, out_json.with_suffix(".png"))
    picture = out_json.with_suffix(".png").name
    markdown = f"## {title}\n\nCommand: `{command}`\n\n{table}\n\n![Dice per domain and organ]({picture})\n"
    out_json.with_suffix(".md").write_text(markdown)
    return markdown
