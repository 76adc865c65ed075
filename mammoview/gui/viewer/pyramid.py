"""Cached 2x area-mean reductions of a panel's array, for fast redraws.

pyqtgraph's ``ImageItem(autoDownsample=True)`` re-downsamples the full array on
every render (50-140 ms on a 4664 x 3064 mammogram, measured in
bench/bench_window_level.py), which a window/level drag cannot afford. The viewer
instead keeps power-of-two reductions and shows the level closest to one array
pixel per screen pixel; a window/level change then renders only that small array.

The levels are built off the UI thread (:func:`build_levels`, called by
:mod:`mammoview.gui.viewer.prepare` on a worker): the first level of a
super-resolved full-field array alone takes 100-400 ms. A :class:`Pyramid` made
from complete levels never computes anything on the thread that reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Reduction stops once a level's shorter side is below this many pixels.
MIN_SIDE = 4


def build_levels(array: np.ndarray) -> tuple[np.ndarray, ...]:
    """``array`` and all its 2x reductions, finest first (pure NumPy, thread-safe).

    Examples
    --------
    >>> [lv.shape for lv in build_levels(np.zeros((16, 10), np.uint16))]
    [(16, 10), (8, 5), (4, 2)]
    """
    levels = [array]
    while min(levels[-1].shape) >= MIN_SIDE:
        levels.append(_halve(levels[-1]))
    return tuple(levels)


class Pyramid:
    """Power-of-two area-mean reductions of a 2-D array.

    Level ``k`` has each pixel the mean of a ``2**k`` square block of the input
    (edges trimmed to a multiple of two). Integer inputs keep their dtype (the
    rounded-down mean stays in range), so pyqtgraph's fast integer LUT path applies.
    Levels missing from the construction are built on first use.
    """

    def __init__(self, array: np.ndarray, levels: Sequence[np.ndarray] = ()):
        if levels and levels[0] is not array:
            raise ValueError("levels[0] must be the array itself")
        self._levels = list(levels) if levels else [array]

    @classmethod
    def from_levels(cls, levels: Sequence[np.ndarray]) -> "Pyramid":
        """A pyramid over levels made by :func:`build_levels` (no work done here)."""
        return cls(levels[0], levels)

    @property
    def base(self) -> np.ndarray:
        return self._levels[0]

    @property
    def built(self) -> int:
        """How many levels exist now (the base included)."""
        return len(self._levels)

    def level(self, k: int) -> np.ndarray:
        """The array reduced by ``2**k`` (the base for ``k <= 0``)."""
        while len(self._levels) <= k:
            below = self._levels[-1]
            if min(below.shape) < MIN_SIDE:
                break
            self._levels.append(_halve(below))
        return self._levels[min(max(k, 0), len(self._levels) - 1)]

    def level_for(self, array_pixels_per_screen_pixel: float) -> np.ndarray:
        """The coarsest level that still has at least one pixel per screen pixel."""
        k = 0
        while 2 ** (k + 1) <= array_pixels_per_screen_pixel:
            k += 1
        return self.level(k)


def _halve(array: np.ndarray) -> np.ndarray:
    rows = array.shape[0] // 2 * 2
    cols = array.shape[1] // 2 * 2
    a = array[:rows, :cols]
    kind = a.dtype.kind
    if kind == "u":
        acc_type = np.uint32 if a.dtype.itemsize <= 2 else np.uint64
    elif kind == "i":
        acc_type = np.int32 if a.dtype.itemsize <= 2 else np.int64
    else:
        acc_type = np.float32
    # Pairs of rows first, in place in the wider type: one temporary of half the size.
    summed = a[0::2].astype(acc_type)
    summed += a[1::2]
    summed = summed[:, 0::2] + summed[:, 1::2]
    if kind in "ui":
        summed //= 4
        return summed.astype(a.dtype)
    summed *= np.float32(0.25)
    return summed
