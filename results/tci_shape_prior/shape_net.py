"""Diagnostic (not shipped): a 3-D shape-completion prior (the four organs' masks in, completed organ logits out),
trained on CT references with simulated segmentation errors (cut short, tapered, a side dilated or eroded, a bite, a
spill, specks). It reads masks only, so what it learns on CT holds on MR."""

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

ORGANS = ["liver", "spleen", "right_kidney", "left_kidney"]


def block(i, o, k=(3, 3, 3)):
    pad = tuple(x // 2 for x in k)
    return nn.Sequential(nn.Conv3d(i, o, k, padding=pad), nn.GroupNorm(4, o), nn.SiLU())


class ShapeNet(nn.Module):
    def __init__(self, c=(8, 16, 32, 32), n=4):
        super().__init__()
        self.e1 = nn.Sequential(block(n, c[0], (1, 3, 3)), block(c[0], c[0]))
        self.e2 = nn.Sequential(block(c[0], c[1]), block(c[1], c[1]))
        self.e3 = nn.Sequential(block(c[1], c[2]), block(c[2], c[2]))
        self.e4 = nn.Sequential(block(c[2], c[3]), block(c[3], c[3]))
        self.d3 = block(c[3] + c[2], c[2])
        self.d2 = block(c[2] + c[1], c[1])
        self.d1 = block(c[1] + c[0], c[0])
        self.out = nn.Conv3d(c[0], n, 1)

    def forward(self, x):  # x: (B, 4, Z, 80, 80)
        z = x.shape[2]
        pad = (-z) % 4
        x = F.pad(x, (0, 0, 0, 0, 0, pad))
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool3d(e1, (1, 2, 2)))
        e3 = self.e3(F.max_pool3d(e2, (2, 2, 2)))
        e4 = self.e4(F.max_pool3d(e3, (2, 2, 2)))
        d3 = self.d3(torch.cat([F.interpolate(e4, size=e3.shape[2:], mode="trilinear"), e3], 1))
        d2 = self.d2(torch.cat([F.interpolate(d3, size=e2.shape[2:], mode="trilinear"), e2], 1))
        d1 = self.d1(torch.cat([F.interpolate(d2, size=e1.shape[2:], mode="trilinear"), e1], 1))
        return self.out(d1)[:, :, :z] + 6 * (2 * x[:, :, :z] - 1)  # residual: identity is free


def to_net(masks, f=4):  # (Z, 4, H, W) bool → (1, 4, Z, H/f, W/f) float
    t = torch.from_numpy(masks.astype(np.float32)).permute(1, 0, 2, 3)[None]
    return F.avg_pool3d(t, (1, f, f))


def half(masks):  # (Z, 4, 160, 160) bool → (Z, 4, 80, 80) bool
    return to_net(masks, 2)[0].permute(1, 0, 2, 3).numpy() > 0.5


def prior_logits(net, masks):  # (Z, 4, 160, 160) → (Z, 4, 160, 160) logits
    with torch.no_grad():
        out = net(to_net(masks))
        out = F.interpolate(out, scale_factor=(1, 4, 4), mode="trilinear")
    return out[0].permute(1, 0, 2, 3).numpy()


INPLANE = np.ones((1, 3, 3), bool)


def corrupt(mask, rng):
    """A reference organ mask (Z, H, W) with simulated segmentation errors."""
    m = mask.copy()
    if not m.any():
        return m
    zz, yy, xx = np.nonzero(m)
    for _ in range(rng.integers(1, 3)):
        kind = rng.choice(["cut", "taper", "morph", "side", "spill", "bite"], p=[0.3, 0.15, 0.2, 0.15, 0.1, 0.1])
        if kind in ("cut", "taper", "side"):
            axis = rng.choice([0, 1, 2], p=[0.5, 0.25, 0.25])
            coords = (zz, yy, xx)[axis]
            lo, hi = coords.min(), coords.max()
            frac = rng.uniform(0.05, 0.4)
            from_top = rng.random() < 0.5
            cut = hi - frac * (hi - lo + 1) if from_top else lo + frac * (hi - lo + 1)
            idx = np.arange(m.shape[axis]).reshape([-1 if a == axis else 1 for a in range(3)])
            region = (idx > cut) if from_top else (idx < cut)
            region = np.broadcast_to(region, m.shape)
            if kind == "cut":
                m &= ~region
            elif kind == "taper":
                m = np.where(region, ndimage.binary_erosion(m, INPLANE, iterations=int(rng.integers(1, 4))), m)
            else:
                r = int(rng.integers(1, 3))
                op = ndimage.binary_dilation if rng.random() < 0.5 else ndimage.binary_erosion
                m = np.where(region, op(m, INPLANE, iterations=r), m)
        elif kind == "morph":
            r = int(rng.integers(1, 3))
            op = ndimage.binary_dilation if rng.random() < 0.5 else ndimage.binary_erosion
            m = op(m, INPLANE, iterations=r)
        else:
            edge = np.argwhere(m & ~ndimage.binary_erosion(m, INPLANE))
            if len(edge) == 0:
                continue
            cz, cy, cx = edge[rng.integers(len(edge))]
            rz, ry, rx = rng.uniform(0.5, 2), rng.uniform(1.5, 5), rng.uniform(1.5, 5)
            Z, Y, X = np.ogrid[: m.shape[0], : m.shape[1], : m.shape[2]]
            blob = ((Z - cz) / rz) ** 2 + ((Y - cy) / ry) ** 2 + ((X - cx) / rx) ** 2 <= 1
            m = (m | blob) if kind == "spill" else (m & ~blob)
    if rng.random() < 0.25:  # specks elsewhere
        for _ in range(rng.integers(1, 4)):
            cz, cy, cx = rng.integers(0, m.shape[0]), rng.integers(15, 65), rng.integers(10, 70)
            m[cz, cy - 1 : cy + 1, cx - 1 : cx + 1] = True
    return m


def corrupted_masks(reference, rng):
    return np.stack([corrupt(reference[:, k], rng) for k in range(reference.shape[1])], 1)


def shift(arr, dy, dx):
    return np.roll(np.roll(arr, dy, axis=-2), dx, axis=-1)
