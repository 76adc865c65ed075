"""Median filter with local contrast modification (LCM), and the ResNet-18 / LIME pipeline.

Source: the ResNet-18 mammogram classification paper with LIME explanations that this
project follows pre-processes each image in three steps: a median filter against impulse
noise combined with a local contrast modification, then CLAHE
(:func:`mammoview.enhance.clahe.enhance_clahe`), then a Wiener filter
(:func:`mammoview.enhance.clahe.filter_wiener`) against the noise that CLAHE amplifies.

Local contrast modification here is the classic unsharp-masking form of local contrast
enhancement: each pixel's deviation from the mean of its ``lcm_size x lcm_size``
neighbourhood is multiplied by ``lcm_gain``,

    out = mean + lcm_gain * (median - mean),

so ``lcm_gain = 1`` leaves the median-filtered image unchanged and ``lcm_gain > 1`` boosts
local contrast (a mass's border, a calcification against its surroundings) without changing
the local mean brightness. Values are clipped to [0, 1].
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from mammoview.enhance.adaptive_median import median3x3
from mammoview.enhance.clahe import equalize_clahe, wiener
from mammoview.enhance.params import ClaheParams, as_unit_float, check_int, check_real

__all__ = ["enhance_lime_pipeline", "filter_median_lcm"]


def _median_lcm(x: np.ndarray, size: int, lcm_size: int, lcm_gain: float) -> np.ndarray:
    med = median3x3(x) if size == 3 else ndi.median_filter(x, size=size, mode="reflect")
    mean = ndi.uniform_filter(med, lcm_size, mode="reflect")
    out = mean + np.float32(lcm_gain) * (med - mean)
    return np.clip(out, 0.0, 1.0, out=out)


def _check(size, lcm_size, lcm_gain) -> None:
    check_int("size", size, 3, 15, odd=True)
    check_int("lcm_size", lcm_size, 3, 101, odd=True)
    check_real("lcm_gain", lcm_gain, 0.0, 10.0)


def filter_median_lcm(
    image: np.ndarray,
    *,
    size: int = 3,
    lcm_size: int = 15,
    lcm_gain: float = 1.5,
) -> np.ndarray:
    """Median filter, then boost each pixel's deviation from its local mean.

    Parameters
    ----------
    image : (M, N) array of any real dtype; rescaled to [0, 1] by its own min/max. Not modified.
    size : odd median window side, 3 to 15.
    lcm_size : odd side of the neighbourhood whose mean is the local reference, 3 to 101.
    lcm_gain : factor on the deviation from the local mean, 0 to 10 (1 = median only).

    Returns
    -------
    (M, N) float32 array in [0, 1].

    Examples
    --------
    >>> img = np.random.default_rng(0).random((32, 32))
    >>> filter_median_lcm(img).shape
    (32, 32)
    """
    _check(size, lcm_size, lcm_gain)
    return _median_lcm(as_unit_float(image), size, lcm_size, lcm_gain)


def enhance_lime_pipeline(
    image: np.ndarray,
    *,
    size: int = 3,
    lcm_size: int = 15,
    lcm_gain: float = 1.5,
    clip_limit: float = 0.01,
    tiles: int = 8,
    wiener_size: int = 3,
) -> np.ndarray:
    """The paper's whole pre-processing: median + LCM, then CLAHE, then a Wiener filter.

    Parameters
    ----------
    image : (M, N) array of any real dtype; rescaled to [0, 1] by its own min/max. Not modified.
    size, lcm_size, lcm_gain : see :func:`filter_median_lcm`.
    clip_limit, tiles : see :func:`mammoview.enhance.clahe.enhance_clahe`.
    wiener_size : odd Wiener window side, 3 to 15.

    Returns
    -------
    (M, N) float32 array in [0, 1].
    """
    _check(size, lcm_size, lcm_gain)
    ClaheParams(clip_limit=clip_limit, tiles=tiles)
    check_int("wiener_size", wiener_size, 3, 15, odd=True)
    x = _median_lcm(as_unit_float(image), size, lcm_size, lcm_gain)
    x = equalize_clahe(x, clip_limit=clip_limit, tiles=tiles)
    return np.clip(wiener(x, size=wiener_size), 0.0, 1.0)
