"""UNet (Ronneberger et al., MICCAI 2015) for lesion segmentation of a mammogram.

The encoder halves the size ``depth`` times with max pooling, doubling the channels
from ``base``; the decoder doubles the size back with transposed convolutions and
concatenates the encoder's features at each level. Each level is two 3 x 3
convolutions with batch norm and ReLU. The output is one logit per pixel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _DoubleConv(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """UNet with ``depth`` poolings and ``base`` channels at the top level.

    Parameters
    ----------
    in_ch, out_ch : int
        Input channels (1: greyscale in [0, 1]) and output logits per pixel.
    base : int
        Channels of the first level; level ``i`` has ``base * 2**i``.
    depth : int
        Number of poolings. Any input size works: it is padded (reflect) up to a
        multiple of ``2**depth`` and the output is cropped back to the input size.

    Examples
    --------
    >>> net = UNet(base=4, depth=2)
    >>> net(torch.zeros(1, 1, 30, 20)).shape
    torch.Size([1, 1, 30, 20])
    """

    ARCHITECTURE = "unet"

    def __init__(self, in_ch: int = 1, out_ch: int = 1, base: int = 16, depth: int = 4) -> None:
        super().__init__()
        if depth < 1 or base < 1:
            raise ValueError(f"UNet needs depth >= 1 and base >= 1, got depth={depth}, base={base}")
        self.depth = depth
        chans = [base * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList([_DoubleConv(in_ch, chans[0])])
        self.down.extend(_DoubleConv(chans[i], chans[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth)))
        self.merge = nn.ModuleList(_DoubleConv(2 * chans[i], chans[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(chans[0], out_ch, 1)
        # Start from "almost no pixel is a lesion" (prior 1 %), as lesions cover a few
        # per cent of a mammogram; a 0.5 start makes the first epochs mark everything.
        nn.init.constant_(self.head.bias, -4.6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows, cols = x.shape[-2:]
        unit = 2**self.depth
        pad_r, pad_c = (-rows) % unit, (-cols) % unit
        if pad_r or pad_c:
            # Reflect needs the pad smaller than the size; replicate covers tiny inputs.
            mode = "reflect" if pad_r < rows and pad_c < cols else "replicate"
            x = F.pad(x, (0, pad_c, 0, pad_r), mode=mode)
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, merge in zip(self.up, self.merge):
            x = merge(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)[..., :rows, :cols]
