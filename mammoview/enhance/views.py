"""The enhancement panels: one registry, one entry point, results with their metrics.

The GUI shows an image as several panels side by side ("original", "wavelet", "clahe",
"adaptive-median", "superres"). :func:`compute_view` computes one panel: the enhanced array,
a label that says what was done, the parameters, and how far the result is from the original
(MSE, PSNR, SSIM). Parameters are frozen dataclasses, so ``(image id, name, params, model
version)`` is a cache key.

Conventions (as for every ``mammoview.enhance`` function): the input of any real dtype is
rescaled to [0, 1] by its own min/max; the output is float32 in [0, 1]; the input is never
modified. The metrics compare the output with that rescaled original.

* Super-resolution makes an image twice the size; its metrics compare the original with the
  output area-downscaled back to the original grid (the label says so).
* SSIM on a full-field image (more than 2**21 pixels) is computed on area-downscaled copies
  of both images, reduced by an integer factor k to about a megapixel, and its key says so:
  ``"SSIM (1/k scale)"``. MSE and PSNR always use every pixel.
* An image smaller than SSIM's 11 x 11 window gets ``nan`` for SSIM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from mammoview.enhance.adaptive_median import filter_adaptive_median
from mammoview.enhance.clahe import enhance_clahe
from mammoview.enhance.params import (
    WAVELET_FAMILIES,
    AdaptiveMedianParams,
    ClaheParams,
    OriginalParams,
    SuperresParams,
    WaveletParams,
    as_unit_float,
)
from mammoview.enhance.superres import SrModel, superresolve
from mammoview.enhance.wavelet import enhance_wavelet
from mammoview.imaging.metrics import mse, psnr_from_mse, ssim
from mammoview.imaging.resample import downscale_area

__all__ = [
    "DEFAULT_PARAMS",
    "VIEWS",
    "WAVELET_FAMILIES",
    "AdaptiveMedianParams",
    "ClaheParams",
    "EnhancedView",
    "OriginalParams",
    "SuperresParams",
    "WaveletParams",
    "compute_view",
    "image_metrics",
]

#: Above this many pixels SSIM is computed on downscaled copies (a 1448 x 1448 image).
SSIM_FULL_RES_MAX_PIXELS = 1 << 21
# Downscaled copies aim at about this many pixels.
_SSIM_TARGET_PIXELS = 1 << 20


@dataclass(frozen=True)
class EnhancedView:
    """One computed panel.

    Attributes
    ----------
    array : float32 in [0, 1]; the original's shape (super-resolution: ``factor`` times it).
    label : what was done, in words, for the panel title and the report.
    params : the frozen parameter set used.
    metrics : ``{"MSE": .., "PSNR (dB)": .., "SSIM" or "SSIM (1/k scale)": ..}`` against the
        rescaled original.
    """

    array: np.ndarray
    label: str
    params: Any
    metrics: dict[str, float]


def _original(x: np.ndarray, p: OriginalParams) -> tuple[np.ndarray, str]:
    return x, "Original"


def _wavelet(x: np.ndarray, p: WaveletParams) -> tuple[np.ndarray, str]:
    out = enhance_wavelet(x, wavelet=p.wavelet, levels=p.levels, gain=p.gain, denoise=p.denoise)
    denoise = "BayesShrink denoising" if p.denoise else "no denoising"
    return out, f"Wavelet {p.wavelet}, {p.levels} levels, detail gain {p.gain:g}, {denoise}"


def _clahe(x: np.ndarray, p: ClaheParams) -> tuple[np.ndarray, str]:
    out = enhance_clahe(x, clip_limit=p.clip_limit, tiles=p.tiles, denoise=p.denoise)
    denoise = "" if p.denoise == "none" else f", then {p.denoise} filter"
    return out, f"CLAHE clip limit {p.clip_limit:g}, {p.tiles}x{p.tiles} tiles{denoise}"


def _adaptive_median(x: np.ndarray, p: AdaptiveMedianParams) -> tuple[np.ndarray, str]:
    out = filter_adaptive_median(x, max_window=p.max_window)
    return out, f"Adaptive median, window 3x3 up to {p.max_window}x{p.max_window}"


def _superres(
    x: np.ndarray, p: SuperresParams, model: SrModel | None = None
) -> tuple[np.ndarray, str]:
    sr = superresolve(x, factor=p.factor, model=model)
    return sr.array, (
        f"Super-resolution x{p.factor}: {sr.label} "
        f"(metrics: output area-downscaled x1/{p.factor} vs original)"
    )


#: Panel name -> function ``(pixels in [0, 1], params) -> (array, label)``.
VIEWS: dict[str, Callable[..., tuple[np.ndarray, str]]] = {
    "original": _original,
    "wavelet": _wavelet,
    "clahe": _clahe,
    "adaptive-median": _adaptive_median,
    "superres": _superres,
}

#: Panel name -> its default parameters (also gives each panel's parameter class).
DEFAULT_PARAMS: dict[str, Any] = {
    "original": OriginalParams(),
    "wavelet": WaveletParams(),
    "clahe": ClaheParams(),
    "adaptive-median": AdaptiveMedianParams(),
    "superres": SuperresParams(),
}


def bright_is_dense(pixels: np.ndarray, monochrome1: bool) -> np.ndarray:
    """The stored pixels with bright meaning dense: MONOCHROME1 values are negated.

    Enhancements rescale their input by its own min/max, so negation is all it takes for an
    enhanced panel to have the polarity of the displayed original. Not a copy otherwise.
    """
    return -pixels.astype(np.float32) if monochrome1 else pixels


def image_metrics(reference: np.ndarray, result: np.ndarray) -> dict[str, float]:
    """MSE, PSNR (dB) and SSIM of ``result`` against ``reference``, both in [0, 1].

    SSIM of images over :data:`SSIM_FULL_RES_MAX_PIXELS` pixels is computed on copies
    area-downscaled by an integer factor k, under the key ``"SSIM (1/k scale)"``.
    """
    err = mse(reference, result)
    out = {"MSE": err, "PSNR (dB)": psnr_from_mse(err, data_range=1.0)}
    n = reference.size
    k = 1
    if n > SSIM_FULL_RES_MAX_PIXELS:
        k = math.ceil(math.sqrt(n / _SSIM_TARGET_PIXELS))
    key = "SSIM" if k == 1 else f"SSIM (1/{k} scale)"
    a = reference if k == 1 else downscale_area(reference, k)
    b = result if k == 1 else downscale_area(result, k)
    out[key] = ssim(a, b, data_range=1.0) if min(a.shape) >= 11 else float("nan")
    return out


def compute_view(
    name: str,
    pixels: np.ndarray,
    params: Any = None,
    *,
    model: SrModel | None = None,
) -> EnhancedView:
    """Compute one panel of an image.

    Parameters
    ----------
    name : a key of :data:`VIEWS`.
    pixels : (M, N) array of any real dtype (e.g. ``Image.pixels``). Not modified.
    params : that panel's parameter dataclass; ``None`` uses :data:`DEFAULT_PARAMS`.
    model : an optional super-resolution model (only for "superres").

    Returns
    -------
    EnhancedView

    Raises
    ------
    ValueError
        For an unknown name, parameters of the wrong class, or a model given to a panel
        other than "superres".

    Examples
    --------
    >>> v = compute_view("clahe", np.random.default_rng(0).random((64, 64)))
    >>> v.array.dtype, sorted(v.metrics)
    (dtype('float32'), ['MSE', 'PSNR (dB)', 'SSIM'])
    """
    if name not in VIEWS:
        raise ValueError(f"name must be one of {', '.join(VIEWS)}; got {name!r}")
    default = DEFAULT_PARAMS[name]
    if params is None:
        params = default
    if type(params) is not type(default):
        raise ValueError(
            f"params for {name!r} must be {type(default).__name__}, got {type(params).__name__}"
        )
    if model is not None and name != "superres":
        raise ValueError(f"model is only used by the 'superres' view, not {name!r}")
    reference = as_unit_float(pixels)
    if name == "superres":
        array, label = _superres(reference, params, model)
        compared = downscale_area(array, params.factor)
    else:
        array, label = VIEWS[name](reference, params)
        compared = array
    return EnhancedView(array, label, params, image_metrics(reference, compared))
