"""TCI — test-time causal intervention. A validated `Intervention` becomes FiLM vectors (γ, β over the decoder's 32
upscaled mask channels, from a small learned generator) and a spatial gate (tci_gate.py). Applying it re-decodes only
the named organ on the touched slices from cached decoder features (`DecodedVolume`), so the image encoder never
runs again.

The generator is learned (tci_training.py): given the organ, action, region and strength it produces the modulation
of that organ's decoder evidence. When applied (tci_apply.py), the scalar level of the shift is solved so that the
amount the command asks for crosses 0.5, so the boundary moves where the modulated evidence ranks voxels most
organ-like, unlike a blind morphological edit of the mask. (Measured in README: once that level is solved, an
untrained identity FiLM scores the same as the trained one.) What the response learns that matters is the read-out
of that evidence with the image's own (`PlacementRanker`, tci_ranker.py), carried by the generator once trained.
"""

import numpy as np
import torch
from torch import nn

from causal_sam_llm.segmentation.film import OrganFilm
from causal_sam_llm.segmentation.intervention import ACTIONS, REGIONS, Intervention
from causal_sam_llm.segmentation.tci_ranker import PlacementRanker

MASK_CHANNELS = 32


class InterventionFilmGenerator(nn.Module):
    """(organ, action, region, strength) → (γ, β). Starts as the identity (γ = 1, β = 0)."""

    def __init__(self, organs: int, hidden: int = 64) -> None:
        super().__init__()
        self.organ = nn.Embedding(organs, 16)
        self.action = nn.Embedding(len(ACTIONS), 16)
        self.region = nn.Embedding(len(REGIONS), 16)
        self.net = nn.Sequential(nn.Linear(49, hidden), nn.GELU(), nn.Linear(hidden, 2 * MASK_CHANNELS))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        # the learned read-out of where a correction's amount goes (tci_ranker.py); stored apart in a checkpoint
        # ("tci_ranker", by `train-tci-ranker`), None until then: the evidence's fixed sum decides
        self.ranker: PlacementRanker | None = None

    def forward(
        self, organ: torch.Tensor, action: torch.Tensor, region: torch.Tensor, strength: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        code = torch.cat([self.organ(organ), self.action(action), self.region(region), strength[:, None]], dim=1)
        delta_gamma, beta = self.net(code).chunk(2, dim=1)
        scale = strength[:, None]
        return 1 + scale * delta_gamma, scale * beta


def encode_intervention(intervention: Intervention, organ_index: int) -> tuple[torch.Tensor, ...]:
    return (
        torch.tensor([organ_index]),
        torch.tensor([ACTIONS.index(intervention.action)]),
        torch.tensor([REGIONS.index(intervention.region)]),
        torch.tensor([intervention.strength]),
    )


def organ_film(
    generator: InterventionFilmGenerator, intervention: Intervention, organ_index: int, gate_on_input: np.ndarray
) -> OrganFilm:
    """FiLM for one organ over a batch of slices; gate_on_input: (B, S, S) on the encoder input grid."""
    device = next(generator.parameters()).device
    with torch.no_grad():
        gamma, beta = generator(*(t.to(device) for t in encode_intervention(intervention, organ_index)))
    gate = torch.from_numpy(gate_on_input).to(device, torch.float32)[:, None]
    return OrganFilm(gamma=gamma[0], beta=beta[0], gate=gate)
