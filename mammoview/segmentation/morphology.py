"""Shared helpers for the classical segmentations: working copies, Otsu, resizing masks.

The breast and pectoral segmentations both work on a small, [0, 1]-scaled copy of the
image (a block mean) and bring their masks back to the input's shape at the end, so a
full-field image costs little more than a 1024-pixel one.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import ndimage as ndi

Side = Literal["left", "right"]


def check_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as an ndarray after checking it is a non-empty 2-D real array.

    Raises
    ------
    ValueError
        If the array is not 2-D, is empty, or is not of a real numeric or boolean dtype.
    """
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D greyscale image, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("expected a non-empty image, got an array with no pixels")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise ValueError(f"expected a real-valued image, got dtype {arr.dtype}")
    return arr


def block_step(shape: tuple[int, int], work_size: int) -> int:
    """Integer block size that brings the long side of ``shape`` to at most ``work_size``."""
    return max(1, int(np.ceil(max(shape) / max(1, work_size))))


def downsample_unit(image: np.ndarray, step: int) -> np.ndarray:
    """Block mean by ``step`` (remainder rows/columns dropped), rescaled to [0, 1], float32.

    The input is never modified. Non-finite pixels count as the image minimum.
    """
    rows = max(step, (image.shape[0] // step) * step)
    cols = max(step, (image.shape[1] // step) * step)
    trimmed = image[: min(rows, image.shape[0]), : min(cols, image.shape[1])]
    small = trimmed.astype(np.float32, copy=True)
    if step > 1 and small.shape[0] >= step and small.shape[1] >= step:
        h, w = small.shape[0] // step, small.shape[1] // step
        small = small.reshape(h, step, w, step).mean(axis=(1, 3), dtype=np.float32)
    finite = np.isfinite(small)
    if not finite.all():
        fill = float(small[finite].min()) if finite.any() else 0.0
        small = np.where(finite, small, fill).astype(np.float32)
    lo, hi = float(small.min()), float(small.max())
    if hi > lo:
        small -= lo
        small /= hi - lo
    else:
        small[:] = 0.0
    return small


def downsample_mask(mask: np.ndarray, step: int) -> np.ndarray:
    """Block majority of a boolean mask by ``step``, on the same grid as :func:`downsample_unit`."""
    mask = np.asarray(mask, dtype=bool)
    h, w = max(1, mask.shape[0] // step), max(1, mask.shape[1] // step)
    if step == 1 or mask.shape[0] < step or mask.shape[1] < step:
        return mask.copy()
    blocks = mask[: h * step, : w * step].reshape(h, step, w, step)
    return blocks.mean(axis=(1, 3)) >= 0.5


def upsample_mask(mask: np.ndarray, shape: tuple[int, int], step: int) -> np.ndarray:
    """Bring a mask made by :func:`downsample_unit` with ``step`` back to ``shape`` (bool).

    Pixel (r, c) of the output takes the working pixel whose block contains it; rows and
    columns beyond the last whole block (dropped by the block mean) take the last block.
    """
    h, w = mask.shape
    if step == 1 and (h, w) == tuple(shape):
        return mask.astype(bool, copy=True)
    ri = np.minimum(np.arange(shape[0]) // step, h - 1)
    ci = np.minimum(np.arange(shape[1]) // step, w - 1)
    return mask.astype(bool, copy=False)[ri[:, None], ci[None, :]]


def disk(radius: int) -> np.ndarray:
    """Boolean disk structuring element of the given radius (radius 0: a single pixel)."""
    r = max(0, int(radius))
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    return x * x + y * y <= r * r + r  # "+ r" rounds the disk like a digital circle


def largest_component(mask: np.ndarray, *, touching: np.ndarray | None = None) -> np.ndarray:
    """The largest 8-connected component of ``mask``.

    With ``touching`` (a bool mask of the same shape), only components that overlap it
    are considered; when none does, the largest component overall is returned.
    An empty mask returns an empty mask.
    """
    labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return np.zeros(mask.shape, bool)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    if touching is not None:
        allowed = np.zeros(n + 1, bool)
        allowed[np.unique(labels[touching & mask])] = True
        allowed[0] = False
        if allowed.any():
            sizes = np.where(allowed, sizes, 0)
    return labels == int(np.argmax(sizes))


def to_chest_left(array: np.ndarray, side: Side) -> np.ndarray:
    """View of ``array`` mirrored so that the chest wall is on the left (no copy)."""
    return array[:, ::-1] if side == "right" else array


def check_side(side: str | None) -> Side | None:
    """Validate a ``chest_wall_side`` argument."""
    if side is None or side in ("left", "right"):
        return side
    raise ValueError(f"chest_wall_side must be 'left', 'right' or None, got {side!r}")
