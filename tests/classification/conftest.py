"""Tiny random-weight cascade models saved through the model store, and a controllable fake."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mammoview.classification.preprocess import Preprocessing
from mammoview.nets.resnet import ResNetClassifier
from mammoview.nets.store import ModelCard, save_model
from mammoview.training.config import TrainConfig

from ..training.conftest import make_subset

TINY_PREP = Preprocessing(scale=0.25, patch=32, stride=32, mean=0.4, std=0.25, topk=3, threshold=0.5)


def save_stage(folder, stage: int, *, seed: int = 0, prep: Preprocessing = TINY_PREP):
    torch.manual_seed(seed)
    net = ResNetClassifier("resnet18", num_classes=2, in_ch=1)
    classes = ["normal", "abnormal"] if stage == 1 else ["benign", "malignant"]
    card = ModelCard(task=f"classifier-stage{stage}", architecture=ResNetClassifier.ARCHITECTURE,
                     arch_params={"arch": "resnet18", "num_classes": 2, "in_ch": 1},
                     preprocessing=prep.to_dict(), classes=classes, seed=seed, epochs=0,
                     start="scratch (random weights, test)")
    return save_model(net.state_dict(), card, folder / f"classifier-stage{stage}")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cascade-models")
    save_stage(folder, 1, seed=1)
    save_stage(folder, 2, seed=2)
    return folder


class BrightnessNet(torch.nn.Module):
    """p(class 1) = sigmoid(gain * (mean input - offset)): brighter windows score higher."""

    def __init__(self, gain: float = 8.0, offset: float = 0.0) -> None:
        super().__init__()
        self.gain = torch.nn.Parameter(torch.tensor(float(gain)), requires_grad=False)
        self.offset = offset

    def forward(self, x):
        z = self.gain * (x.mean(dim=(1, 2, 3)) - self.offset)
        return torch.stack([torch.zeros_like(z), z], dim=1)


def phantom_breast(size: int = 512, *, lesion: bool = True) -> np.ndarray:
    """A half-disc 'breast' against a black background, with an optional bright blob."""
    rows, cols = np.mgrid[:size, :size]
    breast = (rows - size / 2) ** 2 + cols**2 <= (0.45 * size) ** 2
    img = np.where(breast, 0.45, 0.0).astype(np.float32)
    img += np.where(breast, 0.03 * np.sin(rows / 7.0) * np.cos(cols / 9.0), 0).astype(np.float32)
    if lesion:
        img[(rows - size * 0.5) ** 2 + (cols - size * 0.2) ** 2 <= (0.04 * size) ** 2] = 0.95
    # One white pixel in the background corner fixes the per-image grey scaling, so both
    # variants' tissue ends up at the same grey.
    img[-1, -1] = 1.0
    return img


# Six patients with located masses (benign, malignant) and normal breasts: tiny trainings.
LESION_SUBSET = ("mdb001", "mdb002", "mdb005", "mdb006", "mdb009", "mdb010", "mdb013", "mdb014",
                 "mdb023", "mdb024", "mdb025", "mdb026")
TINY_EXTRA = {"scale": 0.25, "stride": 32, "lesion_copies": 2, "val_patches_per_image": 2,
              "threshold_images": 4, "jitter": 4}


@pytest.fixture(scope="module")
def subset(mias_dir, tmp_path_factory):
    return make_subset(mias_dir, tmp_path_factory.mktemp("cls-subset"), LESION_SUBSET)


def tiny_config(data, out, *, extra=None, **kw):
    """A classifier training of seconds: 32 px windows at scale 0.25, one epoch."""
    base = dict(data=data, out=out, epochs=1, arch="resnet18", patch=32, batch_size=16, val_fraction=0.34,
                seed=1, device="cpu", augment=("flip", "rotate"), patches_per_image=4,
                extra={**TINY_EXTRA, **(extra or {})})
    base.update(kw)
    return TrainConfig(**base)
