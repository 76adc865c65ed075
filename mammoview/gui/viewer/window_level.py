"""Window/level state for the viewer: mouse drags to VOI, VOI to pyqtgraph LUTs.

The pixels are never recomputed on a window/level change: the GUI hands pyqtgraph
``levels=(lo, hi)`` (the image's full stored range) plus a 4096-entry uint8 LUT from
:func:`mammoview.imaging.display.display_lut`, so a drag costs one small LUT and a
re-render of the on-screen (downsampled) pixels.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mammoview.core import Voi
from mammoview.imaging.display import display_lut

LUT_SIZE = 4096
# Integer images spanning at most this many values get one LUT entry per value.
MAX_EXACT_LUT = 65536
# Mouse pixels for a change of the full value range: a 400-pixel drag sweeps
# the whole range whatever the bit depth.
DRAG_PIXELS_PER_RANGE = 400.0


def window_of(voi: Voi, lo: float, hi: float) -> tuple[float, float]:
    """(center, width) a drag starts from; a VOI LUT is approximated by its input span."""
    if voi.center is not None and voi.width is not None:
        return float(voi.center), float(voi.width)
    if voi.is_lut:
        first = float(voi.lut_first)
        span = float(len(voi.lut))
        return first + span / 2.0, max(span, 1.0)
    return (lo + hi) / 2.0, hi - lo


def drag_voi(voi: Voi, dx: float, dy: float, lo: float, hi: float) -> Voi:
    """The VOI after a right-drag of (dx, dy) screen pixels.

    Horizontal changes the width (right = wider, less contrast), vertical the center
    (down = higher center, darker image); both scaled to the value range ``hi - lo``.
    A VOI LUT becomes a LINEAR window over its input span, the usual workstation
    behaviour once the user starts adjusting.
    """
    span = max(hi - lo, 1e-6)
    step = span / DRAG_PIXELS_PER_RANGE
    center, width = window_of(voi, lo, hi)
    min_width = 1.0 if span > 2.0 else span / 1000.0
    width = max(min_width, width + dx * step)
    center = center + dy * step
    function = voi.function if not voi.is_lut else "LINEAR"
    return replace(voi, center=center, width=width, function=function, lut=None, explanation="")


def lut_levels(pixels: np.ndarray, lo: float, hi: float) -> tuple[float, float, int]:
    """Levels and LUT size for an image with value range [lo, hi].

    pyqtgraph indexes an ``n``-entry LUT with ``floor((x - lo) * n / (hi - lo))``, so
    for integer pixels the levels ``(lo, lo + n)`` with ``n`` the number of values
    give every stored value its own, exact entry. Other images get ``LUT_SIZE``
    entries over their range.
    """
    if pixels.dtype.kind in "uib":
        n = int(hi - lo) + 1
        if n <= MAX_EXACT_LUT:
            n = max(n, 2)
            return float(lo), float(lo + n), n
    return float(lo), float(hi), LUT_SIZE


def lut_for(
    voi: Voi, lo: float, hi: float, n: int, *, monochrome1: bool, invert: bool
) -> np.ndarray:
    """uint8 LUT of ``n`` entries for pyqtgraph ``levels=(lo, hi)`` (display_lut)."""
    return display_lut(voi, lo, hi, monochrome1=monochrome1, invert=invert, n=n)


def apply_lut(array: np.ndarray, lut: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """Map ``array`` through ``lut`` the way pyqtgraph does for ``levels`` (for small patches)."""
    lo, hi = levels
    n = len(lut)
    index = np.floor((np.asarray(array, dtype=np.float64) - lo) * (n / max(hi - lo, 1e-12)))
    return lut[np.clip(index, 0, n - 1).astype(np.intp)]
