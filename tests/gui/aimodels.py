"""Tiny random-weight classifier models for the window tests, saved through nets.store.

ResNet-18 is the smallest architecture the cascade builds; at a quarter scale with 32-px
windows a MIAS image is about 20 windows, a fraction of a second per pass on a CPU.
"""

from __future__ import annotations

from pathlib import Path

TINY_PREP = dict(scale=0.25, patch=32, stride=32, mean=0.4, std=0.25, topk=3, threshold=0.5)


def save_tiny_cascade(folder: Path) -> dict[int, Path]:
    """Write classifier-stage1/-stage2 (weights + cards) into ``folder``; their paths."""
    import torch

    from mammoview.classification.preprocess import Preprocessing
    from mammoview.nets.resnet import ResNetClassifier
    from mammoview.nets.store import ModelCard, save_model

    folder.mkdir(parents=True, exist_ok=True)
    prep = Preprocessing(**TINY_PREP)
    paths = {}
    for stage in (1, 2):
        torch.manual_seed(stage)
        net = ResNetClassifier("resnet18", num_classes=2, in_ch=1)
        classes = ["normal", "abnormal"] if stage == 1 else ["benign", "malignant"]
        card = ModelCard(task=f"classifier-stage{stage}", architecture=ResNetClassifier.ARCHITECTURE,
                         arch_params={"arch": "resnet18", "num_classes": 2, "in_ch": 1},
                         preprocessing=prep.to_dict(), classes=classes, seed=stage, epochs=0,
                         data={"dataset": "none (random weights, test)"},
                         split={"train": 0, "val": 0}, metrics={"patch_auc": 0.5},
                         command="tests/gui/aimodels.py", start="scratch (random weights, test)")
        paths[stage] = save_model(net.state_dict(), card, folder / f"classifier-stage{stage}", half=True)
    return paths
