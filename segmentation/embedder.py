"""Slices → frozen-encoder embeddings, through the on-disk cache. Counts encoder calls so tests can prove cache use."""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from rich.progress import Progress

from causal_sam_llm.segmentation.backbone import FrozenSamBackbone
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache, embedding_key
from causal_sam_llm.segmentation.intensity import Modality, to_unit_range
from causal_sam_llm.segmentation.letterbox import Letterbox
from causal_sam_llm.segmentation.validation import check_image


@dataclass(frozen=True)
class EmbeddedVolume:
    """Embeddings (slices, 256, 64, 64) float32 and the geometry that maps decoder outputs back to the source."""

    embeddings: np.ndarray
    letterbox: Letterbox


class SliceEmbedder:
    """Embeds 2-D slices or slice stacks with a frozen backbone. Embeddings are float16-rounded whether computed or
    read from the cache, so the two paths return identical arrays."""

    def __init__(self, backbone: FrozenSamBackbone, cache: EmbeddingCache | None = None) -> None:
        self.backbone = backbone
        self.cache = cache
        self.encoder_calls = 0

    def embed(
        self, image: np.ndarray, modality: Modality, window: str = "abdomen", progress: bool = False
    ) -> EmbeddedVolume:
        """image: (rows, cols) slice or (slices, rows, cols) volume in HU (CT) or raw signal (MR)."""
        values = check_image(image)
        volume = values[None] if values.ndim == 2 else values
        return self.embed_unit(to_unit_range(volume, modality, window), progress)

    def embed_unit(self, unit: np.ndarray, progress: bool = False) -> EmbeddedVolume:
        """unit: (slices, rows, cols) intensities already normalised to 0..1 (e.g. a style-augmented view)."""
        letterbox = Letterbox(rows=unit.shape[1], cols=unit.shape[2], size=self.backbone.spec.input_size)
        embeddings = np.stack(list(self._embed_slices(unit, letterbox, progress)))
        return EmbeddedVolume(embeddings=embeddings, letterbox=letterbox)

    def _embed_slices(self, unit: np.ndarray, letterbox: Letterbox, progress: bool) -> Iterator[np.ndarray]:
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task(f"embedding ({self.backbone.spec.name})", total=len(unit))
            for slice_ in unit:
                yield self._embed_one(letterbox.image_to_input(slice_))
                bar.advance(task)

    def _embed_one(self, encoder_input: torch.Tensor) -> np.ndarray:
        key = embedding_key(encoder_input.numpy(), self.backbone.cache_name, self.backbone.weights_sha256)
        cached = self.cache.get(key) if self.cache else None
        if cached is not None:
            return cached.astype(np.float32)
        self.encoder_calls += 1
        embedding = self.backbone.encode(encoder_input)[0].cpu().numpy().astype(np.float16)
        if self.cache:
            self.cache.put(key, embedding)
        return embedding.astype(np.float32)
