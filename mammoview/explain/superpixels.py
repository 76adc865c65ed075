"""Superpixels of the breast region: the interpretable features that LIME switches on and off.

SLIC (Achanta et al. 2012, scikit-image's ``slic``) runs on a small working copy of the
image, restricted to the breast mask, and its labels are brought back to the image's
size. Everything outside the breast is one inert segment, label 0: it is never switched
off, because background air and film labels carry no evidence a reader would accept.

Decisions
---------
* The working copy has a long side of :data:`WORK_SIZE` pixels: SLIC costs ~0.1 s there
  whatever the input size, and a superpixel of a 64-segment breast is still 15-20 working
  pixels across, far above the resampling error.
* Every breast pixel belongs to a segment: breast pixels whose working-grid cell fell
  outside the working mask (the outline at the coarser scale) take the nearest segment.
* The neutral image that replaces a switched-off segment is the breast blurred inside its
  own outline (:func:`neutral_image`); see :mod:`mammoview.explain.lime` for why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import slic
from skimage.transform import resize

# Long side of the working copy on which SLIC and the neutral blur run.
WORK_SIZE = 256
# Default number of breast superpixels. 64 keeps a segment near a mass's size on a
# 1024-pixel MIAS image (~11 mm across at 0.2 mm pixels) and few enough features that a
# few hundred samples fit the surrogate well.
N_SEGMENTS = 64
# SLIC's balance between intensity and space for a [0, 1] greyscale image: higher gives
# squarer segments, lower follows intensity edges more (0.1 follows the outline of dense
# tissue without making ragged, one-pixel-wide segments).
COMPACTNESS = 0.1


@dataclass(frozen=True)
class Superpixels:
    """A label image: 0 outside the breast (inert), 1..count the breast superpixels.

    Attributes
    ----------
    labels : ndarray of int32, shape (rows, cols)
        Segment of every pixel, at the image's size.
    count : int
        Number of breast superpixels (labels 1..count are all present).
    """

    labels: np.ndarray
    count: int

    def areas(self) -> np.ndarray:
        """Pixel count of segments 1..count, shape (count,)."""
        return np.bincount(self.labels.ravel(), minlength=self.count + 1)[1:]


def compute_superpixels(
    image: np.ndarray,
    breast_mask: np.ndarray,
    *,
    n_segments: int = N_SEGMENTS,
    compactness: float = COMPACTNESS,
    work_size: int = WORK_SIZE,
) -> Superpixels:
    """Return SLIC superpixels of the breast region, at the image's size.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Greyscale mammogram, float in [0, 1] (see :func:`mammoview.explain.lime.to_unit`).
        Not modified.
    breast_mask : ndarray of bool, shape (rows, cols)
        Where the breast is; superpixels are made only there.
    n_segments : int, optional
        Approximate number of breast superpixels.
    compactness : float, optional
        SLIC's compactness for a [0, 1] image.
    work_size : int, optional
        Long side of the working copy on which SLIC runs.

    Returns
    -------
    Superpixels
        ``labels`` is 0 exactly outside ``breast_mask``.

    Raises
    ------
    ValueError
        If the mask is empty or its shape differs from the image's.

    Examples
    --------
    >>> img = np.zeros((200, 100), np.float32)
    >>> img[20:180, :60] = 0.6
    >>> sp = compute_superpixels(img, img > 0, n_segments=8)
    >>> bool((sp.labels[img == 0] == 0).all()), sp.count >= 4
    (True, True)
    """
    mask = np.asarray(breast_mask, bool)
    if mask.shape != image.shape:
        raise ValueError(f"breast mask of shape {mask.shape} does not match the image's {image.shape}")
    if not mask.any():
        raise ValueError("the breast mask is empty: there is no region to explain")
    small_shape = working_shape(image.shape, work_size)
    small = resize(image, small_shape, order=1, anti_aliasing=True, preserve_range=True).astype(np.float64)
    small_mask = resize_nearest(mask, small_shape)
    if not small_mask.any():  # a sliver of breast thinner than one working pixel
        small_mask = resize(mask.astype(np.float32), small_shape, order=1, anti_aliasing=True) > 0
    small_labels = slic(
        small,
        n_segments=max(1, int(n_segments)),
        compactness=compactness,
        mask=small_mask,
        channel_axis=None,
        start_label=1,
    )
    small_labels = fill_from_nearest(small_labels)
    labels = resize_nearest(small_labels, image.shape)
    labels[~mask] = 0
    labels, count = relabel_consecutive(labels)
    return Superpixels(labels=labels, count=count)


def neutral_image(image: np.ndarray, breast_mask: np.ndarray, *, sigma: float, work_size: int = WORK_SIZE) -> np.ndarray:
    """The breast blurred inside its own outline: what a switched-off superpixel shows.

    A normalised convolution (Gaussian of the masked image over the Gaussian of the mask)
    so that the dark background does not bleed into the breast edge. Computed on the
    working copy and brought back bilinearly: it only holds low frequencies anyway.
    Outside the breast the image is returned unchanged.

    Parameters
    ----------
    image : ndarray of float32, shape (rows, cols)
        In [0, 1]. Not modified.
    breast_mask : ndarray of bool, shape (rows, cols)
    sigma : float
        Gaussian width in image pixels.

    Returns
    -------
    ndarray of float32, shape (rows, cols), in [0, 1]
    """
    mask = np.asarray(breast_mask, bool)
    small_shape = working_shape(image.shape, work_size)
    zoom = small_shape[0] / image.shape[0]
    small = resize(image * mask, small_shape, order=1, anti_aliasing=True, preserve_range=True)
    weight = resize(mask.astype(np.float64), small_shape, order=1, anti_aliasing=True, preserve_range=True)
    s = max(0.5, sigma * zoom)
    num = ndi.gaussian_filter(small, s, mode="constant")
    den = ndi.gaussian_filter(weight, s, mode="constant")
    blurred = np.where(den > 1e-6, num / np.maximum(den, 1e-6), 0.0)
    full = resize(blurred, image.shape, order=1, anti_aliasing=False, preserve_range=True)
    out = np.where(mask, full, image)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def working_shape(shape: tuple[int, ...], work_size: int) -> tuple[int, int]:
    """Shape with the long side at most ``work_size``, aspect ratio kept (never upsampled)."""
    rows, cols = int(shape[0]), int(shape[1])
    factor = min(1.0, work_size / max(rows, cols))
    return max(1, round(rows * factor)), max(1, round(cols * factor))


def resize_nearest(labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Nearest-neighbour resize of a label or mask image by index mapping (exact labels)."""
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * labels.shape[0] / shape[0]).astype(np.intp), labels.shape[0] - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * labels.shape[1] / shape[1]).astype(np.intp), labels.shape[1] - 1)
    return labels[np.ix_(rows, cols)].copy()


def fill_from_nearest(labels: np.ndarray) -> np.ndarray:
    """Give every 0 pixel the label of the nearest labelled pixel (all 0 stays all 0)."""
    unlabelled = labels == 0
    if not unlabelled.any() or unlabelled.all():
        return labels
    _, (r, c) = ndi.distance_transform_edt(unlabelled, return_indices=True)
    return labels[r, c]


def relabel_consecutive(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels renumbered 1..count in order of first value (0 stays 0), and count."""
    present = np.unique(labels)
    present = present[present != 0]
    lookup = np.zeros(int(labels.max()) + 1 if labels.size else 1, np.int32)
    lookup[present] = np.arange(1, present.size + 1, dtype=np.int32)
    return lookup[labels].astype(np.int32), int(present.size)
