"""Otsu's threshold, shared by orientation detection and the segmentations."""

from __future__ import annotations

import numpy as np


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold (maximum between-class variance, Otsu 1979) of a set of values.

    Returns the left edge of the upper class: values ``> t`` are the bright class.
    A constant input returns its value; an empty one returns 0.

    Examples
    --------
    >>> otsu_threshold(np.array([0.0, 0.1, 0.9, 1.0])) > 0.1
    True
    """
    values = np.asarray(values, dtype=np.float32).ravel()
    if values.size == 0:
        return 0.0
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return lo
    hist, edges = np.histogram(values, bins=bins, range=(lo, hi))
    hist = hist.astype(np.float64)
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centers)
    mean0 = m0 / np.maximum(w0, 1e-12)
    mean1 = (m0[-1] - m0) / np.maximum(w1, 1e-12)
    between = w0[:-1] * w1[:-1] * (mean0[:-1] - mean1[:-1]) ** 2
    return float(edges[int(np.argmax(between)) + 1])
