"""Training the decoder side on cached embeddings: seeded, resumable (state saved every epoch), with progress bars;
CPU by default, the GPU when present, and data-parallel under `torchrun` (PyTorch DDP, gloo on CPU)."""

import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn

from causal_sam_llm.datasets.protocol import default_benchmark_dir, load_protocol
from causal_sam_llm.errors import CheckpointError
from causal_sam_llm.paths import BENCHMARK_ENV, embedding_cache_dir
from causal_sam_llm.segmentation.checkpoint_io import save_checkpoint
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.encoder_registry import build_backbone
from causal_sam_llm.segmentation.lad import LADObjective, segmentation_loss
from causal_sam_llm.segmentation.parameters import count_parameters
from causal_sam_llm.segmentation.segmenter import Method, PromptFreeSegmenter, build_segmenter
from causal_sam_llm.segmentation.style_profile import StyleDescriber
from causal_sam_llm.segmentation.text_encoder import shared_text_encoder
from causal_sam_llm.segmentation.training_set import EmbeddedSlices, build_training_slices

USES_RESTYLED_VIEWS = ("aug", "lad")
# New small modules learn fast; fine-tuning SAM's pretrained decoder at that rate collapses it to background (measured:
# full_decoder at 3e-3 stayed at loss 1.06 and 0 Dice), so the baseline gets a fine-tuning rate.
DEFAULT_LEARNING_RATES: dict[str, float] = {"lad": 3e-3, "erm": 3e-3, "aug": 3e-3, "full_decoder": 1e-4}


@dataclass
class TrainConfig:
    protocol: str
    method: Method
    encoder: str = "litemedsam"
    # the encoder's weights file when its package ships none (official SAM / MedSAM ViT-B checkpoints); the trained
    # checkpoint records it, so that the chat and eval rebuild the same encoder
    encoder_weights: str | None = None
    epochs: int = 12
    batch_size: int = 8
    learning_rate: float | None = None  # None: the method's DEFAULT_LEARNING_RATES entry
    seed: int = 0
    slice_stride: int = 3
    restyles: int = 1
    # slices with any foreground appear this many times per epoch (small targets such as brain tumours: with few
    # foreground slices, predicting background everywhere is otherwise a cheap minimum)
    foreground_repeats: int = 1
    # clip the gradient norm to this (None: no clipping). Without it a LAD rerun from a cold cache lost the left
    # kidney after a loss spike at epoch 4 (×2.1); with it, at most ×1.3 in 9 runs (README, Results). The shipped
    # checkpoints predate it and were trained with None.
    grad_clip: float | None = 1.0
    style_weight: float = 0.1
    consistency_weight: float = 1.0
    max_cases: int | None = None
    variables: dict[str, str] = field(default_factory=dict)
    vlm_model: str | None = None  # with vlm_mmproj: a vision-language model writes the style sentences
    vlm_mmproj: str | None = None

    def describer(self) -> StyleDescriber | None:
        """None: the measured profile (default). Both VLM paths: the vision-language backend."""
        if (self.vlm_model is None) != (self.vlm_mmproj is None):
            raise CheckpointError("a vision-language describer needs both --vlm-model and --vlm-mmproj.")
        if self.vlm_model is None:
            return None
        from causal_sam_llm.segmentation.vlm_describer import VisionLanguageStyleDescriber

        return VisionLanguageStyleDescriber(Path(self.vlm_model), Path(self.vlm_mmproj))


class _TrainStep(nn.Module):
    """Segmenter and (for LAD) the objective's heads as one module, so DDP averages every trained gradient."""

    def __init__(self, segmenter: PromptFreeSegmenter, objective: LADObjective | None) -> None:
        super().__init__()
        self.segmenter = segmenter
        self.objective = objective

    def forward(self, embeddings, targets, style_text, style_ids, pair_ids) -> dict[str, torch.Tensor]:
        adapted = self.segmenter.adapt(embeddings)
        logits = self.segmenter.decode(adapted)
        if self.objective is None:
            loss = segmentation_loss(logits, targets)
            return {"seg": loss, "total": loss}
        return self.objective(adapted, logits, targets, style_text, style_ids, pair_ids)


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _rank_device(device: str, world: int) -> str:
    """With several processes on GPUs, each uses its own (torchrun's LOCAL_RANK), not all cuda:0."""
    if world == 1 or not device.startswith("cuda"):
        return device
    local = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local)
    return f"cuda:{local}"


def _parallel(step: nn.Module, device: str, world: int, unused_parameters: bool) -> nn.Module:
    """DDP across processes. `unused_parameters`: the full decoder's IoU head and unused hypernetwork MLPs are
    trainable but get no gradient, which DDP must be told of."""
    if world == 1:
        return step
    device_ids = [torch.device(device).index] if device.startswith("cuda") else None
    return nn.parallel.DistributedDataParallel(step, device_ids=device_ids, find_unused_parameters=unused_parameters)


