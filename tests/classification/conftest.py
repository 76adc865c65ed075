"""Tiny random-weight cascade models saved through the model store, and a controllable fake."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mammoview.classification.preprocess import Preprocessing
from mammoview.nets.resnet import ResNetClassifier
from mammoview.nets.store import ModelCard, save_model

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
