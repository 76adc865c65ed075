"""VGG-16 and AlexNet for greyscale patches: the other networks of the microcalcification
paper's comparison (beside ResNet-18, -34 and -50, :mod:`mammoview.nets.resnet`).

Both are torchvision's own classes with two changes, as for the ResNets: the first
convolution takes ``in_ch`` channels (1 for a grey mammogram), and the last
classification layer has ``num_classes`` outputs instead of ImageNet's 1000 (the two
4096-wide hidden layers stay, as in the paper's transfer-learning set-up).

Small inputs: torchvision puts an adaptive average pooling between the convolutions and
the classifier, so any input size works as long as the convolutions leave at least one
pixel. VGG-16 halves the size five times (at least 32 px); AlexNet's stride-4 11 x 11
convolution and three 3 x 3 / 2 max-poolings need at least 63 px (:data:`MIN_INPUT`).
A smaller input is refused with that number instead of a shape error deep in torch.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import AlexNet, VGG
from torchvision.models.vgg import cfgs, make_layers

from mammoview.nets.imagenet import imagenet_checkpoint, load_imagenet_weights, start_sentence

MIN_INPUT = {"vgg16": 32, "alexnet": 63}


def check_input(name: str, x: torch.Tensor, minimum: int) -> None:
    """Refuse an input smaller than ``minimum`` px a side with a clear message."""
    if x.ndim != 4 or min(x.shape[-2:]) < minimum:
        raise ValueError(f"{name} needs inputs of at least {minimum} x {minimum} px, got shape {tuple(x.shape)}")


class VGGClassifier(VGG):
    """torchvision VGG-16 (no batch norm) with ``in_ch`` inputs and ``num_classes`` logits.

    Examples
    --------
    >>> VGGClassifier(num_classes=2)(torch.zeros(1, 1, 32, 32)).shape
    torch.Size([1, 2])
    """

    ARCHITECTURE = "vgg"
    target_layer = "features"

    def __init__(self, arch: str = "vgg16", num_classes: int = 2, in_ch: int = 1) -> None:
        if arch != "vgg16":
            raise ValueError(f"unknown VGG {arch!r} (only vgg16)")
        if num_classes < 1 or in_ch < 1:
            raise ValueError(f"num_classes and in_ch must be >= 1, got {num_classes}, {in_ch}")
        super().__init__(make_layers(cfgs["D"], batch_norm=False), num_classes=num_classes)
        self.arch, self.in_ch, self.num_classes = arch, in_ch, num_classes
        if in_ch != 3:
            self.features[0] = nn.Conv2d(in_ch, 64, kernel_size=3, padding=1)
            # torchvision's own initialisation of VGG's convolutions.
            nn.init.kaiming_normal_(self.features[0].weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(self.features[0].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self.arch, x, MIN_INPUT["vgg16"])
        return super().forward(x)


class AlexNetClassifier(AlexNet):
    """torchvision AlexNet with ``in_ch`` inputs and ``num_classes`` logits.

    Examples
    --------
    >>> AlexNetClassifier(num_classes=2)(torch.zeros(1, 1, 64, 64)).shape
    torch.Size([1, 2])
    """

    ARCHITECTURE = "alexnet"
    target_layer = "features"

    def __init__(self, num_classes: int = 2, in_ch: int = 1) -> None:
        if num_classes < 1 or in_ch < 1:
            raise ValueError(f"num_classes and in_ch must be >= 1, got {num_classes}, {in_ch}")
        super().__init__(num_classes=num_classes)
        self.arch, self.in_ch, self.num_classes = "alexnet", in_ch, num_classes
        if in_ch != 3:
            self.features[0] = nn.Conv2d(in_ch, 64, kernel_size=11, stride=4, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self.arch, x, MIN_INPUT["alexnet"])
        return super().forward(x)


def build_vgg16(*, num_classes: int = 2, in_ch: int = 1, imagenet: bool = False) -> tuple[VGGClassifier, str]:
    """VGG-16 and its card's ``start`` (ImageNet weights only from the local torch cache)."""
    net = VGGClassifier("vgg16", num_classes=num_classes, in_ch=in_ch)
    cached = imagenet_checkpoint("vgg16") if imagenet else None
    if cached is not None:
        load_imagenet_weights(net, cached, first_conv="features.0.weight",
                              drop=("classifier.6.weight", "classifier.6.bias"))
    return net, start_sentence("vgg16", cached, imagenet,
                               "first convolution summed over RGB, last layer re-initialised")


def build_alexnet(*, num_classes: int = 2, in_ch: int = 1, imagenet: bool = False) -> tuple[AlexNetClassifier, str]:
    """AlexNet and its card's ``start`` (ImageNet weights only from the local torch cache)."""
    net = AlexNetClassifier(num_classes=num_classes, in_ch=in_ch)
    cached = imagenet_checkpoint("alexnet") if imagenet else None
    if cached is not None:
        load_imagenet_weights(net, cached, first_conv="features.0.weight",
                              drop=("classifier.6.weight", "classifier.6.bias"))
    return net, start_sentence("alexnet", cached, imagenet,
                               "first convolution summed over RGB, last layer re-initialised")