def shard(batches: list, rank: int, world: int) -> list:
    """This process's share of an epoch's batches; every process gets the same count (the few left over, different
    ones each epoch as batches are shuffled, are skipped): DDP waits for every process at every step."""
    usable = len(batches) - len(batches) % world
    return batches[:usable][rank::world]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batches(data: EmbeddedSlices, config: TrainConfig, epoch: int) -> list[torch.Tensor]:
    """Index batches for one epoch. LAD batches hold two style views of each anatomy slice (for L_cons)."""
    generator = torch.Generator().manual_seed(config.seed * 1000 + epoch)
    repeats = _repeats(data, config.foreground_repeats)
    if config.method != "lad":
        indices = torch.tensor([i for i in range(len(data)) for _ in range(repeats[i])])
        order = indices[torch.randperm(len(indices), generator=generator)]
        return list(order.split(config.batch_size))
    groups: dict[int, list[int]] = {}
    for index, pair in enumerate(data.pair_ids.tolist()):
        groups.setdefault(pair, []).append(index)
    pairs = []
    for members in groups.values():  # every view once per epoch, in pairs of two views of one anatomy slice
        for _ in range(max(repeats[i] for i in members)):
            shuffled_members = [members[i] for i in torch.randperm(len(members), generator=generator).tolist()]
            pairs += [shuffled_members[i : i + 2] for i in range(0, len(shuffled_members), 2)]
    shuffled = [pairs[i] for i in torch.randperm(len(pairs), generator=generator).tolist()]
    per_batch = max(1, config.batch_size // 2)
    return [
        torch.tensor([i for pair in shuffled[s : s + per_batch] for i in pair])
        for s in range(0, len(shuffled), per_batch)
    ]


def _repeats(data: EmbeddedSlices, foreground_repeats: int) -> list[int]:
    """How often each slice is used per epoch."""
    if foreground_repeats == 1:
        return [1] * len(data)
    has_foreground = data.targets.flatten(1).any(1).tolist()
    return [foreground_repeats if present else 1 for present in has_foreground]


def train(
    config: TrainConfig, run_dir: Path, device: str = "cpu", progress: bool = True, command: list[str] | None = None
) -> Path:
    """Train and write `run_dir/model.pt` (the trained part only); resume from `run_dir/state.pt` if present.
    `command`: the arguments that asked for it, recorded (default: this process's own)."""
    rank, world = _distributed()
    device = _rank_device(device, world)
    _seed_everything(config.seed)
    describer = config.describer()
    protocol = load_protocol(config.protocol)
    cases = [c for domain in protocol.cases("train", config.variables).values() for c in domain]
    cases = cases[: config.max_cases] if config.max_cases else cases
    backbone = build_backbone(config.encoder, config.encoder_weights, device=device)
    embedder = SliceEmbedder(backbone, EmbeddingCache(embedding_cache_dir()))
    start = time.perf_counter()
    data = _embed_in_turns(config, cases, protocol.classes, embedder, describer, rank, world, progress)
    embed_seconds = time.perf_counter() - start
    segmenter = build_segmenter(backbone, protocol.classes, config.method).to(device)
    objective = (
        LADObjective(style_weight=config.style_weight, consistency_weight=config.consistency_weight)
        if config.method == "lad"
        else None
    )
    step = _TrainStep(segmenter, objective).to(device)
    model = _parallel(step, device, world, unused_parameters=config.method == "full_decoder")
    trainable = [p for p in step.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=config.learning_rate or DEFAULT_LEARNING_RATES[config.method], weight_decay=1e-4
    )
    first_epoch, history, earlier_seconds = _resume(run_dir, config, step, optimizer)
    path = run_dir / "model.pt"
    if first_epoch >= config.epochs and path.is_file():  # a finished run: its record stays as it was
        return path
    for epoch in range(first_epoch, config.epochs):
        history.append(_run_epoch(model, data, config, epoch, optimizer, device, rank, world, progress))
        if rank == 0:
            seconds = earlier_seconds + time.perf_counter() - start
            _save_state(run_dir, config, step, optimizer, epoch, history, seconds)
    if rank == 0:
        counts = count_parameters(step)
        metadata = {
            "method": config.method,
            "protocol": protocol.name,
            "label_set": protocol.label_set,
            "encoder_weights": str(Path(config.encoder_weights).resolve()) if config.encoder_weights else None,
            "config": asdict(config),
            "history": history,
            "command": _reproducing_command(sys.argv[1:] if command is None else command),
            # what `{benchmark}` meant here (an environment variable may have chosen it): later commands that resolve
            # this checkpoint's training cases (train-tci, the eval's overlap check) read the same folder
            "benchmark": str(default_benchmark_dir().resolve()),
            "parameters": {
                "frozen": counts.frozen,
                "trainable": counts.trainable,
                "trainable_fraction": counts.trainable_fraction,
            },
            "training_slices": len(data),
            "embedding_seconds": embed_seconds,
            "encoder_calls": embedder.encoder_calls,
            # embedding included, over every run that trained part of it (a resumed run adds its own)
            "train_seconds": earlier_seconds + time.perf_counter() - start,
        }
        save_checkpoint(path, segmenter, metadata)
        (run_dir / "train.json").write_text(json.dumps(metadata, indent=2, default=str))
    if world > 1:
        dist.barrier()
    return path


def _reproducing_command(arguments: list[str]) -> str:
    """The command line that ran this training (`arguments` after the program's name), with the benchmark folder an
    environment variable chose."""
    words = ["causal-sam-llm", *arguments]
    if os.environ.get(BENCHMARK_ENV):
        words.insert(0, f"{BENCHMARK_ENV}={os.environ[BENCHMARK_ENV]}")
    return " ".join(words)


def _embed_in_turns(config, cases, classes, embedder, describer, rank: int, world: int, progress: bool):
    """The training slices, embedded by one process after another: rank 0 fills the cache, the others read it."""
    restyles = config.restyles if config.method in USES_RESTYLED_VIEWS else 0
    for turn in range(world):
        if turn == rank:
            data = build_training_slices(
                cases,
                classes,
                embedder,
                shared_text_encoder(),
                config.slice_stride,
                restyles,
                config.seed,
                progress and rank == 0,
                describer,
            )
        if world > 1:
            dist.barrier()
    return data


def _run_epoch(model, data, config, epoch, optimizer, device, rank, world, progress) -> dict:
    batches = shard(_batches(data, config, epoch), rank, world)
    totals: dict[str, float] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[loss]}"), TimeRemainingColumn())
    trained = [p for group in optimizer.param_groups for p in group["params"]]
    with Progress(*columns, disable=not (progress and rank == 0)) as bar:
        task = bar.add_task(f"epoch {epoch + 1}/{config.epochs} ({config.method})", total=len(batches), loss="")
        for done, batch in enumerate(batches, start=1):
            terms = model(
                data.embeddings[batch].to(device, torch.float32),
                data.targets[batch].to(device),
                data.style_text[batch].to(device),
                data.style_ids[batch].to(device),
                data.pair_ids[batch].to(device),
            )
            optimizer.zero_grad(set_to_none=True)
            terms["total"].backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(trained, config.grad_clip)
            optimizer.step()
            for name, value in terms.items():
                totals[name] = totals.get(name, 0.0) + float(value.detach())
            # the epoch's means so far: the bar ends on the figures train.json keeps, not on the last batch's
            bar.update(task, advance=1, loss=" ".join(f"{k} {v / done:.3f}" for k, v in totals.items()))
    return {"epoch": epoch + 1, **{name: total / len(batches) for name, total in totals.items()}}


