"""The classifier's preprocessing: one definition used in training and in inference.

The settings travel with the weights in the model card (``card.preprocessing``), so a
model is always fed the way it was trained:

1. grey levels min-max scaled per image to [0, 1], bright = dense (MONOCHROME1 inverted);
2. area-average downscale by ``scale`` (0.5: a 1024 x 1024 MIAS image becomes 512 x 512,
   400 micron pixels);
3. optionally the wavelet enhancement of the two-stage ResNet-50 paper
   (:func:`mammoview.enhance.wavelet.enhance_wavelet`, db4, 4 levels, gain 2, denoised),
   applied to the downscaled image;
4. the breast region (:func:`mammoview.segmentation.breast.segment_breast`) on that image:
   only windows whose centre lies in the breast are scored;
5. square ``patch`` windows (zero padding beyond the image edge), standardised with the
   training patches' mean and standard deviation, one grey channel (the ResNet's
   ``conv1`` is adapted to one channel, see :mod:`mammoview.nets.resnet`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from mammoview.imaging.resample import downscale_area

ENHANCE_CHOICES = ("none", "wavelet")
# Smallest side a mammogram may have to be classified: the breast segmentation and a
# few windows need room; below this it is a thumbnail or a crop, not a mammogram.
MIN_SIDE = 256
# A breast covering less than this share of the image is not a breast found.
MIN_BREAST_FRACTION = 0.02


@dataclass(frozen=True)
class Preprocessing:
    """The settings of the classifier's input (written into the model card).

    Attributes
    ----------
    scale : downscale factor applied to the image (0.5 halves each side).
    patch : window side in pixels of the downscaled image.
    stride : window step of the sliding window at inference.
    enhance : "none" or "wavelet" (the ResNet-50 paper's enhanced input).
    mean, std : standardisation of the patches (training patches' statistics).
    topk : the image score is the mean of the ``topk`` highest window probabilities.
    threshold : operating threshold on the image score (the card says how chosen).
    """

    scale: float = 0.5
    patch: int = 64
    stride: int = 32
    enhance: str = "none"
    mean: float = 0.0
    std: float = 1.0
    topk: int = 3
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {self.scale}")
        if self.patch < 16 or self.stride < 1:
            raise ValueError(f"patch must be >= 16 and stride >= 1, got {self.patch}, {self.stride}")
        if self.enhance not in ENHANCE_CHOICES:
            raise ValueError(f"unknown input enhancement {self.enhance!r} (choose from {', '.join(ENHANCE_CHOICES)})")
        if not self.std > 0:
            raise ValueError(f"std must be positive, got {self.std}")
        if self.topk < 1:
            raise ValueError(f"topk must be >= 1, got {self.topk}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Preprocessing":
        """From a card's ``preprocessing`` (extra descriptive keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: data[k] for k in names if k in data})


def to_grey(pixels: np.ndarray, *, monochrome1: bool = False) -> np.ndarray:
    """Pixels as float32 in [0, 1] by their own min/max, bright = dense (a flat image: zeros)."""
    arr = np.asarray(pixels, dtype=np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    grey = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
    return 1.0 - grey if monochrome1 and hi > lo else grey


def working_image(grey: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """Steps 2-3: the downscaled (and optionally wavelet-enhanced) image, float32 [0, 1]."""
    work = downscale_area(grey, 1.0 / prep.scale) if prep.scale < 1 else np.asarray(grey, np.float32).copy()
    if prep.enhance == "wavelet":
        from mammoview.enhance.wavelet import enhance_wavelet

        work = enhance_wavelet(work)
    return np.clip(work, 0.0, 1.0).astype(np.float32, copy=False)


def breast_region(work: np.ndarray) -> np.ndarray:
    """Step 4: the breast mask of the working image (bool, same shape)."""
    from mammoview.segmentation.breast import segment_breast

    return segment_breast(work)


def standardise(patches: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """Step 5: (N, H, W) greys in [0, 1] -> (N, 1, H, W) float32 network input."""
    arr = np.asarray(patches, dtype=np.float32)
    return ((arr - prep.mean) / prep.std)[:, None].astype(np.float32, copy=False)


def unclassifiable_reason(grey: np.ndarray, breast: np.ndarray | None = None) -> str | None:
    """Why an image cannot be classified, or None when it can.

    Parameters
    ----------
    grey : the image (any real dtype), full resolution.
    breast : its breast mask at any size, if already computed.

    Returns
    -------
    "image too small (R x C px; at least 256 px a side)", "blank image (constant grey)",
    "no breast found", or None.
    """
    arr = np.asarray(grey)
    if arr.ndim != 2:
        return f"not a 2-D greyscale image (shape {arr.shape})"
    if min(arr.shape) < MIN_SIDE:
        return f"image too small ({arr.shape[1]} x {arr.shape[0]} px; at least {MIN_SIDE} px a side)"
    finite = np.isfinite(arr) if np.issubdtype(arr.dtype, np.floating) else None
    if finite is not None and not finite.all():
        return "image has non-finite pixel values"
    if float(arr.max()) == float(arr.min()):
        return "blank image (constant grey)"
    if breast is not None and breast.mean() < MIN_BREAST_FRACTION:
        return "no breast found"
    return None
