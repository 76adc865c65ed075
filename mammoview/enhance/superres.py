"""Super-resolution of a mammogram, with bicubic interpolation until a model ships.

No trained super-resolution model ships yet (a later issue trains EDSR / SRGAN in
``mammoview.nets``). Until then :func:`superresolve` enlarges with bicubic interpolation and
says so in its label, exactly ``"bicubic (no SR model)"``, so nobody mistakes interpolation
for a learned reconstruction.

The seam for the model is the ``model`` argument: any object with the :class:`SrModel`
attributes (``name``, ``version``, ``scale``) and an ``upscale(x)`` method that takes a
float32 [0, 1] image and returns it ``scale`` times larger. This module never imports torch;
the model object (built and loaded in ``nets``) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from mammoview.enhance.params import SuperresParams, as_unit_float
from mammoview.imaging.resample import upscale_bicubic

__all__ = ["BICUBIC_LABEL", "SrModel", "SuperResolved", "superresolve"]

BICUBIC_LABEL = "bicubic (no SR model)"


@runtime_checkable
class SrModel(Protocol):
    """What :func:`superresolve` needs from a trained super-resolution model."""

    name: str
    version: str
    scale: int

    def upscale(self, x: np.ndarray) -> np.ndarray:
        """float32 (M, N) in [0, 1] -> float32 (scale*M, scale*N)."""


@dataclass(frozen=True)
class SuperResolved:
    """A super-resolved image and how it was made.

    Attributes
    ----------
    array : float32 (factor*M, factor*N) in [0, 1].
    label : what made it; "bicubic (no SR model)" without a model.
    model_version : the model's version, None for bicubic (part of the GUI's cache key).
    """

    array: np.ndarray
    label: str
    model_version: str | None = None


def superresolve(image: np.ndarray, *, factor: int = 2, model: SrModel | None = None) -> SuperResolved:
    """Enlarge an image ``factor`` times, with a trained model if one is given.

    Parameters
    ----------
    image : (M, N) array of any real dtype; rescaled to [0, 1] by its own min/max. Not modified.
    factor : integer enlargement, 2 to 4.
    model : optional :class:`SrModel` whose ``scale`` equals ``factor``.

    Returns
    -------
    SuperResolved with a float32 (factor*M, factor*N) array in [0, 1].

    Raises
    ------
    ValueError
        For a bad factor, a model of another scale, or a model output of the wrong shape.

    Examples
    --------
    >>> sr = superresolve(np.zeros((4, 5)))
    >>> sr.array.shape, sr.label
    ((8, 10), 'bicubic (no SR model)')
    """
    SuperresParams(factor=factor)
    x = as_unit_float(image)
    expected = (x.shape[0] * factor, x.shape[1] * factor)
    if model is None:
        out = upscale_bicubic(x, factor)
        # Bicubic overshoots at sharp edges; keep the [0, 1] contract.
        return SuperResolved(np.clip(out, 0.0, 1.0, out=out), BICUBIC_LABEL, None)
    if not isinstance(model, SrModel):
        raise ValueError("model must provide name, version, scale and upscale(x)")
    if model.scale != factor:
        raise ValueError(f"factor={factor} does not match the model's scale x{model.scale}")
    out = np.asarray(model.upscale(x), dtype=np.float32)
    if out.shape != expected:
        raise ValueError(f"the SR model returned shape {out.shape}, expected {expected}")
    return SuperResolved(
        np.clip(out, 0.0, 1.0), f"{model.name} x{factor}", str(model.version)
    )
