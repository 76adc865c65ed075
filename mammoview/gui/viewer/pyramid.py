"""Cached 2x area-mean reductions of a panel's array, for fast redraws.

pyqtgraph's ``ImageItem(autoDownsample=True)`` re-downsamples the full array on
every render (50-140 ms on a 4664 x 3064 mammogram, measured in
bench/bench_window_level.py), which a window/level drag cannot afford. The viewer
instead keeps power-of-two reductions, built once by pairwise sums (about 20 ms for
the first level of a full-field image), and shows the level closest to one array
pixel per screen pixel; a window/level change then renders only that small array.
"""

from __future__ import annotations

import numpy as np


class Pyramid:
    """Power-of-two area-mean reductions of a 2-D array, built on demand.

    Level ``k`` has each pixel the mean of a ``2**k`` square block of the input
    (edges trimmed to a multiple of two). Integer inputs keep their dtype (the
    rounded-down mean stays in range), so pyqtgraph's fast integer LUT path applies.
    """

    def __init__(self, array: np.ndarray):
        self._levels = [array]

    @property
    def base(self) -> np.ndarray:
        return self._levels[0]

    def level(self, k: int) -> np.ndarray:
        """The array reduced by ``2**k`` (the base for ``k <= 0``)."""
        while len(self._levels) <= k:
            below = self._levels[-1]
            if min(below.shape) < 4:
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
        acc = a.astype(np.uint32 if a.dtype.itemsize <= 2 else np.uint64)
    elif kind == "i":
        acc = a.astype(np.int32 if a.dtype.itemsize <= 2 else np.int64)
    else:
        acc = a.astype(np.float32)
    summed = acc[0::2] + acc[1::2]
    summed = summed[:, 0::2] + summed[:, 1::2]
    if kind in "ui":
        return (summed // 4).astype(a.dtype)
    return summed * np.float32(0.25)
