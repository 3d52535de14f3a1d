"""Learning the TCI response. For training slices with reference masks M, a simulated error is planted in the
decoder's output (a logit offset δ over a zone Z next to the organ: negative where the organ is cut short, positive
where it spills over), the matching command (organ, action, region, strength ∝ |δ|) is issued, and the FiLM
generator learns the modulation that brings the gated logits back to M:

    min_G  BCE+Dice( w·FiLM_G(f; cmd, gate(M_current)) + δ·1_Z ,  M )      (gate-weighted)

The decoder's features f stay frozen (computed once); only the generator G learns. Because the correction acts on the
decoder's own evidence, at test time it moves boundaries where the image supports the organ."""

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import Progress
from scipy.ndimage import binary_dilation, binary_erosion

from causal_sam_llm.segmentation.film import OrganFilm
from causal_sam_llm.segmentation.intervention import ACTIONS, GROWING, REGIONS, SHRINKING, Intervention
from causal_sam_llm.segmentation.segmenter import PromptFreeSegmenter
from causal_sam_llm.segmentation.tci import InterventionFilmGenerator
from causal_sam_llm.segmentation.tci_gate import _in_plane_side, intervention_gate
from causal_sam_llm.segmentation.training_set import EmbeddedSlices

IN_PLANE = ("whole", "anterior", "posterior", "left", "right")


@torch.no_grad()
def _decoder_features(segmenter: PromptFreeSegmenter, data: EmbeddedSlices, batch: int = 8):
    organs = list(range(len(segmenter.classes)))
    features, weights = [], []
    for start in range(0, len(data), batch):
        chunk = data.embeddings[start : start + batch].float()
        upscaled, organ_weights = segmenter.decode_features(segmenter.adapt(chunk), organs)
        features.append(upscaled.half())
        weights.append(organ_weights)
    return torch.cat(features), torch.cat(weights)


def _plant_error(
    reference: np.ndarray, action: str, region: str, strength: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float]:
    """(current mask the clinician sees, error zone Z, logit offset δ) for one slice."""
    depth = 2 + round(strength * 12)
    side = _in_plane_side(region, reference[None])[0] > 0.5
    if action in GROWING:
        zone = reference & ~binary_erosion(reference, iterations=depth) & side
        if action == "add_region":
            zone = reference & side
        return reference & ~zone, zone, -(2.0 + 6.0 * strength)
    if action in SHRINKING:
        zone = binary_dilation(reference, iterations=depth) & ~reference & side
        return reference | zone, zone, 2.0 + 6.0 * strength
    noise = rng.standard_normal(reference.shape) > 1.0
    zone = (binary_dilation(reference, iterations=2) & ~binary_erosion(reference, iterations=2)) & noise
    return reference ^ zone, zone, float(rng.choice([-4.0, 4.0]))


def train_tci(
    segmenter: PromptFreeSegmenter,
    data: EmbeddedSlices,
    spacing_mm: tuple[float, float, float],
    steps: int = 400,
    batch: int = 8,
    seed: int = 0,
    progress: bool = True,
) -> InterventionFilmGenerator:
    """spacing_mm: (slice, row, col) spacing of the encoder input grid."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    generator = InterventionFilmGenerator(len(segmenter.classes))
    optimizer = torch.optim.AdamW(generator.parameters(), lr=3e-3)
    upscaled, weights = _decoder_features(segmenter, data)
    present = data.targets.flatten(2).any(-1)  # (N, C)
    with Progress(disable=not progress) as bar:
        task = bar.add_task("training TCI response", total=steps)
        for _ in range(steps):
            loss = _step(segmenter, generator, upscaled, weights, data, present, spacing_mm, batch, rng)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            bar.advance(task)
    return generator.eval()


def _step(segmenter, generator, upscaled, weights, data, present, spacing_mm, batch, rng) -> torch.Tensor:
    organ = int(rng.integers(present.shape[1]))
    candidates = torch.nonzero(present[:, organ]).flatten().numpy()
    if candidates.size == 0:
        return generator.net[0].weight.sum() * 0
    picks = rng.choice(candidates, size=min(batch, candidates.size), replace=False)
    action = str(rng.choice(ACTIONS))
    region = str(rng.choice(IN_PLANE))
    strength = float(rng.uniform(0.05, 1.0))  # the simulated clinician asks for 0.1 and up
    reference = data.targets[picks, organ].numpy().astype(bool)
    planted = [_plant_error(r, action, region, strength, rng) for r in reference]
    current = np.stack([p[0] for p in planted])
    zone = torch.from_numpy(np.stack([p[1] for p in planted]).astype(np.float32))[:, None]
    offset = torch.tensor([p[2] for p in planted]).reshape(-1, 1, 1, 1)
    command = Intervention(organ=segmenter.classes[organ], action=action, region=region, strength=strength)
    # one slice at a time: the picks come from different cases, so a gate over the stack would take its side from a
    # centroid of unrelated slices and its organ body from pieces "connected" across them (the error is planted per
    # slice, about each slice's own centroid)
    gate = torch.from_numpy(np.concatenate([intervention_gate(command, c[None], spacing_mm) for c in current]))[:, None]
    gamma, beta = generator(
        torch.tensor([organ]),
        torch.tensor([ACTIONS.index(action)]),
        torch.tensor([REGIONS.index(region)]),
        torch.tensor([strength]),
    )
    film = {organ: OrganFilm(gamma[0], beta[0], gate)}
    logits = segmenter.logits_from_features(upscaled[picks].float(), weights[picks][:, [organ]], [organ], film)
    logits = logits + offset * zone
    target = torch.from_numpy(reference.astype(np.float32))[:, None]
    focus = 0.2 + gate
    bce = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * focus).mean()
    probs = torch.sigmoid(logits) * focus
    dice = 1 - (2 * (probs * target).sum() + 1) / (probs.sum() + (target * focus).sum() + 1)
    return bce + dice
