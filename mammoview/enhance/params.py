"""Input convention and parameter sets shared by the enhancement functions.

Every enhancement accepts a 2-D array of any real dtype and first rescales it to
float32 in [0, 1] by *its own* minimum and maximum (:func:`as_unit_float`). That makes a
uint8 MIAS PNG, a 12-bit DICOM and a float array behave the same, at the price that two
images' grey levels are not comparable in absolute terms. A constant image becomes all
zeros. The input array is never modified.

The parameter sets are frozen dataclasses so the GUI can use them (with the image and the
model version) as cache keys; each validates itself and raises ``ValueError`` naming the
parameter that is wrong.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

import numpy as np

#: Daubechies wavelets offered to the user (PyWavelets names; db1 is the Haar wavelet).
WAVELET_FAMILIES: tuple[str, ...] = tuple(f"db{n}" for n in range(1, 9))

#: Denoising steps that ``enhance_clahe`` can run after the equalisation.
CLAHE_DENOISE: tuple[str, ...] = ("none", "median", "wiener")


def as_unit_float(image: np.ndarray) -> np.ndarray:
    """Return a float32 copy of a 2-D image rescaled to [0, 1] by its own min/max.

    Parameters
    ----------
    image : (M, N) array of any real dtype (bool, integer or float).

    Returns
    -------
    (M, N) float32 array in [0, 1]; all zeros for a constant image. Always a new array.

    Raises
    ------
    ValueError
        If the image is not 2-D, is empty, is complex, or holds NaN or infinite values.

    Examples
    --------
    >>> as_unit_float(np.array([[10, 20], [30, 50]], dtype=np.uint16)).tolist()
    [[0.0, 0.25], [0.5, 1.0]]
    """
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(f"image must be 2-D (rows, columns), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("image is empty")
    if np.iscomplexobj(arr) or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    ):
        raise ValueError(f"image must have a real dtype, got {arr.dtype}")
    # Wide floats are rescaled before narrowing, so a huge range keeps its precision.
    wide = np.issubdtype(arr.dtype, np.floating) and arr.dtype.itemsize > 4
    out = arr.astype(np.float32, copy=True) if not wide else None
    src = arr if wide else out
    lo = float(src.min())
    hi = float(src.max())
    # min/max propagate NaN and inf, so this one check covers every non-finite pixel.
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("image contains NaN or infinite values")
    if hi == lo:
        return np.zeros(arr.shape, np.float32)
    if wide:
        out = ((arr - lo) * (1.0 / (hi - lo))).astype(np.float32)
        return np.clip(out, 0.0, 1.0, out=out)
    out -= np.float32(lo)
    out *= np.float32(1.0 / (hi - lo))
    np.clip(out, 0.0, 1.0, out=out)
    return out


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(name: str, value, lo: int, hi: int, *, odd: bool = False) -> int:
    """Validate an integer parameter; raise ``ValueError`` naming it."""
    if not _is_int(value) or not lo <= value <= hi or (odd and value % 2 == 0):
        kind = "an odd integer" if odd else "an integer"
        raise ValueError(f"{name} must be {kind} in [{lo}, {hi}], got {value!r}")
    return int(value)


def check_real(name: str, value, lo: float, hi: float, *, open_lo: bool = False) -> float:
    """Validate a real parameter in [lo, hi] (or (lo, hi]); raise ``ValueError`` naming it."""
    ok = _is_real(value) and np.isfinite(value)
    if ok:
        ok = (lo < value if open_lo else lo <= value) and value <= hi
    if not ok:
        left = "(" if open_lo else "["
        raise ValueError(f"{name} must be a number in {left}{lo}, {hi}], got {value!r}")
    return float(value)


def check_choice(name: str, value, choices: tuple) -> str:
    """Validate a parameter that must be one of ``choices``; raise ``ValueError`` naming it."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


class _Params:
    """Shared behaviour: a plain dict of the fields, for the report and the cache."""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class OriginalParams(_Params):
    """The original panel has no parameters."""


@dataclass(frozen=True)
class WaveletParams(_Params):
    """Daubechies wavelet enhancement (see :func:`mammoview.enhance.wavelet.enhance_wavelet`)."""

    wavelet: str = "db4"
    levels: int = 4
    gain: float = 2.0
    denoise: bool = True

    def __post_init__(self):
        check_choice("wavelet", self.wavelet, WAVELET_FAMILIES)
        check_int("levels", self.levels, 1, 8)
        check_real("gain", self.gain, 0.0, 10.0, open_lo=True)
        if not isinstance(self.denoise, (bool, np.bool_)):
            raise ValueError(f"denoise must be True or False, got {self.denoise!r}")


@dataclass(frozen=True)
class ClaheParams(_Params):
    """CLAHE (see :func:`mammoview.enhance.clahe.enhance_clahe`)."""

    clip_limit: float = 0.01
    tiles: int = 8
    denoise: str = "none"

    def __post_init__(self):
        check_real("clip_limit", self.clip_limit, 0.0, 1.0, open_lo=True)
        check_int("tiles", self.tiles, 1, 64)
        check_choice("denoise", self.denoise, CLAHE_DENOISE)


@dataclass(frozen=True)
class AdaptiveMedianParams(_Params):
    """Adaptive median filter (see :func:`mammoview.enhance.adaptive_median.filter_adaptive_median`)."""

    max_window: int = 7

    def __post_init__(self):
        check_int("max_window", self.max_window, 3, 15, odd=True)


@dataclass(frozen=True)
class SuperresParams(_Params):
    """Super-resolution (see :func:`mammoview.enhance.superres.superresolve`)."""

    factor: int = 2

    def __post_init__(self):
        check_int("factor", self.factor, 2, 4)
