"""Hard-negative mining for the stage-1 patch classifier.

Trained on lesion windows against *random* tissue windows, stage 1 separates the two
well (patch AUC about 0.9) yet barely separated whole images (AUC 0.57 without mining): an image
is scored by its highest windows, and in a normal breast those are the densest, most
lesion-like ones, which random sampling rarely shows the network. Half-way through
training, every training image is therefore scored by the sliding window the image
score uses, and the highest-scoring windows that are not on a lesion become extra
negatives for the remaining epochs (the detection literature's bootstrapping).

The mined centres are kept in the checkpoint (``task_state``), so a resumed run trains
on the very windows the interrupted one chose.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from mammoview.classification.inference import predict_patches, sliding_windows
from mammoview.classification.patches import crop_windows, topk_indices
from mammoview.classification.preprocess import Preprocessing
from mammoview.core.progress import Progress

KIND = "hard"
STATE_KEY = "hard_negatives"


def lesion_reach(findings: list[tuple[int, int, float]], patch: int) -> list[tuple[int, int, float]]:
    """(row, col, reach) per located lesion: a window centred closer than ``reach`` may
    show the lesion, so it is never a negative. ``findings``: (row, col, radius) in
    working-image pixels (radius 0 when unknown)."""
    return [(r, c, max(float(patch), radius + patch / 2.0)) for r, c, radius in findings]


def away_from(centres: np.ndarray, reach: list[tuple[int, int, float]]) -> np.ndarray:
    """Boolean mask of the ``centres`` (N, 2) that are beyond every lesion's reach."""
    keep = np.ones(len(centres), bool)
    for r, c, d in reach:
        keep &= (centres[:, 0] - r) ** 2 + (centres[:, 1] - c) ** 2 > d * d
    return keep


def mine(model, pool: dict[str, dict[str, Any]], prep: Preprocessing, per_image: int) -> Iterator[Progress]:
    """Score every pool image's sliding windows; return (as the generator's value) the
    centres of the ``per_image`` highest-scoring windows away from lesions, per image.

    ``pool``: image id -> {"work", "breast", "reach"} (see :func:`lesion_reach`).
    """
    mined: dict[str, list[list[int]]] = {}
    for n, (key, im) in enumerate(pool.items(), start=1):
        # Reported as each image starts: the caller's summary is the one with done == total.
        yield Progress(n - 1, len(pool), f"finding hard negatives: {key}")
        centres, patches = sliding_windows(im["work"], im["breast"], prep)
        keep = away_from(centres, im["reach"])
        if keep.any():
            p = predict_patches(model, patches[keep], prep)[:, 1]
            mined[key] = centres[keep][topk_indices(p, per_image)].astype(int).tolist()
    return mined


def add_windows(train: dict[str, Any], pool: dict[str, dict[str, Any]], mined: dict[str, list[list[int]]]) -> int:
    """Append the mined windows (at the training context size, label 0, kind "hard") to
    the training samples; returns how many were added."""
    size = train["windows"].shape[-1]
    parts, owners = [], []
    for key, centres in mined.items():
        if key in pool and centres:
            parts.append(crop_windows(pool[key]["work"], np.asarray(centres, np.int64), size))
            owners.extend([key] * len(centres))
    if not parts:
        return 0
    windows = np.concatenate(parts).astype(np.float32)
    train["windows"] = np.concatenate([train["windows"], windows])
    train["labels"] = np.concatenate([train["labels"], np.zeros(len(windows), np.int64)])
    train["kinds"] = list(train["kinds"]) + [KIND] * len(windows)
    train["owners"] = list(train["owners"]) + owners
    return len(windows)


def draw_negatives(kinds: np.ndarray, n_neg: int, hard_share: float, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n_neg`` negatives for one epoch: ``hard_share`` of them from the mined
    windows (with replacement when there are fewer), the rest from the random tissue ones."""
    tissue = np.flatnonzero(kinds == "tissue")
    hard = np.flatnonzero(kinds == KIND)
    n_hard = int(round(hard_share * n_neg)) if len(hard) else 0
    n_tissue = min(len(tissue), n_neg - n_hard)
    parts = [rng.choice(tissue, n_tissue, replace=False)] if n_tissue else []
    if n_hard:
        parts.append(rng.choice(hard, n_hard, replace=n_hard > len(hard)))
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)
