"""CLAHE (contrast-limited adaptive histogram equalisation) and the Wiener filter.

Source: the ResNet-18 / LIME mammography paper this project follows prepares images with a
median filter and local contrast modification, then CLAHE, with a Wiener filter against the
noise that the equalisation amplifies (see :mod:`mammoview.enhance.median_lcm` for the whole
pipeline). CLAHE itself is Pizer et al., "Adaptive histogram equalization and its
variations", CVGIP 39, 1987, in the form of Zuiderveld, "Contrast limited adaptive histogram
equalization", Graphics Gems IV, 1994:

1. the image is cut into ``tiles x tiles`` tiles and a 256-bin histogram is taken per tile;
2. each histogram is clipped at ``clip_limit x (pixels per tile)`` (the same normalised clip
   limit as ``skimage.exposure.equalize_adapthist``) and the clipped excess is spread evenly
   over all bins, repeatedly until (almost) nothing exceeds the limit;
3. each tile's cumulative histogram is its grey-level mapping;
4. every pixel is mapped with the four nearest tiles' mappings, blended bilinearly by its
   distance to the tile centres (pixels outside the outermost centres use the nearest ones).

Why our own: ``skimage.exposure.equalize_adapthist`` takes several seconds on a full-field
mammogram (bench/bench_enhance.py measures it); this version is vectorised NumPy (one
``bincount`` for all tile histograms, then strip-wise table look-ups) and needs no extra
package such as OpenCV.

The Wiener filter is the adaptive local one of Lim, *Two-Dimensional Signal and Image
Processing*, 1990 (the algorithm of ``scipy.signal.wiener``), computed with box filters.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from mammoview.enhance.adaptive_median import median3x3
from mammoview.enhance.params import ClaheParams, as_unit_float, check_int

__all__ = ["enhance_clahe", "equalize_clahe", "filter_wiener", "wiener"]

NBINS = 256
# Rows mapped per step: bounds the temporary index arrays to a few MB each.
_STRIP_ROWS = 256
_MAX_REDISTRIBUTIONS = 16


def _tile_axis(n: int, tiles: int, size: int):
    """For each of n positions: nearest lower tile, next tile, weight of the next one."""
    centres_pos = (np.arange(n, dtype=np.float64) - (size - 1) / 2.0) / size
    i0 = np.clip(np.floor(centres_pos), 0, tiles - 1).astype(np.int64)
    i1 = np.minimum(i0 + 1, tiles - 1)
    w = np.clip(centres_pos - i0, 0.0, 1.0).astype(np.float32)
    return i0, i1, w


def _tile_mappings(q: np.ndarray, tiles: int, th: int, tw: int, clip_limit: float) -> np.ndarray:
    """(tiles*tiles*NBINS,) float32: each tile's clipped cumulative histogram, in [0, 1]."""
    rows, cols = q.shape
    # Mirror-pad to whole tiles so every tile has th*tw pixels.
    qp = np.pad(q, ((0, th * tiles - rows), (0, tw * tiles - cols)), mode="symmetric")
    tile_id = np.arange(tiles * tiles, dtype=np.int32).reshape(tiles, 1, tiles, 1) * NBINS
    flat = (qp.reshape(tiles, th, tiles, tw).astype(np.int32) + tile_id).ravel()
    hist = np.bincount(flat, minlength=tiles * tiles * NBINS).astype(np.float64)
    hist = hist.reshape(tiles * tiles, NBINS)
    limit = max(1.0, float(int(clip_limit * th * tw)))
    for _ in range(_MAX_REDISTRIBUTIONS):
        excess = np.maximum(hist - limit, 0.0).sum(axis=1, keepdims=True)
        if excess.max() < 1.0:
            break
        hist = np.minimum(hist, limit) + excess / NBINS
    cdf = np.cumsum(hist, axis=1)
    return (cdf / cdf[:, -1:]).astype(np.float32).ravel()


