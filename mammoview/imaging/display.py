"""From modality values to screen grey levels: VOI, then presentation (PS3.3 C.11).

The reader has already applied the Modality LUT (PS3.3 C.11.1). This module applies,
in the standard's order:

1. the VOI transform (PS3.3 C.11.2), from a :class:`~mammoview.core.Voi`: a window with
   VOI LUT Function LINEAR (C.11.2.1.2.1), LINEAR_EXACT (C.11.2.1.3.2) or SIGMOID
   (C.11.2.1.3.1), or a VOI LUT (C.11.2.1.1);
2. the MONOCHROME1 inversion (PS3.3 C.7.6.3.1.2: the minimum value is white), which in
   a mammography file is also what its Presentation LUT Shape INVERSE asks for (PS3.3
   C.8.11.7), so it is applied once;
3. the user's own invert, last.

Output is float32 in [0, 1] (0 black). :func:`display_lut` samples the very same
transform into a table for pyqtgraph, so window/level never recomputes the array.
"""

from __future__ import annotations

import numpy as np

from mammoview.core.image import Image, Voi

# Integer images whose value range spans at most this many values are mapped through
# a table of the transform (one evaluation per possible value) instead of elementwise.
_TABLE_MAX_SPAN = 1 << 17


def default_voi(image: Image) -> Voi:
    """The file's first VOI, else a window spanning the image's value range.

    Parameters
    ----------
    image : Image

    Returns
    -------
    Voi
        The data-range window is LINEAR_EXACT (PS3.3 C.11.2.1.3.2) so that the minimum
        maps exactly to 0 and the maximum to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from mammoview.core import Image, ImageRef
    >>> ref = ImageRef(path="x", kind="raster", uid="x", study_uid="s")
    >>> default_voi(Image(np.array([[10, 20]], np.uint8), ref)).describe()
    'data range: C 15 / W 10 LINEAR_EXACT'
    """
    if image.voi:
        return image.voi[0]
    lo, hi = image.value_range()
    return Voi(center=(lo + hi) / 2.0, width=hi - lo, function="LINEAR_EXACT", explanation="data range")


def apply_voi(pixels: np.ndarray, voi: Voi, *, bits_stored: int = 16) -> np.ndarray:
    """Apply one VOI transform (PS3.3 C.11.2), scaled to [0, 1].

    - LINEAR (C.11.2.1.2.1): 0 where ``x <= c - 0.5 - (w - 1) / 2``, 1 where
      ``x > c - 0.5 + (w - 1) / 2``, else ``(x - (c - 0.5)) / (w - 1) + 0.5``; ``w >= 1``
      (``w == 1`` is a threshold at ``c - 0.5``).
    - LINEAR_EXACT (C.11.2.1.3.2): 0 where ``x <= c - w / 2``, 1 where ``x > c + w / 2``,
      else ``(x - c) / w + 0.5``; ``w > 0``.
    - SIGMOID (C.11.2.1.3.1): ``1 / (1 + exp(-4 (x - c) / w))``; ``w > 0``.
    - VOI LUT (C.11.2.1.1): values below ``lut_first`` take the first entry, values past
      the table the last; entries are divided by ``2**lut_bits - 1``.

    Parameters
    ----------
    pixels : ndarray
        Modality values, any real dtype; not modified.
    voi : Voi
    bits_stored : int
        The image's Bits Stored. Used only to scale a VOI LUT whose descriptor gives no
        usable entry depth (``lut_bits`` outside 1..16).

    Returns
    -------
    ndarray of float32, same shape, values in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> apply_voi(np.array([0, 50, 100]), Voi(center=50, width=100, function="LINEAR_EXACT"))
    array([0. , 0.5, 1. ], dtype=float32)
    """
    pixels = np.asarray(pixels)
    _check_voi(voi)
    if pixels.dtype.kind == "b":
        pixels = pixels.astype(np.uint8)
    if pixels.dtype.kind in "ui" and pixels.size > 0:
        lo, hi = int(pixels.min()), int(pixels.max())
        span = hi - lo + 1
        if span <= _TABLE_MAX_SPAN and span < pixels.size:
            # One evaluation per possible value: much faster on a 14 MP mammogram and
            # the same numbers, since each value goes through the same float32 maths.
            table = _voi_values(np.arange(lo, hi + 1, dtype=np.int64), voi, bits_stored)
            if pixels.dtype.kind == "u":  # lo is the minimum: no wrap-around
                offset = pixels - pixels.dtype.type(lo) if lo else pixels
            else:
                offset = pixels.astype(np.int64) - lo
            return table[offset]
    return _voi_values(pixels, voi, bits_stored)


def to_display(image: Image, voi: Voi | None = None, *, invert: bool = False) -> np.ndarray:
    """VOI, then MONOCHROME1 inversion, then the user's invert: float32 in [0, 1].

    Parameters
    ----------
    image : Image
    voi : Voi, optional
        Defaults to :func:`default_voi`.
    invert : bool
        The user's "invert" toggle, applied after the photometric inversion.

    Returns
    -------
    ndarray of float32, the image's shape, 0 black and 1 white.
    """
    voi = voi if voi is not None else default_voi(image)
    out = apply_voi(image.pixels, voi, bits_stored=image.bits_stored)
    if image.is_monochrome1 != invert:
        out = np.float32(1.0) - out
    return out


