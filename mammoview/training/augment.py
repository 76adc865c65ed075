"""Augmentations used by the mammography papers: flips, rotations, zoom, shear,
brightness and contrast; seeded, and applied identically to an image and its mask.

The geometric ones (flip, rotate, zoom, shear) are composed into one affine map and
resampled once (bilinear for the image, nearest for the mask), so image and mask stay
aligned pixel for pixel and the image is interpolated only once. Brightness and
contrast change the image only. For super-resolution ``right_angles`` keeps rotations
to multiples of 90 degrees, done by exact array rotation: interpolating the
high-resolution target would teach the network to produce blur.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

AUGMENTATIONS = ("flip", "rotate", "zoom", "shear", "brightness", "contrast")


def parse_augment(text: str | None) -> tuple[str, ...]:
    """``"flip,rotate"`` -> ("flip", "rotate"); "" or "none" -> (); unknown names refused.

    Raises
    ------
    ValueError
        A name that is not one of :data:`AUGMENTATIONS`.
    """
    if text is None:
        return ()
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    if names == ("none",):
        return ()
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r} (choose from {', '.join(AUGMENTATIONS)}, or none)")
    return names


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations, and how strong (ranges are uniform, symmetric)."""

    names: tuple[str, ...] = ()
    rotate_deg: float = 15.0
    zoom: float = 0.15  # scale in [1 - zoom, 1 + zoom]
    shear_deg: float = 8.0
    brightness: float = 0.08  # added grey, in [0, 1] units
    contrast: float = 0.15  # contrast factor in [1 - c, 1 + c]
    right_angles: bool = False

    def to_dict(self) -> dict:
        return {
            "names": list(self.names),
            "rotate_deg": 90.0 if self.right_angles else self.rotate_deg,
            "rotation": "multiples of 90 degrees (exact)" if self.right_angles else "uniform in +-rotate_deg",
            "zoom": self.zoom,
            "shear_deg": self.shear_deg,
            "brightness": self.brightness,
            "contrast": self.contrast,
        }


def augment_pair(
    image: np.ndarray,
    mask: np.ndarray | None,
    rng: np.random.Generator,
    config: AugmentConfig,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply the configured augmentations to ``image`` and the same geometry to ``mask``.

    Parameters
    ----------
    image : (H, W) float array in [0, 1]. Not modified.
    mask : (H, W) bool array or None. Not modified.
    rng : the random generator; the same state gives the same result.
    config : AugmentConfig.

    Returns
    -------
    (image float32 in [0, 1], mask bool or None), same shape as the inputs.
    """
    img = np.asarray(image, dtype=np.float32)
    msk = None if mask is None else np.asarray(mask, dtype=bool)
    names = set(config.names)
    if config.right_angles:
        img, msk = _right_angles(img, msk, rng, names)
    else:
        img, msk = _affine(img, msk, rng, config, names)
    if "contrast" in names:
        factor = rng.uniform(1 - config.contrast, 1 + config.contrast)
        img = (img - img.mean()) * factor + img.mean()
    if "brightness" in names:
        img = img + rng.uniform(-config.brightness, config.brightness)
    return np.clip(img, 0.0, 1.0).astype(np.float32, copy=False), msk


def _right_angles(img, msk, rng, names):
    if "flip" in names and rng.random() < 0.5:
        img, msk = img[:, ::-1], (None if msk is None else msk[:, ::-1])
    if "flip" in names and rng.random() < 0.5:
        img, msk = img[::-1, :], (None if msk is None else msk[::-1, :])
    if "rotate" in names:
        k = int(rng.integers(4))
        img, msk = np.rot90(img, k), (None if msk is None else np.rot90(msk, k))
    return np.ascontiguousarray(img), (None if msk is None else np.ascontiguousarray(msk))


def _affine(img, msk, rng, config: AugmentConfig, names):
    # Output -> input map in (row, col) about the centre; the draws happen in a fixed
    # order so one seed gives one result whatever the image.
    m = np.eye(2)
    if "flip" in names:
        if rng.random() < 0.5:
            m = m @ np.diag([1.0, -1.0])
        if rng.random() < 0.5:
            m = m @ np.diag([-1.0, 1.0])
    if "rotate" in names:
        a = np.deg2rad(rng.uniform(-config.rotate_deg, config.rotate_deg))
        m = m @ np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    if "zoom" in names:
        m = m @ np.diag([1.0 / rng.uniform(1 - config.zoom, 1 + config.zoom)] * 2)
    if "shear" in names:
        s = np.tan(np.deg2rad(rng.uniform(-config.shear_deg, config.shear_deg)))
        m = m @ np.array([[1.0, 0.0], [s, 1.0]])
    if np.allclose(m, np.eye(2)):
        return img, msk
    centre = (np.array(img.shape, dtype=float) - 1) / 2
    offset = centre - m @ centre
    out = ndi.affine_transform(img, m, offset=offset, order=1, mode="constant", cval=0.0)
    out_mask = None
    if msk is not None:
        out_mask = ndi.affine_transform(msk.astype(np.uint8), m, offset=offset, order=0, mode="constant", cval=0) > 0
    return out.astype(np.float32), out_mask
