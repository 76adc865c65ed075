"""Where a run's weights start: from scratch, from ImageNet, or from a model (fine-tuning).

``config.start`` is "scratch" (the network's own seeded initialisation), "imagenet"
(torchvision's ImageNet weights, only if they are already in the local torch cache:
nothing is ever downloaded) or "finetune" (the weights of ``config.init_from``, a model
of the same task and architecture, checked by :func:`mammoview.nets.store.load_model`).
:func:`apply_start` loads them into the freshly built network and returns the sentence
the model card's ``start`` keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mammoview.core.errors import MammoViewError

START_CHOICES = ("scratch", "imagenet", "finetune")
SCRATCH = "scratch (random initialisation, seeded; no pretrained weights)"


class StartError(MammoViewError):
    """The run cannot start from the weights asked for; the message says why."""


def preset_of(spec, card) -> str | None:
    """The architecture preset of ``spec`` that built the model of ``card`` (or None)."""
    for name, (cls, params) in spec.archs.items():
        if getattr(cls, "ARCHITECTURE", None) == card.architecture and dict(params) == dict(card.arch_params or {}):
            return name
    return None


#: torchvision's network whose ImageNet weights start each classifier family.
_IMAGENET_OF_FAMILY = {"vgg": "vgg16", "alexnet": "alexnet", "stn-resnet": "resnet50"}


def imagenet_name(spec, arch: str) -> str | None:
    """torchvision's name of the network whose ImageNet weights start preset ``arch``
    ("resnet18", "vgg16", "resnet50" for STN-ResNet-50...), else None (UNet, EDSR)."""
    try:
        from mammoview.nets.archs import CLASSIFIER_ARCHS
    except ImportError:  # no architectures registry: no ImageNet start
        return None
    preset = CLASSIFIER_ARCHS.get(arch)
    if preset is None or arch not in spec.archs:
        return None
    return preset.params.get("arch") if preset.family == "resnet" else _IMAGENET_OF_FAMILY.get(preset.family)


def imagenet_file(spec, arch: str) -> Path | None:
    """The cached ImageNet checkpoint for preset ``arch``, or None (never downloads)."""
    from mammoview.nets.imagenet import imagenet_checkpoint

    name = imagenet_name(spec, arch)
    return imagenet_checkpoint(name) if name else None


def apply_start(spec, model, arch: str, config) -> str:
    """Load the start weights into ``model`` (built from preset ``arch``); the card's sentence.

    Raises
    ------
    StartError
        Unknown start; ImageNet weights not in the cache (or none for this network); a
        model to fine-tune that is missing, of another task or of another architecture.
    """
    start = getattr(config, "start", "scratch") or "scratch"
    if start == "scratch":
        return SCRATCH
    if start == "imagenet":
        return _imagenet(spec, model, arch)
    if start == "finetune":
        return _finetune(spec, model, arch, getattr(config, "init_from", None))
    raise StartError(f"unknown start {start!r} (choose from {', '.join(START_CHOICES)})")


def _imagenet(spec, model, arch: str) -> str:
    """The architecture's own ImageNet builder (:func:`mammoview.nets.archs.build_classifier`),
    its weights copied into ``model`` (the run's seeded network, on its device)."""
    from mammoview.nets.archs import build_classifier
    from mammoview.nets.imagenet import cache_dir

    name = imagenet_name(spec, arch)
    if name is None:
        raise StartError(f"no ImageNet weights exist for {arch} (only for the classifier architectures)")
    if imagenet_file(spec, arch) is None:
        raise StartError(f"ImageNet weights for {name} are not in the local torch cache {cache_dir()}; "
                         "nothing is downloaded: start from scratch, or put torchvision's file there")
    params = spec.archs[arch][1]
    net, sentence = build_classifier(arch, num_classes=params.get("num_classes", 2), in_ch=params.get("in_ch", 1),
                                     imagenet=True)
    own = model.state_dict()
    # Only the classifier's own tensors (a frozen super-resolution front stays as attached).
    model.load_state_dict({k: v.to(own[k].device) for k, v in net.state_dict().items() if k in own}, strict=False)
    return sentence


def _finetune(spec, model, arch: str, init_from: Any) -> str:
    from mammoview.nets.store import ModelLoadError, load_model, read_card

    if not init_from:
        raise StartError("fine-tuning needs a model to start from (none given)")
    path = Path(init_from)
    try:
        card = read_card(path)
    except ModelLoadError as exc:
        raise StartError(f"cannot fine-tune: {exc}") from exc
    if card.task != spec.name:
        raise StartError(f"{path.name}: cannot fine-tune a {card.task} model for {spec.name}")
    theirs = preset_of(spec, card)
    if theirs != arch:
        raise StartError(f"{path.name}: the model to fine-tune is {theirs or card.architecture}, the run's "
                         f"architecture is {arch}; choose {theirs or 'its architecture'} or start from scratch")
    cls, _ = spec.archs[arch]
    try:
        loaded, card = load_model(path, task=spec.name, build=cls)
    except ModelLoadError as exc:
        raise StartError(f"cannot fine-tune: {exc}") from exc
    own = model.state_dict()
    model.load_state_dict({k: v.to(own[k].device, own[k].dtype) for k, v in loaded.state_dict().items()})
    return f"fine-tuned from the {card.task} model {card.version} ({path.name}, {arch})"
