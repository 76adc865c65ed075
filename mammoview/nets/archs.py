"""The classifier architectures MammoView can train, in one registry.

The command line (``mammoview train --arch``, ``mammoview evaluate --archs``), the
training tasks (:mod:`mammoview.training.classifier_tasks`), the training dialog and the
cascade all take the names and builders from here:

=================  ==============================================================
``resnet18``       torchvision ResNet-18 (the ResNet-18 + LIME paper; shipped)
``resnet34``       torchvision ResNet-34
``resnet50``       torchvision ResNet-50 (the two-stage ResNet-50 paper)
``vgg16``          torchvision VGG-16 (the microcalcification paper's comparison)
``alexnet``        torchvision AlexNet (ditto)
``stn-resnet50``   spatial transformer (Lanczos/bilinear blend) + ResNet-50 (SRGAN/STN paper)
``stn-resnet50-sr`` the same behind the frozen x2 super-resolution generator
=================  ==============================================================

A model card names the network family in ``architecture`` ("resnet", "vgg", "alexnet",
"stn-resnet") and the preset in ``arch_params``; :func:`load_classifier` picks the
builder from the card, so any of them loads wherever a classifier is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mammoview.core.errors import MammoViewError


class InputTooSmall(MammoViewError):
    """A patch size below what an architecture can take; the message names both."""


@dataclass(frozen=True)
class ClassifierArch:
    """One selectable architecture.

    Attributes
    ----------
    name : the preset name users type ("vgg16").
    description : one line for menus and tables.
    family : the card's ``architecture`` (the builder's ``ARCHITECTURE``).
    params : ``arch_params`` besides ``num_classes`` and ``in_ch``.
    min_input : smallest patch side in pixels it accepts.
    paper : the paper that uses it.
    """

    name: str
    description: str
    family: str
    params: dict[str, Any] = field(default_factory=dict)
    min_input: int = 1
    paper: str = ""


CLASSIFIER_ARCHS: dict[str, ClassifierArch] = {a.name: a for a in (
    ClassifierArch("resnet18", "ResNet-18 (torchvision, grey conv1)", "resnet", {"arch": "resnet18"}, 1,
                   "ResNet-18 + LIME paper; microcalcification paper"),
    ClassifierArch("resnet34", "ResNet-34 (torchvision, grey conv1)", "resnet", {"arch": "resnet34"}, 1,
                   "microcalcification paper"),
    ClassifierArch("resnet50", "ResNet-50 (torchvision, grey conv1)", "resnet", {"arch": "resnet50"}, 1,
                   "two-stage ResNet-50 paper; microcalcification paper"),
    ClassifierArch("vgg16", "VGG-16 (torchvision, no batch norm, 4096-4096-N classifier)", "vgg",
                   {"arch": "vgg16"}, 32, "microcalcification paper"),
    ClassifierArch("alexnet", "AlexNet (torchvision, 4096-4096-N classifier)", "alexnet", {}, 63,
                   "microcalcification paper"),
    ClassifierArch("stn-resnet50", "spatial transformer (W*Lanczos-3 + (1-W)*bilinear) + ResNet-50, "
                   "layer3/4 + 2048-256-128-N head trained", "stn-resnet", {"sr": False}, 18, "SRGAN/STN paper"),
    ClassifierArch("stn-resnet50-sr", "STN-ResNet-50 behind the frozen x2 super-resolution generator "
                   "(needs a superres model)", "stn-resnet", {"sr": True}, 18, "SRGAN/STN paper"),
)}


def _families() -> dict[str, Callable[..., Any]]:
    from mammoview.nets.classic import AlexNetClassifier, VGGClassifier
    from mammoview.nets.resnet import ResNetClassifier
    from mammoview.nets.stn import STNResNet50

    return {c.ARCHITECTURE: c for c in (ResNetClassifier, VGGClassifier, AlexNetClassifier, STNResNet50)}


def _arch(name: str) -> ClassifierArch:
    if name not in CLASSIFIER_ARCHS:
        raise ValueError(f"unknown classifier architecture {name!r} (choose from {', '.join(CLASSIFIER_ARCHS)})")
    return CLASSIFIER_ARCHS[name]


def builder_for(family: str) -> Callable[..., Any]:
    """The network class of a card's ``architecture`` ("resnet", "vgg", ...)."""
    families = _families()
    if family not in families:
        raise ValueError(f"unknown classifier family {family!r} (known: {', '.join(families)})")
    return families[family]


def arch_params(name: str, *, num_classes: int = 2, in_ch: int = 1) -> dict[str, Any]:
    """The ``arch_params`` of a preset, as they go into the model card."""
    return {**_arch(name).params, "num_classes": num_classes, "in_ch": in_ch}


def task_archs(num_classes: int = 2) -> dict[str, tuple[type, dict]]:
    """``{name: (class, arch_params)}`` for a training task's ``archs``."""
    families = _families()
    return {n: (families[a.family], arch_params(n, num_classes=num_classes)) for n, a in CLASSIFIER_ARCHS.items()}


