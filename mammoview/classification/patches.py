"""Patches: cropping windows from a working image, the sliding-window grid over the
breast, the heatmap the window probabilities paint, and the image score.

Coordinates are (row, col) of a window's *centre* in the working (downscaled) image.
Windows reaching past the image edge are zero-padded (the background of a mammogram is
black), so a lesion at the skin line still gets a window centred on it.
"""

from __future__ import annotations

import numpy as np


def crop_windows(work: np.ndarray, centres: np.ndarray, size: int) -> np.ndarray:
    """Square windows of side ``size`` centred on ``centres``.

    Parameters
    ----------
    work : (R, C) float image. Not modified.
    centres : (N, 2) int array of (row, col).
    size : window side.

    Returns
    -------
    (N, size, size) float32; pixels outside the image are 0.
    """
    centres = np.asarray(centres, dtype=np.int64).reshape(-1, 2)
    half = size // 2
    pad = size
    padded = np.pad(np.asarray(work, dtype=np.float32), pad)
    out = np.empty((len(centres), size, size), dtype=np.float32)
    for i, (r, c) in enumerate(centres):
        r0 = int(np.clip(r, -half, work.shape[0] + half)) - half + pad
        c0 = int(np.clip(c, -half, work.shape[1] + half)) - half + pad
        out[i] = padded[r0 : r0 + size, c0 : c0 + size]
    return out


def grid_centres(breast: np.ndarray, stride: int) -> np.ndarray:
    """Centres of the sliding window: a regular grid at ``stride``, kept where the centre is
    in the breast. Returns (N, 2) int64, row-major order."""
    rows, cols = breast.shape
    start = stride // 2
    rr, cc = np.meshgrid(np.arange(start, rows, stride), np.arange(start, cols, stride), indexing="ij")
    keep = breast[rr, cc]
    return np.stack([rr[keep], cc[keep]], axis=1).astype(np.int64)


def random_tissue_centres(breast: np.ndarray, count: int, rng: np.random.Generator,
                          *, avoid: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
    """Up to ``count`` distinct random centres inside ``breast`` (and outside ``avoid``),
    uniformly, or in proportion to ``weights`` (an array of the mask's shape)."""
    allowed = breast if avoid is None else breast & ~avoid
    candidates = np.argwhere(allowed)
    if not len(candidates):
        return np.zeros((0, 2), np.int64)
    p = None
    if weights is not None:
        w = np.asarray(weights, np.float64)[candidates[:, 0], candidates[:, 1]]
        p = w / w.sum() if w.sum() > 0 else None
    n = min(count, len(candidates), int(np.count_nonzero(p)) if p is not None else len(candidates))
    pick = rng.choice(len(candidates), size=n, replace=False, p=p)
    return candidates[np.sort(pick)].astype(np.int64)


def dense_tissue_weights(work: np.ndarray, breast: np.ndarray, power: float = 4.0) -> np.ndarray:
    """Sampling weights that favour dense (bright) tissue: (grey / breast max) ** power inside
    the breast. Dense glandular tissue is what a lesion detector confuses with a mass."""
    inside = np.where(breast, np.asarray(work, np.float64), 0.0)
    top = inside.max()
    return (inside / top) ** power if top > 0 else inside


def paint_heatmap(centres: np.ndarray, probs: np.ndarray, shape: tuple[int, int], size: int) -> np.ndarray:
    """Each pixel: the mean probability of the windows covering it (0 where none does).

    Returns float32 (R, C) in [0, 1] at the working image's size.
    """
    total = np.zeros(shape, np.float64)
    count = np.zeros(shape, np.float64)
    half = size // 2
    for (r, c), p in zip(np.asarray(centres).reshape(-1, 2), np.asarray(probs, float).ravel()):
        r0, c0 = max(0, r - half), max(0, c - half)
        r1, c1 = min(shape[0], r - half + size), min(shape[1], c - half + size)
        if r1 > r0 and c1 > c0:
            total[r0:r1, c0:c1] += p
            count[r0:r1, c0:c1] += 1
    out = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return out.astype(np.float32)


def topk_mean(probs: np.ndarray, k: int) -> float:
    """Mean of the ``k`` highest values (all of them when fewer); NaN for none.

    Between the max (one noisy window decides) and the mean (a small lesion is diluted
    by the rest of the breast); k = 3 at stride = patch / 2 is about one lesion's worth
    of overlapping windows.
    """
    arr = np.asarray(probs, dtype=np.float64).ravel()
    if not arr.size:
        return float("nan")
    k = max(1, min(int(k), arr.size))
    return float(np.mean(np.partition(arr, arr.size - k)[arr.size - k:]))


def topk_indices(probs: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest values, highest first."""
    arr = np.asarray(probs, dtype=np.float64).ravel()
    k = max(0, min(int(k), arr.size))
    return np.argsort(-arr, kind="stable")[:k]