def lut_sample_points(lo: float, hi: float, n: int = 4096) -> np.ndarray:
    """The values :func:`display_lut` evaluates: entry ``i`` is ``lo + i * (hi - lo) / n``.

    That is the value pyqtgraph's ImageItem maps to entry ``i`` with ``levels=(lo, hi)``
    and an ``n``-entry LUT (it indexes with ``floor((x - lo) * n / (hi - lo))``, clipped).
    Choose ``hi = lo + n`` and every integer value in ``[lo, lo + n)`` has its own entry,
    computed exactly as :func:`to_display` computes that value.

    Examples
    --------
    >>> lut_sample_points(0, 8, 4)
    array([0., 2., 4., 6.])
    """
    if n < 2:
        raise ValueError(f"a display LUT needs at least 2 entries, got {n}")
    if not hi > lo:
        raise ValueError(f"display LUT levels must increase, got lo={lo} hi={hi}")
    return lo + np.arange(n, dtype=np.float64) * ((hi - lo) / n)


def display_lut(
    voi: Voi,
    lo: float,
    hi: float,
    *,
    monochrome1: bool = False,
    invert: bool = False,
    n: int = 4096,
    bits_stored: int = 16,
) -> np.ndarray:
    """The display transform sampled for pyqtgraph: ``levels=(lo, hi)``, ``lut=`` this.

    Entry ``i`` equals ``to_uint8`` of :func:`to_display` at the value
    ``lut_sample_points(lo, hi, n)[i]`` (same VOI, same inversions).

    Parameters
    ----------
    voi : Voi
    lo, hi : float
        The levels given to pyqtgraph; usually the image's value range.
    monochrome1 : bool
        The image is MONOCHROME1 (inverted before the user's invert).
    invert : bool
        The user's invert toggle.
    n : int
        Entries in the table.
    bits_stored : int
        As in :func:`apply_voi`.

    Returns
    -------
    ndarray of uint8, shape (n,)
    """
    x = lut_sample_points(lo, hi, n)
    values = _voi_values(x, voi, bits_stored)
    if monochrome1 != invert:
        values = np.float32(1.0) - values
    return to_uint8(values)


def to_uint8(display: np.ndarray) -> np.ndarray:
    """[0, 1] display values to 0..255, rounding half up; out-of-range values clip.

    Examples
    --------
    >>> import numpy as np
    >>> to_uint8(np.array([0.0, 0.5, 1.0, 1.5]))
    array([  0, 128, 255, 255], dtype=uint8)
    """
    scaled = np.asarray(display, dtype=np.float32) * np.float32(255.0) + np.float32(0.5)
    return np.clip(scaled, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- internals


def _check_voi(voi: Voi) -> None:
    if voi.is_lut:
        if len(voi.lut) == 0:
            raise ValueError("VOI LUT has no entries")
        return
    if voi.center is None or voi.width is None:
        raise ValueError("a window VOI needs both center and width")
    if voi.function == "LINEAR":
        if voi.width < 1:
            raise ValueError(f"LINEAR window width must be >= 1 (PS3.3 C.11.2.1.2.1), got {voi.width}")
    elif voi.function in ("LINEAR_EXACT", "SIGMOID"):
        if voi.width <= 0:
            raise ValueError(f"{voi.function} window width must be > 0, got {voi.width}")
    else:
        raise ValueError(f"unknown VOI LUT Function {voi.function!r}")


def _voi_values(x: np.ndarray, voi: Voi, bits_stored: int) -> np.ndarray:
    """The transform evaluated elementwise, float32 maths; float32 in [0, 1]."""
    if voi.is_lut:
        return _lut_values(x, voi, bits_stored)
    xf = np.asarray(x, dtype=np.float32)
    c = np.float32(voi.center)
    w = np.float32(voi.width)
    if voi.function == "SIGMOID":
        with np.errstate(over="ignore"):
            out = np.float32(1.0) / (np.float32(1.0) + np.exp(np.float32(-4.0) * (xf - c) / w))
        return out.astype(np.float32, copy=False)
    if voi.function == "LINEAR_EXACT":
        out = (xf - c) / w + np.float32(0.5)
        return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
    # LINEAR: the standard's half-pixel offsets; w == 1 degenerates to a threshold.
    if voi.width == 1:
        return (xf > c - np.float32(0.5)).astype(np.float32)
    out = (xf - (c - np.float32(0.5))) / (w - np.float32(1.0)) + np.float32(0.5)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def _lut_values(x: np.ndarray, voi: Voi, bits_stored: int) -> np.ndarray:
    lut = np.asarray(voi.lut)
    bits = voi.lut_bits if 1 <= voi.lut_bits <= 16 else max(1, min(16, bits_stored))
    # LUT inputs are integers; a fractional value (after a non-integer rescale) takes
    # the entry of the integer at or below it.
    index = np.floor(np.asarray(x, dtype=np.float64)) - voi.lut_first
    index = np.clip(index, 0, len(lut) - 1).astype(np.intp)
    scale = np.float32(1.0 / ((1 << bits) - 1))
    return np.clip(lut[index].astype(np.float32) * scale, 0.0, 1.0).astype(np.float32)