def _save_state(run_dir: Path, config, step, optimizer, epoch: int, history: list, seconds: float) -> None:
    """`seconds`: wall time spent on the run so far, over every invocation that trained part of it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    state = {
        "config": asdict(config),
        "epoch": epoch,
        "history": history,
        "seconds": seconds,
        "optimizer": optimizer.state_dict(),
        "trained": {k: v for k, v in step.state_dict().items() if k in _trainable_names(step)},
    }
    tmp = run_dir / "state.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, run_dir / "state.pt")


def _trainable_names(module: nn.Module) -> set[str]:
    return {n for n, p in module.named_parameters() if p.requires_grad}


def _resume(run_dir: Path, config, step, optimizer) -> tuple[int, list, float]:
    """(the epoch to start from, the history so far, the seconds spent so far) of the run in `run_dir`."""
    path = run_dir / "state.pt"
    if not path.is_file():
        return 0, [], 0.0
    state = torch.load(path, map_location="cpu", weights_only=False)
    previous, current = ({k: v for k, v in c.items() if k != "epochs"} for c in (state["config"], asdict(config)))
    if previous != current:  # more epochs may be asked of a run; anything else would mix two experiments
        raise CheckpointError(f"{run_dir} holds a run with another configuration; choose a new --out folder.")
    step.load_state_dict(state["trained"], strict=False)
    optimizer.load_state_dict(state["optimizer"])
    return state["epoch"] + 1, state["history"], state.get("seconds", 0.0)  # states saved before it: 0
