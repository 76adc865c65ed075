"""STN-ResNet-50 of the SRGAN/STN paper: a spatial transformer in front of a ResNet-50.

The network, for one grey patch ``x``:

1. optionally (``sr=True``) the super-resolution generator of MammoView's ``superres``
   task (:class:`~mammoview.nets.edsr.EDSR`, x2) enlarges the patch; its weights come from
   the active super-resolution model (:func:`attach_superres`) and stay frozen. The EDSR
   was trained on greys in [0, 1], so the standardised patch is mapped to [0, 1] by its own
   minimum and maximum and back afterwards (exact for the bicubic part of the EDSR,
   which is linear, approximate for its small learned residual);
2. a light localisation network (two convolutions with max-pooling, an adaptive pooling
   to 3 x 3 and two linear layers, about 5 k parameters) predicts a 2 x 3 affine matrix
   ``theta``; its last layer starts at zero weights and the identity as bias, so the
   untrained transformer passes the patch through unchanged;
3. the patch is resampled on ``affine_grid(theta)`` by a learnable blend
   ``W * Lanczos-3 + (1 - W) * bilinear``, with ``W = sigmoid(w)`` so that it stays in
   [0, 1], ``w = 0`` at the start (``W = 0.5``); the Lanczos sampler is
   :func:`mammoview.nets.lanczos.grid_sample_lanczos` (zero padding, as the bilinear one);
4. a ResNet-50 (one grey input channel, :class:`~mammoview.nets.resnet.ResNetClassifier`)
   of which only ``layer3`` and ``layer4`` train: ``conv1``, ``bn1``, ``layer1`` and
   ``layer2`` have ``requires_grad=False`` (the paper fine-tunes the last blocks of an
   ImageNet network; gradients still flow through them to the transformer);
5. a 2048-256-128-N head (ReLU between the layers, dropout 0.5 after the first).

Research use only, not for diagnosis.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mammoview.nets.edsr import EDSR
from mammoview.nets.lanczos import grid_sample_lanczos
from mammoview.nets.resnet import ResNetClassifier

FROZEN = ("conv1", "bn1", "layer1", "layer2")
# Smallest input side: the localisation network's 7x7 and 5x5 convolutions and two
# poolings leave one pixel at 18 px (the ResNet-50 itself runs down to 1 px at layer4).
MIN_INPUT = 18
# The shipped edsr-lite super-resolution network (models/superres.json).
SR_PARAMS = {"scale": 2, "features": 16, "blocks": 4, "res_scale": 0.1}


class AffineLocalizer(nn.Module):
    """Predicts the 2 x 3 affine matrix of the transformer; the identity at the start."""

    def __init__(self, in_ch: int = 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_ch, 8, kernel_size=7), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(8, 10, kernel_size=5), nn.MaxPool2d(2), nn.ReLU(),
            nn.AdaptiveAvgPool2d(3),
        )
        self.regressor = nn.Sequential(nn.Linear(10 * 3 * 3, 32), nn.ReLU(), nn.Linear(32, 6))
        nn.init.zeros_(self.regressor[-1].weight)
        with torch.no_grad():
            self.regressor[-1].bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.regressor(self.features(x).flatten(1)).view(-1, 2, 3)


class BlendSampler(nn.Module):
    """``W * Lanczos-3 + (1 - W) * bilinear`` sampling on an affine grid, ``W`` in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        # W = sigmoid(0) = 0.5 at the start: neither kernel preferred.
        self.w_logit = nn.Parameter(torch.zeros(()))

    @property
    def weight(self) -> torch.Tensor:
        return torch.sigmoid(self.w_logit)

    def forward(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        bilinear = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        lanczos = grid_sample_lanczos(x, grid, padding_mode="zeros", align_corners=False)
        w = self.weight
        return w * lanczos + (1 - w) * bilinear


class STNResNet50(nn.Module):
    """Spatial transformer + ResNet-50 (layer3, layer4 and the head train) + 2048-256-128-N head.

    Parameters
    ----------
    num_classes : logits (2 for the cascade's stages).
    in_ch : input channels (1: grey).
    sr : put the x2 super-resolution generator in front (frozen; see the module notes).

    Examples
    --------
    >>> STNResNet50(num_classes=2)(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 2])
    """

    ARCHITECTURE = "stn-resnet"
    target_layer = "backbone.layer4"

    def __init__(self, num_classes: int = 2, in_ch: int = 1, sr: bool = False) -> None:
        super().__init__()
        if num_classes < 1 or in_ch < 1:
            raise ValueError(f"num_classes and in_ch must be >= 1, got {num_classes}, {in_ch}")
        if sr and in_ch != 1:
            raise ValueError("the super-resolution front takes one grey channel")
        self.num_classes, self.in_ch = num_classes, in_ch
        self.arch = "stn-resnet50-sr" if sr else "stn-resnet50"
        self.sr = EDSR(**SR_PARAMS) if sr else None
        if self.sr is not None:
            self.sr.requires_grad_(False)
        self.localizer = AffineLocalizer(in_ch)
        self.sampler = BlendSampler()
        self.backbone = ResNetClassifier("resnet50", num_classes=num_classes, in_ch=in_ch)
        self.backbone.fc = nn.Identity()
        for name in FROZEN:
            getattr(self.backbone, name).requires_grad_(False)
        self.head = nn.Sequential(
            nn.Linear(2048, 256), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(256, 128), nn.ReLU(inplace=True), nn.Linear(128, num_classes),
        )

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """The (super-resolved and) spatially transformed input the ResNet sees."""
        if min(x.shape[-2:]) < MIN_INPUT:
            raise ValueError(f"{self.arch} needs inputs of at least {MIN_INPUT} x {MIN_INPUT} px, "
                             f"got shape {tuple(x.shape)}")
        if self.sr is not None:
            x = _through_unit_range(self.sr, x)
        return self.sampler(x, self.localizer(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(self.transform(x)))


def _through_unit_range(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``net`` applied to each sample mapped to [0, 1] by its own range, mapped back after."""
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    span = (x.amax(dim=(1, 2, 3), keepdim=True) - lo).clamp_min(1e-6)
    return net((x - lo) / span) * span + lo


def build_stn_resnet50(*, num_classes: int = 2, in_ch: int = 1, sr: bool = False,
                       imagenet: bool = False) -> tuple[STNResNet50, str]:
    """STN-ResNet-50 and its card's ``start``: the ResNet-50 from ImageNet weights only when
    they are in the local torch cache; the transformer and the head always from scratch."""
    from mammoview.nets.imagenet import imagenet_checkpoint, load_imagenet_weights, start_sentence

    net = STNResNet50(num_classes=num_classes, in_ch=in_ch, sr=sr)
    cached = imagenet_checkpoint("resnet50") if imagenet else None
    if cached is not None:
        load_imagenet_weights(net, cached, first_conv="conv1.weight", drop=("fc.weight", "fc.bias"),
                              prefix="backbone.")
    return net, start_sentence("resnet50", cached, imagenet, "ResNet-50 backbone only, conv1 summed over "
                               "RGB; transformer and head from scratch")


def attach_superres(net: STNResNet50, path=None) -> str:
    """Load the super-resolution weights into ``net.sr`` (the active ``superres`` model, or
    ``path``) and return a sentence for the card; ``ModelLoadError`` when there is none or
    it is not the edsr-lite shape the STN front is built for."""
    from mammoview.nets.store import ModelLoadError, find_model, load_model

    if net.sr is None:
        raise ValueError("this STN-ResNet-50 has no super-resolution front")
    path = path or find_model("superres")
    if path is None:
        raise ModelLoadError("superres.safetensors", "stn-resnet50-sr needs a super-resolution model "
                             "(train one with 'mammoview train superres --arch edsr-lite')")
    sr, card = load_model(path, task="superres", build=EDSR)
    wanted = {k: SR_PARAMS[k] for k in ("scale", "features", "blocks")}
    if any(card.arch_params.get(k) != v for k, v in wanted.items()):
        raise ModelLoadError(path, f"stn-resnet50-sr needs an EDSR with {wanted}, the model has {card.arch_params}")
    net.sr.load_state_dict(sr.state_dict())
    net.sr.requires_grad_(False)
    return f"super-resolution front: {card.task} model version {card.version} (frozen)"
