"""Resampling: bicubic enlargement and area-average reduction of 2-D images.

Both run through Pillow's float ("F" mode) resampler, which is separable and written in C:
about 0.6 s to double a 4664 x 3064 mammogram, against 3.6 s for
``scipy.ndimage.zoom(order=3)`` (measured in bench/bench_enhance.py's environment).
Pillow's BICUBIC is the Keys cubic convolution kernel with a = -0.5, the usual "bicubic";
its BOX filter averages exactly the source area that each output pixel covers.
"""

from __future__ import annotations

import numbers

import numpy as np
from PIL import Image as PILImage


def _check_2d(img) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"image must be a non-empty 2-D array, got shape {arr.shape}")
    if np.iscomplexobj(arr):
        raise ValueError(f"image must have a real dtype, got {arr.dtype}")
    return arr


def _check_factor(factor) -> float:
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not factor > 0:
        raise ValueError(f"factor must be a positive number, got {factor!r}")
    if not np.isfinite(factor):
        raise ValueError(f"factor must be finite, got {factor!r}")
    return float(factor)


def _resize(arr: np.ndarray, rows: int, cols: int, method) -> np.ndarray:
    # Pillow's "F" mode holds float32; astype copies, so the caller's array is never touched.
    pil = PILImage.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    return np.asarray(pil.resize((cols, rows), resample=method), dtype=np.float32).copy()


def upscale_bicubic(img: np.ndarray, factor: float = 2) -> np.ndarray:
    """Enlarge a 2-D image by ``factor`` with bicubic (Keys, a = -0.5) interpolation.

    Parameters
    ----------
    img : (M, N) array of any real dtype. Not modified.
    factor : float, > 0, default 2. The output is ``(round(M * factor), round(N * factor))``.

    Returns
    -------
    float32 array in the input's value units. Bicubic interpolation overshoots at sharp
    edges, so values can lie slightly outside the input's range; clip if that matters.

    Examples
    --------
    >>> upscale_bicubic(np.ones((3, 4), np.uint8)).shape
    (6, 8)
    """
    arr = _check_2d(img)
    f = _check_factor(factor)
    rows = max(1, int(round(arr.shape[0] * f)))
    cols = max(1, int(round(arr.shape[1] * f)))
    return _resize(arr, rows, cols, PILImage.Resampling.BICUBIC)


def downscale_area(img: np.ndarray, factor: float) -> np.ndarray:
    """Reduce a 2-D image by ``factor`` by averaging the area each output pixel covers.

    With an integer factor that divides the shape, each output pixel is exactly the mean
    of its ``factor x factor`` block. Otherwise the output is
    ``(max(1, round(M / factor)), max(1, round(N / factor)))`` and partial pixels are
    weighted by the area they cover.

    Parameters
    ----------
    img : (M, N) array of any real dtype. Not modified.
    factor : float, > 0 (1 returns a float32 copy).

    Returns
    -------
    float32 array, values within the input's range.

    Examples
    --------
    >>> downscale_area(np.arange(16).reshape(4, 4), 2).tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    arr = _check_2d(img)
    f = _check_factor(factor)
    rows, cols = arr.shape
    if f == int(f) and rows % int(f) == 0 and cols % int(f) == 0:
        k = int(f)
        # Exact block mean for the common case of a dividing integer factor, summed along
        # columns then rows (faster than one mean over two strided axes). float32 sums of
        # k*k values are exact enough for display data; float64 input keeps float64 sums.
        acc = np.float64 if arr.dtype == np.float64 else np.float32
        blocks = arr.reshape(rows // k, k, cols // k, k)
        total = blocks.sum(axis=3, dtype=acc).sum(axis=1)
        return (total * (1.0 / (k * k))).astype(np.float32)
    out_rows = max(1, int(round(rows / f)))
    out_cols = max(1, int(round(cols / f)))
    return _resize(arr, out_rows, out_cols, PILImage.Resampling.BOX)