def equalize_clahe(x: np.ndarray, *, clip_limit: float = 0.01, tiles: int = 8) -> np.ndarray:
    """CLAHE of an image already in [0, 1] (no rescaling); float32 [0, 1] of the same shape."""
    rows, cols = x.shape
    th = -(-rows // tiles)
    tw = -(-cols // tiles)
    scaled = np.clip(x * np.float32(NBINS - 1), 0, NBINS - 1)
    q = np.rint(scaled, out=scaled).astype(np.uint8)
    del scaled
    lut = _tile_mappings(q, tiles, th, tw, clip_limit)
    r0, r1, wr = _tile_axis(rows, tiles, th)
    c0, c1, wc = _tile_axis(cols, tiles, tw)
    base_r0 = (r0 * tiles * NBINS).astype(np.int32)[:, None]
    base_r1 = (r1 * tiles * NBINS).astype(np.int32)[:, None]
    base_c0 = (c0 * NBINS).astype(np.int32)[None, :]
    base_c1 = (c1 * NBINS).astype(np.int32)[None, :]
    wc_ = wc[None, :]
    out = np.empty(x.shape, np.float32)
    for start in range(0, rows, _STRIP_ROWS):
        s = slice(start, start + _STRIP_ROWS)
        qs = q[s].astype(np.int32)
        left = qs + base_c0
        right = qs + base_c1
        top = lut.take(left + base_r0[s]) * (1 - wc_) + lut.take(right + base_r0[s]) * wc_
        bottom = lut.take(left + base_r1[s]) * (1 - wc_) + lut.take(right + base_r1[s]) * wc_
        wr_ = wr[s, None]
        out[s] = top * (1 - wr_) + bottom * wr_
    return np.clip(out, 0.0, 1.0, out=out)


def wiener(x: np.ndarray, *, size: int = 3, noise: float | None = None) -> np.ndarray:
    """Adaptive Wiener filter of the array as it is (no rescaling); float32.

    ``noise`` is the noise variance; by default the mean of the local variances, as in
    ``scipy.signal.wiener``.
    """
    xf = x.astype(np.float32, copy=False)
    mean = ndi.uniform_filter(xf, size, mode="reflect")
    mean_sq = ndi.uniform_filter(xf * xf, size, mode="reflect")
    var = np.maximum(mean_sq - mean * mean, 0.0)
    nv = float(var.mean(dtype=np.float64)) if noise is None else float(noise)
    # Where the local variance is below the noise, the best estimate is the local mean.
    gain = np.where(var > nv, 1.0 - nv / np.maximum(var, 1e-12), 0.0).astype(np.float32)
    return (mean + gain * (xf - mean)).astype(np.float32, copy=False)


def filter_wiener(image: np.ndarray, *, size: int = 3, noise: float | None = None) -> np.ndarray:
    """Adaptive (local-statistics) Wiener filter.

    Parameters
    ----------
    image : (M, N) array of any real dtype; rescaled to [0, 1] by its own min/max. Not modified.
    size : odd window side, 3 to 15.
    noise : noise variance in [0, 1] units; ``None`` estimates it as the mean local variance.

    Returns
    -------
    (M, N) float32 array in [0, 1].
    """
    check_int("size", size, 3, 15, odd=True)
    if noise is not None and not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a non-negative variance or None, got {noise!r}")
    return np.clip(wiener(as_unit_float(image), size=size, noise=noise), 0.0, 1.0)


def enhance_clahe(
    image: np.ndarray,
    *,
    clip_limit: float = 0.01,
    tiles: int = 8,
    denoise: str = "none",
) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation, optionally followed by denoising.

    Parameters
    ----------
    image : (M, N) array of any real dtype; rescaled to [0, 1] by its own min/max. Not modified.
    clip_limit : normalised clip limit in (0, 1] (as in scikit-image): a bin may hold at most
        ``clip_limit`` times the pixels of a tile. Higher means more contrast (1 is plain
        adaptive histogram equalisation).
    tiles : number of tiles along each axis, 1 to 64.
    denoise : "none", "median" (3 x 3 median) or "wiener" (3 x 3 adaptive Wiener), applied
        after the equalisation to the noise it amplified, as the paper does.

    Returns
    -------
    (M, N) float32 array in [0, 1].

    Examples
    --------
    >>> img = np.random.default_rng(0).random((64, 64)) * 0.1
    >>> out = enhance_clahe(img, tiles=4)
    >>> out.dtype, out.shape
    (dtype('float32'), (64, 64))
    """
    ClaheParams(clip_limit=clip_limit, tiles=tiles, denoise=denoise)
    x = as_unit_float(image)
    out = equalize_clahe(x, clip_limit=clip_limit, tiles=tiles)
    if denoise == "median":
        out = median3x3(out)
    elif denoise == "wiener":
        out = np.clip(wiener(out, size=3), 0.0, 1.0)
    return out
