"""EDSR-style super-resolution (Lim et al., CVPRW 2017), small enough for a CPU.

A head convolution, ``blocks`` residual blocks (conv, ReLU, conv, scaled by
``res_scale``; no batch norm, which EDSR found harmful for super-resolution), a body
convolution with a long skip, then a pixel-shuffle upsampler and a tail convolution.
The network predicts the difference from a bicubic enlargement of its input (a global
skip, as in VDSR), which makes a small network train quickly and start from bicubic
quality instead of from zero.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class _ResBlock(nn.Module):
    def __init__(self, features: int, res_scale: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.conv2(F.relu(self.conv1(x)))


class EDSR(nn.Module):
    """Single-channel EDSR with a pixel-shuffle upsampler.

    Parameters
    ----------
    scale : int
        2, 4 or 8 (a power of two: one x2 pixel-shuffle stage per doubling).
    features : int
        Channels inside the network.
    blocks : int
        Residual blocks.
    res_scale : float
        Scaling of each residual branch (EDSR uses 0.1 for stability).

    Notes
    -----
    Input: (N, 1, H, W) greys in [0, 1]; output: (N, 1, scale*H, scale*W), not clipped.

    Examples
    --------
    >>> EDSR(features=8, blocks=1)(torch.zeros(1, 1, 5, 7)).shape
    torch.Size([1, 1, 10, 14])
    """

    ARCHITECTURE = "edsr"

    def __init__(self, scale: int = 2, features: int = 32, blocks: int = 8, res_scale: float = 0.1) -> None:
        super().__init__()
        stages = int(round(math.log2(scale))) if scale >= 2 else 0
        if scale < 2 or 2**stages != scale:
            raise ValueError(f"EDSR scale must be a power of two >= 2, got {scale}")
        self.scale = scale
        self.head = nn.Conv2d(1, features, 3, padding=1)
        self.body = nn.Sequential(*[_ResBlock(features, res_scale) for _ in range(blocks)])
        self.body_tail = nn.Conv2d(features, features, 3, padding=1)
        ups: list[nn.Module] = []
        for _ in range(stages):
            ups += [nn.Conv2d(features, 4 * features, 3, padding=1), nn.PixelShuffle(2)]
        self.upsample = nn.Sequential(*ups)
        self.tail = nn.Conv2d(features, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        # Centre the greys so the first convolution sees zero-mean input.
        feat = self.head(x - 0.5)
        feat = feat + self.body_tail(self.body(feat))
        return base + self.tail(self.upsample(feat))
