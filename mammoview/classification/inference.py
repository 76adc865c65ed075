"""Batched patch inference shared by the cascade and by training's validation.

A network here is a classifier returning (N, C) logits; ``predict_patches`` turns grey
[0, 1] patches into (N, C) softmax probabilities with the card's standardisation, in
batches, without gradients, on the network's device.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from mammoview.classification.patches import crop_windows, grid_centres
from mammoview.classification.preprocess import Preprocessing, standardise
from mammoview.core.progress import CancelToken, Cancelled

# Patches per forward pass: ResNet-18 on 64 px patches, about 0.6 GB of activations at 256.
BATCH = 128


def iter_predict_patches(
    model: torch.nn.Module,
    patches: np.ndarray,
    prep: Preprocessing,
    *,
    batch: int = BATCH,
    cancel: CancelToken | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (done, probabilities of this batch) batch by batch; raises Cancelled."""
    device = next(model.parameters()).device
    arr = np.asarray(patches, dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(arr), batch):
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            x = torch.from_numpy(standardise(arr[start : start + batch], prep)).to(device)
            probs = torch.softmax(model(x).float(), dim=1).cpu().numpy()
            yield min(len(arr), start + batch), probs


def predict_patches(model: torch.nn.Module, patches: np.ndarray, prep: Preprocessing, *,
                    batch: int = BATCH) -> np.ndarray:
    """(N, H, W) grey [0, 1] patches -> (N, C) float32 probabilities (model in eval mode)."""
    was_training = model.training
    model.eval()
    try:
        parts = [p for _, p in iter_predict_patches(model, patches, prep, batch=batch)]
    finally:
        model.train(was_training)
    n_classes = getattr(getattr(model, "fc", None), "out_features", 2)
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, n_classes), np.float32)


def sliding_windows(work: np.ndarray, breast: np.ndarray, prep: Preprocessing) -> tuple[np.ndarray, np.ndarray]:
    """(centres (N, 2), patches (N, patch, patch)) of the sliding window over the breast."""
    centres = grid_centres(breast, prep.stride)
    return centres, crop_windows(work, centres, prep.patch)
