"""Evidence from the backbone's own promptable decoder: a SAM-family model segments what a box around an object
encloses, and LiteMedSAM's decoder learned that on medical images of many modalities, MR among them. Each slice of
an organ gets a box around the organ's body there (its nearest slice's on slices it does not reach yet) widened by
MARGIN_MM, and the pretrained decoder's logits for that box join the evidence that decides where a correction's
commanded amount goes (tci_apply.py).

Why: in an unseen domain the CT-trained prompt-free decoder is blindest exactly where an organ was cut short (its
logits there are far below zero, and lowest on the slices it missed entirely), while the box-prompted decoder, asked
"what is the object in this box", still outlines the organ there. It costs one pass of SAM's small two-way
transformer per slice from the cached embeddings (no encoder call), 30–50 ms on 2 CPU cores: too slow to repeat in
every correction of a large organ (the liver's 93 slices took 3 s), so each organ's boxed logits are decoded once,
right after segmentation and in the background (box_prefetch.py), on every slice a single command could touch
(`keep_for_corrections`), and kept with the decoded volume; a slice a later correction reaches beyond those is
decoded when first needed. The boxes are those of the organ at that moment, widened so that later corrections still
move inside them. The weight was chosen on ct_to_mr's TRAINING domain (README, "TCI": `eval-tci --split train
--box-weight W`)."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from causal_sam_llm.segmentation.backbone import FrozenSamBackbone
from causal_sam_llm.segmentation.decoded_volume import DecodedVolume
from causal_sam_llm.segmentation.intervention import Intervention
from causal_sam_llm.segmentation.letterbox import Letterbox
from causal_sam_llm.segmentation.tci_gate import organ_body, slice_range

BOX_WEIGHT = 1.0
LOGIT_CLIP = 10.0  # beyond this the decoder is sure either way; unclipped, its ±30 would drown the other evidence
# how far beyond the organ a box reaches: about the gate of a typical grow (3 reaches of 5 mm). A tighter box outlines
# the organ better on its own but votes against the rest of the gate (README, "TCI": `eval-tci --box-margin M`)
MARGIN_MM = 15.0

Box = tuple[int, int, int, int]  # first row, first column, last row, last column (inclusive), source pixels


@contextmanager
def box_margin(margin_mm: float) -> Iterator[None]:
    """Every box made inside the block reaches `margin_mm` beyond the organ; the default comes back afterwards. For
    sweeps of the margin (`eval-tci --box-margin`); boxed logits kept from before the block are not redone."""
    global MARGIN_MM
    if margin_mm < 0:
        raise ValueError(f"the box margin must be at least 0 mm, got {margin_mm:g}")
    default, MARGIN_MM = MARGIN_MM, margin_mm
    try:
        yield
    finally:
        MARGIN_MM = default


def organ_box_logits(
    backbone: FrozenSamBackbone,
    decoded: DecodedVolume,
    mask: np.ndarray,
    organ: int,
    slices: Iterable[int],
    spacing_mm: tuple[float, float, float],
) -> np.ndarray:
    """(len(slices), rows, cols) boxed logits of `organ` (its current `mask`: Z, rows, cols) on the source grid,
    from what `decoded` keeps; slices not seen yet are decoded now and kept."""
    slices = [int(z) for z in slices]
    _decode_missing(backbone, decoded, mask, organ, slices, spacing_mm)
    kept = decoded.box_logits[organ]
    stacked = torch.stack([kept[z] for z in slices]).float()
    return decoded.letterbox.logits_to_source(stacked).clamp(-LOGIT_CLIP, LOGIT_CLIP).numpy()


def keep_for_corrections(
    backbone: FrozenSamBackbone,
    decoded: DecodedVolume,
    masks: np.ndarray,
    organs: list[int],
    spacing_mm: tuple[float, float, float],
) -> int:
    """Decode and keep each of `organs`' boxed logits (`masks`: Z, C, rows, cols, as just segmented) on every slice
    one command without a slice range could touch (`reachable_slices`), so that no correction has to decode them;
    slices kept already are not redone. Returns how many slices were decoded. (After segmentation the assistant does
    this in the background, organ by organ: box_prefetch.py.)"""
    present = [organ for organ in organs if masks[:, organ].any()]
    return sum(
        _decode_missing(backbone, decoded, masks[:, o], o, reachable_slices(masks[:, o], spacing_mm), spacing_mm)
        for o in present
    )


def reachable_slices(mask: np.ndarray, spacing_mm: tuple[float, float, float]) -> list[int]:
    """The slices a full-strength grow of the whole organ can touch: no command without a slice range reaches
    farther (tci_gate.slice_range)."""
    widest = Intervention(organ="any", action="expand", region="whole", strength=1.0)
    first, last = slice_range(widest, mask, spacing_mm)
    return list(range(first, last + 1))


def _decode_missing(
    backbone: FrozenSamBackbone,
    decoded: DecodedVolume,
    mask: np.ndarray,
    organ: int,
    slices: list[int],
    spacing_mm: tuple[float, float, float],
) -> int:
    """Decodes `organ`'s boxed logits on those of `slices` not kept yet, boxed around its current `mask`, and keeps
    them; returns how many it decoded."""
    kept = decoded.box_logits.get(organ, {})
    new = [z for z in slices if z not in kept]
    if new:
        keep_boxed(backbone, decoded, organ, new, organ_boxes(mask, np.asarray(new), spacing_mm))
    return len(new)


def keep_boxed(
    backbone: FrozenSamBackbone,
    decoded: DecodedVolume,
    organ: int,
    slices: list[int],
    boxes: list[Box | None],
    between_batches: Callable[[], object] | None = None,
) -> None:
    """Decodes `organ`'s logits on `slices`, each prompted with its box (`organ_boxes`), and keeps them in
    `decoded`. `between_batches`: called before each batch (the background pass waits there while the foreground
    has the cores, box_prefetch.py)."""
    grid = box_logits(
        backbone, decoded.embeddings, decoded.letterbox, np.asarray(slices), boxes, between_batches=between_batches
    )
    decoded.box_logits.setdefault(organ, {}).update(zip(slices, grid, strict=True))


def organ_boxes(mask: np.ndarray, slices: np.ndarray, spacing_mm: tuple[float, float, float]) -> list[Box | None]:
    """On each of `slices`, the box around the organ's body (its nearest slice's where it has none there), widened
    by MARGIN_MM within the image; None when the organ is nowhere. Specks elsewhere stay outside (a box stretched to
    a far speck outlines nothing in particular, and so a shrink takes them first)."""
    body = organ_body(mask)
    occupied = np.nonzero(body.any(axis=(1, 2)))[0]
    if occupied.size == 0:
        return [None] * len(slices)
    nearest = occupied[np.abs(occupied[None, :] - np.asarray(slices)[:, None]).argmin(axis=1)]
    rows, cols = mask.shape[1:]
    widen_rows, widen_cols = (round(MARGIN_MM / step) for step in spacing_mm[1:])
    boxes: list[Box | None] = []
    for first_row, first_col, last_row, last_col in slice_boxes(body[nearest]):
        boxes.append(
            (
                max(0, first_row - widen_rows),
                max(0, first_col - widen_cols),
                min(rows - 1, last_row + widen_rows),
                min(cols - 1, last_col + widen_cols),
            )
        )
    return boxes


def slice_boxes(region: np.ndarray) -> list[Box | None]:
    """The bounding box of `region` (Z, rows, cols) on each slice; None where a slice holds none of it."""
    boxes: list[Box | None] = []
    for plane in region:
        rows, cols = np.nonzero(plane.any(axis=1))[0], np.nonzero(plane.any(axis=0))[0]
        boxes.append((int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])) if rows.size else None)
    return boxes


@torch.inference_mode()
def box_logits(
    backbone: FrozenSamBackbone,
    embeddings: torch.Tensor,
    letterbox: Letterbox,
    slices: np.ndarray,
    boxes: list[Box | None],
    batch: int = 2,
    between_batches: Callable[[], object] | None = None,
) -> torch.Tensor:
    """(len(slices), S, S) float16 logits on the decoder's output grid of the pretrained decoder prompted with each
    slice's box (source pixels), clipped to ±LOGIT_CLIP; −LOGIT_CLIP on slices without a box. `embeddings`: the
    volume's (Z, 256, 64, 64) cached ones. Two slices per batch: on 2 cores faster than eight (`make bench`: 37 vs
    51 ms per slice, identical logits), and the pass holds about 60 MB while it runs instead of about 220 MB, which
    matters because it runs beside the LLM (box_prefetch.py; measured in a throw-away run, the issue's note)."""
    side = letterbox.on_mask_grid().size
    result = torch.full((len(slices), side, side), -LOGIT_CLIP, dtype=torch.float16)
    boxed = [i for i, box in enumerate(boxes) if box is not None]
    for start in range(0, len(boxed), batch):
        if between_batches is not None:
            between_batches()
        chosen = boxed[start : start + batch]
        pick = torch.as_tensor(np.asarray(slices)[chosen])
        chunk = embeddings[pick].to(backbone.device, torch.float32)
        prompts = torch.tensor([_input_box(boxes[i], letterbox) for i in chosen], device=backbone.device)
        # with a bf16 backbone (inference only) under bf16 autocast, as the segmenter's own decoder runs
        with torch.autocast(chunk.device.type, torch.bfloat16, enabled=backbone.precision == "bf16"):
            logits = decode_boxes(backbone, chunk, prompts).float().cpu()
        result[chosen] = logits.clamp(-LOGIT_CLIP, LOGIT_CLIP).half()
    return result


def decode_boxes(backbone: FrozenSamBackbone, embeddings: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(B, S, S) single-mask logits of the pretrained decoder, one box (x0, y0, x1, y1 on the encoder input) per
    embedding: SAM's `MaskDecoder` with `multimask_output=False`, batched over images (SAM's own call repeats one
    image for many prompts instead)."""
    decoder = backbone.promptable_decoder()
    sparse, dense = backbone.prompt_encoder(points=None, boxes=boxes, masks=None)
    fixed = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
    tokens = torch.cat([fixed.expand(len(boxes), -1, -1), sparse], dim=1)
    position = backbone.prompt_encoder.get_dense_pe()
    token_out, image_out = decoder.transformer(embeddings + dense, position, tokens)
    side = embeddings.shape[-1]
    upscaled = decoder.output_upscaling(image_out.transpose(1, 2).reshape(len(boxes), -1, side, side))
    weights = decoder.output_hypernetworks_mlps[0](token_out[:, 1])  # the first mask token: the single-mask output
    return torch.einsum("bk,bkhw->bhw", weights, upscaled)


def _input_box(box: Box, letterbox: Letterbox) -> list[float]:
    """A source-pixel box on the encoder's input grid, as SAM takes it: x0, y0, x1, y1 with x along columns."""
    first_row, first_col, last_row, last_col = box
    scale = letterbox.scale
    return [first_col * scale, first_row * scale, (last_col + 1) * scale, (last_row + 1) * scale]
