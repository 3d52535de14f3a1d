"""Diagnostic (not shipped): train shape_net.py's completion prior on ct_to_mr's CT training references.

Run from the repository root: `python results/tci_shape_prior/train_shape.py train 700` (16 min on 2 busy cores;
train_shape.log: BCE loss and the Dice of the corrupted input and of the completed output on each batch).
"""

import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, "results/tci_shape_prior")
from shape_net import ORGANS, ShapeNet, corrupted_masks, half, shift, to_net

from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.segmentation.training_set import class_masks

torch.set_num_threads(2)
cases = load_protocol("ct_to_mr").case_list(sys.argv[1] if len(sys.argv) > 1 else "train")
refs = [half(class_masks(c, ORGANS)) for c in cases]
print(len(refs), refs[0].shape, flush=True)
rng = np.random.default_rng(0)
torch.manual_seed(0)
net = ShapeNet()
print("params", sum(p.numel() for p in net.parameters()), flush=True)
opt = torch.optim.AdamW(net.parameters(), 3e-3, weight_decay=1e-4)
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 1200
sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
t0 = time.time()
for step in range(steps):
    xs, ys = [], []
    for _ in range(4):
        ref = refs[rng.integers(len(refs))]
        dy, dx = rng.integers(-4, 5, 2)
        ref = shift(ref, dy, dx)
        xs.append(to_net(corrupted_masks(ref, rng), 2))
        ys.append(to_net(ref, 2))
    x, y = torch.cat(xs), torch.cat(ys)
    out = net(x)
    loss = F.binary_cross_entropy_with_logits(out, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 50 == 0:
        with torch.no_grad():
            p = out > 0
            dice = (2 * (p & (y > 0.5)).sum() / (p.sum() + (y > 0.5).sum())).item()
            xin = x > 0.5
            din = (2 * (xin & (y > 0.5)).sum() / (xin.sum() + (y > 0.5).sum())).item()
        print(f"{step} loss {loss.item():.4f} dice in {din:.3f} out {dice:.3f} {time.time() - t0:.0f}s", flush=True)
torch.save(net.state_dict(), "/tmp/shape_prior_net.pt")
