"""ResNet classifiers (torchvision ResNet-18, -34, -50) for greyscale mammogram patches.

The networks are torchvision's own :class:`torchvision.models.ResNet` with one change:
``conv1`` takes ``in_ch`` channels (1 for a greyscale mammogram) instead of 3. Repeating
the grey channel three times would cost the same after the first layer and give the
network nothing new; adapting ``conv1`` keeps the first layer's cost a third. When
ImageNet weights are used as the start (only if they are already in the local torch
cache: nothing is ever downloaded), the adapted ``conv1`` gets the sum of the pretrained
RGB filters, which is what those filters compute on a grey image repeated to RGB.

The module names are torchvision's (``conv1``, ``layer1`` ... ``layer4``, ``fc``), so
Grad-CAM's target layer is ``"layer4"`` (:data:`TARGET_LAYER`).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn
from torchvision.models import resnet as tv_resnet

from mammoview.nets.imagenet import imagenet_checkpoint, load_imagenet_weights, start_sentence

ARCHS = {
    "resnet18": (tv_resnet.BasicBlock, [2, 2, 2, 2]),
    "resnet34": (tv_resnet.BasicBlock, [3, 4, 6, 3]),
    "resnet50": (tv_resnet.Bottleneck, [3, 4, 6, 3]),
}
TARGET_LAYER = "layer4"


class ResNetClassifier(tv_resnet.ResNet):
    """A torchvision ResNet with ``in_ch`` input channels and ``num_classes`` logits.

    Parameters
    ----------
    arch : {"resnet18", "resnet34", "resnet50"}
    num_classes : int
        Output logits (2 for the cascade's stages).
    in_ch : int
        Input channels; 1 for greyscale (``conv1`` adapted, see the module notes).

    Examples
    --------
    >>> net = ResNetClassifier("resnet18", num_classes=2)
    >>> net(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 2])
    """

    ARCHITECTURE = "resnet"
    target_layer = TARGET_LAYER

    def __init__(self, arch: str = "resnet18", num_classes: int = 2, in_ch: int = 1) -> None:
        if arch not in ARCHS:
            raise ValueError(f"unknown ResNet {arch!r} (choose from {', '.join(ARCHS)})")
        if num_classes < 1 or in_ch < 1:
            raise ValueError(f"num_classes and in_ch must be >= 1, got {num_classes}, {in_ch}")
        block, layers = ARCHS[arch]
        super().__init__(block, layers, num_classes=num_classes)
        self.arch = arch
        self.in_ch = in_ch
        self.num_classes = num_classes
        if in_ch != 3:
            self.conv1 = nn.Conv2d(in_ch, 64, kernel_size=7, stride=2, padding=3, bias=False)
            nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")


def build_resnet(arch: str = "resnet18", *, num_classes: int = 2, in_ch: int = 1,
                 imagenet: bool = False) -> tuple[ResNetClassifier, str]:
    """A ResNet classifier and a sentence saying how it was initialised (for the card).

    Parameters
    ----------
    arch : {"resnet18", "resnet34", "resnet50"}
    num_classes, in_ch : see :class:`ResNetClassifier`.
    imagenet : bool
        Start from torchvision's ImageNet weights *if* they are already in the local torch
        cache (``torch.hub.get_dir()/checkpoints``); never downloaded. Without them (or
        when False) the network starts from torchvision's random initialisation.

    Returns
    -------
    (network, start) where ``start`` is "scratch ..." or "ImageNet ...".
    """
    net = ResNetClassifier(arch, num_classes=num_classes, in_ch=in_ch)
    cached = imagenet_checkpoint(arch) if imagenet else None
    if cached is not None:
        load_imagenet(net, cached)
    return net, start_sentence(arch, cached, imagenet, "conv1 summed over RGB, fc re-initialised")


def load_imagenet(net: ResNetClassifier, path: Path) -> None:
    """Copy ImageNet weights into ``net`` (conv1 summed to ``in_ch`` channels; fc left out)."""
    load_imagenet_weights(net, path, first_conv="conv1.weight", drop=("fc.weight", "fc.bias"))
