"""An inference copy of a frozen image encoder for bf16: batch norms folded into the convolutions before them and
every weight stored in bf16. Against running the fp32 encoder under autocast this skips the per-call weight casts
and the separate batch-norm passes (README, Speed, has the side-by-side numbers and the Dice check)."""

import copy
import itertools

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def bf16_inference_copy(encoder: nn.Module) -> nn.Module:
    """A bf16, BN-folded, channels_last copy of `encoder` (left untouched), for inference only."""
    fast = copy.deepcopy(encoder).eval()
    fold_batch_norms(fast)
    return fast.to(torch.bfloat16).to(memory_format=torch.channels_last)


def fold_batch_norms(module: nn.Module) -> int:
    """Fold each BatchNorm2d that directly follows a Conv2d in the same parent into that convolution (the BN becomes
    an Identity). Exact in eval mode up to rounding. Returns how many were folded."""
    folded = 0
    for parent in module.modules():
        children = list(parent.named_children())
        for (conv_name, conv), (norm_name, norm) in itertools.pairwise(children):
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                setattr(parent, conv_name, fuse_conv_bn_eval(conv, norm))
                setattr(parent, norm_name, nn.Identity())
                folded += 1
    return folded
