"""Training slices as tensors: cached frozen embeddings of every style view, reference masks on the encoder input
grid, and the frozen text embedding of each view's style sentence. Built once per run; embeddings come from the
on-disk cache, so a second run (or another method on the same protocol) makes no encoder calls."""

from dataclasses import dataclass

import numpy as np
import torch
from rich.progress import Progress

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.orientation import axial_stack_to_ras
from causal_sam_llm.errors import DataLayoutError
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.intensity import to_unit_range
from causal_sam_llm.segmentation.style_augment import apply_restyle, random_restyle
from causal_sam_llm.segmentation.style_profile import StyleDescriber, describe_style, measure_style
from causal_sam_llm.segmentation.text_encoder import FrozenTextEncoder


@dataclass
class EmbeddedSlices:
    embeddings: torch.Tensor  # (N, 256, 64, 64) float16
    targets: torch.Tensor  # (N, C, S, S) uint8, the encoder input grid
    style_text: torch.Tensor  # (N, 384) unit vectors
    style_ids: torch.Tensor  # (N,) index of the style sentence
    pair_ids: torch.Tensor  # (N,) index of the anatomy slice: equal for style views of one slice
    sentences: list[str]

    def __len__(self) -> int:
        return len(self.embeddings)


def window_for(label_set_name: str) -> str:
    return "brain" if label_set_name == "brain_tumour" else "abdomen"


def selected_slices(depth: int, stride: int) -> np.ndarray:
    """Every `stride`-th axial slice, centred in the volume."""
    return np.arange((depth - 1) % stride // 2, depth, stride) if stride > 1 else np.arange(depth)


def require_every_class_annotated(cases: list[Case], classes: list[str], purpose: str) -> None:
    """Training and simulated corrections take an unmarked organ's voxels as background; a case whose reference
    marks only some classes (CHAOS CT: the liver) would teach or correct toward that, so it is refused."""
    for case in cases:
        missing = [c for c in classes if c not in case.annotated_classes]
        if missing:
            raise DataLayoutError(
                f"{case.case_id}'s reference marks only {', '.join(case.annotated_classes)}, not "
                f"{', '.join(missing)}: {purpose} needs every class marked (`eval` scores what such cases mark)."
            )


def class_masks(case: Case, classes: list[str]) -> np.ndarray:
    """(Z, C, rows, cols) bool masks of the requested classes, axial."""
    labels = case.axial_labels()
    return np.stack([case.label_set.mask(labels, c) for c in classes], axis=1)


def build_training_slices(
    cases: list[Case],
    classes: list[str],
    embedder: SliceEmbedder,
    text: FrozenTextEncoder,
    slice_stride: int = 2,
    restyles: int = 0,
    seed: int = 0,
    progress: bool = True,
    describer: StyleDescriber | None = None,
) -> EmbeddedSlices:
    """Every case contributes its native view; the first case of each anatomy also `restyles` random intensity
    restylings of the same slices (other native styles of that anatomy are views already)."""
    require_every_class_annotated(cases, classes, "training")
    rng = np.random.default_rng(seed)
    chunks, sentences, pair_keys = [], [], []
    restyled: set[str] = set()
    views = len(cases) + restyles * len({c.anatomy_key for c in cases})
    with Progress(disable=not progress) as bar:
        task = bar.add_task("embedding training views", total=views)
        for case in cases:
            window = window_for(case.label_set_name)
            unit = to_unit_range(case.axial_image(), case.modality, window)
            keep = selected_slices(unit.shape[0], slice_stride)
            masks = class_masks(case, classes)[keep]
            extra = 0 if case.anatomy_key in restyled else restyles
            restyled.add(case.anatomy_key)
            for view in range(1 + extra):
                if view == 0:
                    profile = describer.describe(case) if describer else describe_style(case)
                    pixels = unit[keep]
                else:
                    restyle = random_restyle(rng)
                    styled = apply_restyle(unit, restyle)
                    profile = measure_style(
                        axial_stack_to_ras(styled),
                        case.modality,
                        case.spacing_mm,
                        case.sequence,
                        augmentation=restyle.describe(),
                    )
                    pixels = styled[keep]
                embedded = embedder.embed_unit(pixels)
                on_grid = embedded.letterbox.on_mask_grid()  # the decoder's output grid, not the encoder's input
                targets = np.stack([[on_grid.mask_to_input(m.astype(np.uint8)) for m in s] for s in masks])
                chunks.append((embedded.embeddings, targets))
                sentences += [profile.sentence] * len(keep)
                pair_keys += [f"{case.voxel_key}:{z}" for z in keep]
                bar.advance(task)
    return _as_tensors(chunks, sentences, pair_keys, text)


def _as_tensors(chunks, sentences, pair_keys, text: FrozenTextEncoder) -> EmbeddedSlices:
    unique_sentences = list(dict.fromkeys(sentences))
    unique_pairs = {key: i for i, key in enumerate(dict.fromkeys(pair_keys))}
    return EmbeddedSlices(
        embeddings=torch.from_numpy(np.concatenate([c[0] for c in chunks]).astype(np.float16)),
        targets=torch.from_numpy(np.concatenate([c[1] for c in chunks]).astype(np.uint8)),
        style_text=text.encode(sentences),
        style_ids=torch.tensor([unique_sentences.index(s) for s in sentences]),
        pair_ids=torch.tensor([unique_pairs[k] for k in pair_keys]),
        sentences=unique_sentences,
    )
