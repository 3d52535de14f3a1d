"""LAD — Linguistic Adversarial Disentanglement — the training objective, in one place.

For a batch of slices i with adapted image embeddings z_i (256×64×64), organ logits y_i, reference masks m_i, and the
frozen text embedding t_i of the sentence that describes the style of the image the slice came from:

    L = L_seg + λ_style · L_style + λ_cons · L_cons

  L_seg   = BCE(σ(y), m) + mean_c [ 1 − 2 Σ_i |σ(y_ic) m_ic| / Σ_i (|σ(y_ic)| + |m_ic|) ]
            (cross-entropy + batch Dice: overlaps summed over the batch, so slices without an organ do not
            drive small organs to vanish)

  L_style = −(1/B) Σ_i log( Σ_{j: s_j = s_i} exp(⟨u_i, v_j⟩/τ) / Σ_j exp(⟨u_i, v_j⟩/τ) )
            u_i = norm(g(R(mean_xy z_i))),  v_j = norm(h(t_j)),  s = style sentence id      (supervised InfoNCE)

            g, h are small projection heads that *minimise* L_style: they learn to read the style sentence out of
            the pooled segmentation features. R is gradient reversal (identity forward, −α·∂ backward), so the
            adapter that produces z *maximises* L_style: the features the decoder sees become uninformative of the
            described style (modality, scanner, contrast, noise, bias field) while L_seg keeps them informative of
            anatomy.

  L_cons  = mean over view pairs (i, i') of the same anatomy slice of
            [ 1 − cos(z_i, z_i') averaged over the 64×64 positions ] + ‖σ(y_i) − σ(y_i')‖²_mean
            (content consistency: two styles of one slice must give the same features and the same masks).
"""

import torch
import torch.nn.functional as F
from torch import nn

from causal_sam_llm.segmentation.text_encoder import EMBED_DIM


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.alpha * grad, None


def reverse_gradient(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return _ReverseGradient.apply(x, alpha)


def segmentation_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy + batch Dice per class, averaged over classes. logits, targets: (B, C, H, W)."""
    targets = targets.float()
    bce = F.binary_cross_entropy_with_logits(logits, targets)
    probs = torch.sigmoid(logits)
    overlap = (probs * targets).sum((0, 2, 3))
    dice = 1 - (2 * overlap + 1) / (probs.sum((0, 2, 3)) + targets.sum((0, 2, 3)) + 1)
    return bce + dice.mean()


class LADObjective(nn.Module):
    def __init__(
        self,
        feature_dim: int = 256,
        projection: int = 128,
        temperature: float = 0.1,
        style_weight: float = 0.1,
        consistency_weight: float = 1.0,
        reversal: float = 1.0,
    ) -> None:
        super().__init__()
        self.feature_head = nn.Sequential(
            nn.Linear(feature_dim, projection), nn.GELU(), nn.Linear(projection, projection)
        )
        self.text_head = nn.Linear(EMBED_DIM, projection)
        self.temperature = temperature
        self.style_weight = style_weight
        self.consistency_weight = consistency_weight
        self.reversal = reversal

    def style_term(self, adapted: torch.Tensor, style_text: torch.Tensor, style_ids: torch.Tensor) -> torch.Tensor:
        pooled = reverse_gradient(adapted.mean((2, 3)), self.reversal)
        u = F.normalize(self.feature_head(pooled), dim=-1)
        v = F.normalize(self.text_head(style_text), dim=-1)
        scores = u @ v.T / self.temperature
        positives = style_ids[:, None] == style_ids[None, :]
        log_prob = scores.log_softmax(dim=1)
        return -(torch.logsumexp(log_prob.masked_fill(~positives, float("-inf")), dim=1)).mean()

    @staticmethod
    def consistency_term(adapted: torch.Tensor, logits: torch.Tensor, pair_ids: torch.Tensor) -> torch.Tensor:
        same = (pair_ids[:, None] == pair_ids[None, :]).triu(diagonal=1).nonzero()
        if len(same) == 0:
            return adapted.new_zeros(())
        a, b = same[:, 0], same[:, 1]
        features = 1 - F.cosine_similarity(adapted[a], adapted[b], dim=1).mean()
        masks = (torch.sigmoid(logits[a]) - torch.sigmoid(logits[b])).pow(2).mean()
        return features + masks

    def forward(self, adapted, logits, targets, style_text, style_ids, pair_ids) -> dict[str, torch.Tensor]:
        terms = {"seg": segmentation_loss(logits, targets)}
        terms["style"] = self.style_term(adapted, style_text, style_ids)
        terms["cons"] = self.consistency_term(adapted, logits, pair_ids)
        terms["total"] = terms["seg"] + self.style_weight * terms["style"] + self.consistency_weight * terms["cons"]
        return terms