def build_classifier(name: str, *, num_classes: int = 2, in_ch: int = 1, imagenet: bool = False):
    """``(network, start)``: the preset's network and its card's ``start`` sentence.

    ``imagenet=True`` starts from torchvision's ImageNet weights only if they are already in
    the local torch cache (never downloaded); ``start`` says which file, or that none was.
    ``stn-resnet50-sr``'s super-resolution front still needs
    :func:`mammoview.nets.stn.attach_superres`.
    """
    from mammoview.nets.classic import build_alexnet, build_vgg16
    from mammoview.nets.resnet import build_resnet
    from mammoview.nets.stn import build_stn_resnet50

    a = _arch(name)
    if a.family == "resnet":
        return build_resnet(a.params["arch"], num_classes=num_classes, in_ch=in_ch, imagenet=imagenet)
    if a.family == "vgg":
        return build_vgg16(num_classes=num_classes, in_ch=in_ch, imagenet=imagenet)
    if a.family == "alexnet":
        return build_alexnet(num_classes=num_classes, in_ch=in_ch, imagenet=imagenet)
    return build_stn_resnet50(num_classes=num_classes, in_ch=in_ch, sr=a.params["sr"], imagenet=imagenet)


def count_parameters(name: str, *, num_classes: int = 2, in_ch: int = 1, trainable: bool = False) -> int:
    """Parameters of a preset (``trainable``: only those with ``requires_grad``), counted on
    torch's meta device: no memory is allocated, so VGG-16's 134 M cost nothing."""
    import torch

    cls = builder_for(_arch(name).family)
    with torch.device("meta"):
        net = cls(**arch_params(name, num_classes=num_classes, in_ch=in_ch))
    return sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable)


@dataclass(frozen=True)
class ArchSummary:
    """What a menu shows about an architecture."""

    name: str
    description: str
    parameters: int
    trainable: int
    min_input: int
    paper: str

    def label(self) -> str:
        """e.g. "vgg16 - VGG-16 (...) - 134.3 M parameters"."""
        trained = "" if self.trainable == self.parameters else f", {self.trainable / 1e6:.1f} M trained"
        return f"{self.name} - {self.description} - {self.parameters / 1e6:.1f} M parameters{trained}"


def classifier_archs(num_classes: int = 2, in_ch: int = 1) -> list[ArchSummary]:
    """Every selectable classifier architecture with a one-line description and its
    parameter count (for the training dialog and ``--help``)."""
    return [ArchSummary(a.name, a.description, count_parameters(a.name, num_classes=num_classes, in_ch=in_ch),
                        count_parameters(a.name, num_classes=num_classes, in_ch=in_ch, trainable=True),
                        a.min_input, a.paper) for a in CLASSIFIER_ARCHS.values()]


def check_input_size(name: str, size: int) -> None:
    """Refuse (:class:`InputTooSmall`) a patch side the architecture cannot take."""
    a = _arch(name)
    if size < a.min_input:
        raise InputTooSmall(f"{name} needs patches of at least {a.min_input} px (got {size} px); "
                            f"use --patch {max(a.min_input, 64)} or a larger patch")


def num_classes_of(module: Any) -> int:
    """Logits a loaded classifier outputs."""
    n = getattr(module, "num_classes", None)
    if n is None:
        n = getattr(getattr(module, "fc", None), "out_features", None)
    if n is None:
        raise ValueError(f"{type(module).__name__} does not say how many classes it outputs")
    return int(n)


#: Grad-CAM's map has one cell per feature-map position of its layer; fewer than this many
#: across a window and the hottest cell says little more than which quadrant (see below).
MIN_CAM_CELLS = 4
#: Downsampling of a ResNet's last two stages.
_RESNET_STRIDES = {"layer4": 32, "layer3": 16}


def target_layer_of(module: Any, input_size: int | None = None) -> str:
    """The layer Grad-CAM explains for this classifier on inputs ``input_size`` px wide.

    "layer4" for the ResNets (the paper's choice: the last convolutional block), except on
    windows too small for it: a 64 px window leaves layer4 a 2 x 2 map, so its hottest
    pixel lands a quarter-window off the evidence. There "layer3" (4 x 4) is used. On
    held-out MIAS lesions the hottest pixel fell inside the finding 5 of 39 times with
    layer4 and 12 of 39 with layer3 (two models and splits; bench/README.md).
    """
    name = str(getattr(module, "target_layer", "layer4"))
    prefix, _, last = name.rpartition(".")
    if input_size and last == "layer4" and input_size // _RESNET_STRIDES["layer4"] < MIN_CAM_CELLS:
        return f"{prefix}.layer3" if prefix else "layer3"
    return name


def load_classifier(path, *, task: str, device: Any = None):
    """``(module, card)`` of any registered classifier, the builder chosen by the card's
    ``architecture``; every refusal of :func:`mammoview.nets.store.load_model` applies, and an
    unknown architecture is refused with the same ``ModelLoadError``."""
    from mammoview.nets.store import ModelLoadError, load_model, model_paths, read_card

    card = read_card(path)
    try:
        build = builder_for(card.architecture)
    except ValueError as exc:
        raise ModelLoadError(model_paths(path)[0], f"model architecture {card.architecture!r} is not a "
                             f"classifier MammoView knows ({', '.join(_families())})") from exc
    return load_model(path, task=task, build=build, device=device)
