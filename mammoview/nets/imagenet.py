"""ImageNet weights for the classifiers, taken only from the local torch cache.

Nothing is ever downloaded: a checkpoint is used when torchvision's file is already in
``torch.hub.get_dir()/checkpoints`` (where ``torchvision.models.*(weights=...)`` would have
put it), and the model card's ``start`` says which file was used, or that none was.

A greyscale network's first convolution gets the sum of the pretrained RGB filters over
the colour channels (what those filters compute on a grey image repeated to RGB); the
last classification layer, sized for ImageNet's 1000 classes, is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

# torchvision's IMAGENET1K_V1 file names.
IMAGENET_FILES = {
    "resnet18": "resnet18-f37072fd.pth",
    "resnet34": "resnet34-b627a593.pth",
    "resnet50": "resnet50-0676ba61.pth",
    "vgg16": "vgg16-397923af.pth",
    "alexnet": "alexnet-owt-7be5be79.pth",
}


def cache_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def imagenet_checkpoint(name: str) -> Path | None:
    """The cached ImageNet checkpoint of torchvision's ``name`` network, or None."""
    path = cache_dir() / IMAGENET_FILES[name]
    return path if path.is_file() else None


def load_imagenet_weights(net: nn.Module, path: Path, *, first_conv: str, drop: Iterable[str],
                          prefix: str = "") -> None:
    """Copy a torchvision ImageNet checkpoint into ``net`` (or into its ``prefix`` submodule).

    Parameters
    ----------
    first_conv : the key of the first convolution's weight ("conv1.weight",
        "features.0.weight"); summed over RGB when the network's input is not 3 channels.
    drop : keys left out (the ImageNet classification layer).
    prefix : where the torchvision network sits inside ``net`` ("backbone." ...).

    torchvision's checkpoints are plain tensor dicts; ``weights_only=True`` refuses
    anything else, so no arbitrary object is unpickled.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in drop:
        state.pop(key, None)
    own = net.state_dict()
    target = own[prefix + first_conv]
    w = state[first_conv]
    if target.shape[1] != w.shape[1]:
        summed = w.sum(dim=1, keepdim=True)
        state[first_conv] = summed.repeat(1, target.shape[1], 1, 1) / target.shape[1]
    state = {prefix + k: v for k, v in state.items() if prefix + k in own}
    net.load_state_dict(state, strict=False)


def start_sentence(name: str, path: Path | None, asked: bool, detail: str) -> str:
    """The model card's ``start`` for a network built with or without ImageNet weights."""
    if not asked:
        return "scratch (torchvision's random initialisation, seeded; no pretrained weights)"
    if path is None:
        return (f"scratch (ImageNet weights for {name} asked for but not in the local torch cache "
                f"{cache_dir()}; nothing is downloaded)")
    return f"ImageNet ({path.name} from the local torch cache; {detail})"
