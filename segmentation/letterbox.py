"""SAM's input geometry: resize the longest side to S keeping the aspect ratio, pad bottom/right to S×S.

`Letterbox` also maps masks back: crop the unpadded region, resize to the source rows × cols.
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# Side of the mask decoder's output: 4 × the 64×64 embedding, whatever the encoder's input size (256 for LiteMedSAM,
# 1024 for MobileSAM and the ViTs). Training targets and TCI gates live on this grid.
MASK_GRID = 256


@dataclass(frozen=True)
class Letterbox:
    """Geometry of one source slice (rows × cols) inside a square encoder input of side `size`."""

    rows: int
    cols: int
    size: int

    @property
    def scale(self) -> float:
        return self.size / max(self.rows, self.cols)

    @property
    def inner_shape(self) -> tuple[int, int]:
        """Rows × cols of the resized image before padding."""
        return (max(1, round(self.rows * self.scale)), max(1, round(self.cols * self.scale)))

    def image_to_input(self, image: np.ndarray) -> torch.Tensor:
        """(rows, cols) or (N, rows, cols) float image → (N, 3, S, S) float32, bilinear with antialiasing."""
        batch = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).reshape(-1, 1, self.rows, self.cols)
        resized = F.interpolate(batch, size=self.inner_shape, mode="bilinear", align_corners=False, antialias=True)
        return self._pad(resized).expand(-1, 3, -1, -1).contiguous()

    def on_mask_grid(self) -> "Letterbox":
        """The same placement on the decoder's MASK_GRID × MASK_GRID output (masks and gates go there, not on the
        encoder's input grid)."""
        return Letterbox(self.rows, self.cols, MASK_GRID)

    def is_mask_grid(self) -> bool:
        """Whether the source's pixels are the decoder's mask-grid pixels one to one (a 256-pixel study, or a 512²
        one pooled for corrections): then `logits_to_source` only cuts the padding off, and any rows and columns of
        the grid are those of the source."""
        return self.on_mask_grid().inner_shape == (self.rows, self.cols)

    def mask_to_input(self, mask: np.ndarray) -> np.ndarray:
        """Label mask (rows, cols) → (S, S) nearest-neighbour, padding labelled 0."""
        tensor = torch.from_numpy(np.ascontiguousarray(mask)).to(torch.float32)[None, None]
        resized = F.interpolate(tensor, size=self.inner_shape, mode="nearest-exact")
        return self._pad(resized)[0, 0].numpy().astype(mask.dtype)

    def logits_to_source(self, logits: torch.Tensor) -> torch.Tensor:
        """(..., H, W) logits on any square grid over the input (e.g. 256² decoder output) → (..., rows, cols)."""
        grid = logits.shape[-1]
        inner = [round(n * grid / self.size) for n in self.inner_shape]
        cropped = logits[..., : inner[0], : inner[1]]
        flat = cropped.reshape(-1, 1, *cropped.shape[-2:]).float()
        restored = F.interpolate(flat, size=(self.rows, self.cols), mode="bilinear", align_corners=False)
        return restored.reshape(*logits.shape[:-2], self.rows, self.cols)

    def mask_to_source(self, mask: np.ndarray) -> np.ndarray:
        """Label mask on the S×S input grid → (rows, cols) nearest-neighbour; the exact inverse of mask_to_input
        whenever the scale maps source pixels onto whole input pixels."""
        inner = mask[: self.inner_shape[0], : self.inner_shape[1]]
        tensor = torch.from_numpy(np.ascontiguousarray(inner)).to(torch.float32)[None, None]
        restored = F.interpolate(tensor, size=(self.rows, self.cols), mode="nearest-exact")
        return restored[0, 0].numpy().astype(mask.dtype)

    def _pad(self, batch: torch.Tensor) -> torch.Tensor:
        rows, cols = batch.shape[-2:]
        return F.pad(batch, (0, self.size - cols, 0, self.size - rows))
