"""Lesion segmentation: Otsu candidates after enhancement, and UNet inference.

Two ways to outline suspicious regions, with very different standing:

* :func:`segment_otsu_candidates` is the classical step of the ResNet-18 / LIME paper this
  project follows: enhance (median + local contrast modification, CLAHE, Wiener), then
  Otsu thresholding. Here the threshold is the top cut of a four-class multi-level Otsu
  over the breast (pectoral muscle excluded), followed by morphology and a blob-size
  filter. It marks *bright regions*, which is what masses and dense tissue both are: it
  finds candidates, not lesions. On the 99 located MIAS findings about three quarters of
  the lesion centres fall inside a candidate while the candidates cover about a sixth of
  the breast (see the module's tests and the helper report for the figures).
* :func:`segment_unet` / :func:`unet_probability` run the trained UNet of the model store
  (:mod:`mammoview.segmentation.unet_infer`); torch is imported only there, inside
  functions, so importing this module stays cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage as ndi

from mammoview.segmentation.morphology import check_image, disk

__all__ = [
    "CC_VIEWS",
    "segment_otsu_candidates",
    "segment_unet",
    "unet_probability",
]

# Views that show no pectoral muscle: no muscle to exclude.
CC_VIEWS = ("CC", "XCCL", "XCCM", "FB")
# The parameters below were chosen on the located MIAS findings of odd-numbered patients
# and checked on the even-numbered ones (held out); sizes are for a 1024-pixel long side
# (MIAS, 200 micron pixels) and scale with the image's long side.
REFERENCE_SIDE = 1024
# Four Otsu classes: fat, parenchyma, dense tissue, brightest tissue. Three classes put
# whole dense regions in the top class (a third of the breast); five leave little.
CLASSES = 4
# Smoothing before thresholding so that film grain and vessels do not fragment blobs.
SMOOTH_SIGMA = 2.0
# Opening radius: removes specks and thin vessels, keeps blobs of a few millimetres.
OPEN_RADIUS = 4
# A candidate must cover at least this many pixels (about 2 mm^2 at 200 micron) ...
MIN_AREA = 50
# ... and at most this share of the breast: larger bright regions are dense tissue.
MAX_BREAST_FRACTION = 0.2


def segment_otsu_candidates(
    image: np.ndarray,
    *,
    breast_mask: np.ndarray | None = None,
    pectoral_mask: np.ndarray | None = None,
    view: str | None = None,
    classes: int = CLASSES,
    min_area: int | None = None,
    max_breast_fraction: float = MAX_BREAST_FRACTION,
) -> np.ndarray:
    """Return bright blob candidates for lesions as a boolean mask.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Display-oriented mammogram (tissue bright), any real dtype; rescaled internally
        by its own min/max. Not modified.
    breast_mask : ndarray of bool, optional
        The breast region; :func:`mammoview.segmentation.breast.segment_breast` when omitted.
    pectoral_mask : ndarray of bool, optional
        The pectoral muscle, excluded from the search. When omitted it is found with
        :func:`mammoview.segmentation.pectoral.segment_pectoral`, except for CC views
        (``view`` in :data:`CC_VIEWS`), which show no muscle.
    view : str, optional
        The view code ("CC", "MLO", ...), used only to skip the muscle search on CC views.
    classes : int, optional
        Number of multi-level Otsu classes (2 to 6); the brightest class is kept.
    min_area : int, optional
        Smallest candidate in pixels; default 50 pixels at a 1024-pixel long side, scaled
        with the square of the long side.
    max_breast_fraction : float, optional
        Largest candidate as a share of the searched breast area.

    Returns
    -------
    ndarray of bool, shape (rows, cols)
        True on candidate pixels; always inside the breast and outside the muscle. All
        False when there is no breast or no bright blob of a plausible size.

    Notes
    -----
    1. Enhance with :func:`mammoview.enhance.median_lcm.enhance_lime_pipeline` (median +
       local contrast modification, CLAHE, Wiener), then smooth lightly.
    2. Multi-level Otsu over the breast pixels outside the muscle; the brightest class.
    3. Open with a small disk (specks, vessels), then keep 8-connected blobs whose area
       lies between ``min_area`` and ``max_breast_fraction`` of the searched area.

    Examples
    --------
    >>> img = np.zeros((128, 128)); img[:, :100] = 0.3            # the breast
    >>> img[50:70, 40:60] = 0.9                                    # a bright blob
    >>> rng = np.random.default_rng(0); img[:, :100] += 0.05 * rng.random((128, 100))
    >>> mask = segment_otsu_candidates(img, view="CC")
    >>> bool(mask[60, 50]), bool(mask[10, 10])
    (True, False)
    """
    from skimage.filters import threshold_multiotsu

    from mammoview.enhance.median_lcm import enhance_lime_pipeline

    arr = check_image(image)
    _check_mask("breast_mask", breast_mask, arr.shape)
    _check_mask("pectoral_mask", pectoral_mask, arr.shape)
    if not 2 <= int(classes) <= 6:
        raise ValueError(f"classes must be 2 to 6, got {classes}")
    if not 0.0 < max_breast_fraction <= 1.0:
        raise ValueError(f"max_breast_fraction must be in (0, 1], got {max_breast_fraction}")
    empty = np.zeros(arr.shape, bool)
    finite = np.nan_to_num(np.asarray(arr, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if float(finite.max()) <= float(finite.min()):
        return empty
    region = _search_region(finite, breast_mask, pectoral_mask, view)
    if region.sum() < 16:
        return empty
    scale = max(arr.shape) / REFERENCE_SIDE
    smooth = ndi.gaussian_filter(enhance_lime_pipeline(finite), max(0.5, SMOOTH_SIGMA * scale))
    values = smooth[region]
    try:
        top = float(threshold_multiotsu(values, classes=int(classes))[-1])
    except ValueError:
        # Too few distinct grey levels for that many classes: nothing stands out.
        return empty
    bright = region & (smooth > top)
    radius = max(1, round(OPEN_RADIUS * scale))
    bright = ndi.binary_opening(bright, structure=disk(radius))
    smallest = MIN_AREA * scale * scale if min_area is None else int(min_area)
    largest = max_breast_fraction * float(region.sum())
    labels, n = ndi.label(bright, structure=np.ones((3, 3), bool))
    if n == 0:
        return empty
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = (sizes >= smallest) & (sizes <= largest)
    keep[0] = False
    return keep[labels]


def _check_mask(name: str, mask: np.ndarray | None, shape: tuple[int, ...]) -> None:
    if mask is not None and np.shape(mask) != tuple(shape):
        raise ValueError(f"{name} has shape {np.shape(mask)}, the image has {tuple(shape)}")


def _search_region(
    image: np.ndarray,
    breast_mask: np.ndarray | None,
    pectoral_mask: np.ndarray | None,
    view: str | None,
) -> np.ndarray:
    """The breast without the pectoral muscle, computing whichever mask was not given."""
    from mammoview.segmentation.breast import segment_breast
    from mammoview.segmentation.pectoral import segment_pectoral

    breast = segment_breast(image) if breast_mask is None else np.asarray(breast_mask, bool)
    if pectoral_mask is not None:
        muscle = np.asarray(pectoral_mask, bool)
    elif view is not None and view.upper() in CC_VIEWS:
        muscle = np.zeros(breast.shape, bool)
    else:
        muscle = segment_pectoral(image, breast_mask=breast)
    return breast & ~muscle


# --------------------------------------------------------------------------- UNet


def unet_probability(image: np.ndarray, *, model: Any = None, progress: Any = None) -> np.ndarray:
    """The trained UNet's lesion probability for every pixel of ``image``.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Display-oriented mammogram (tissue bright, MONOCHROME1 already inverted), any
        real dtype. Not modified.
    model : SegmentationModel, path or None
        A model from :func:`mammoview.segmentation.unet_infer.load_segmentation_model`,
        the path of one (``.safetensors`` or its card), or None for the active model
        (:func:`mammoview.nets.store.find_model`).
    progress : callable, optional
        Called with :class:`~mammoview.core.progress.Progress` events (load, run, done).

    Returns
    -------
    ndarray of float32, shape (rows, cols), values in [0, 1].

    Raises
    ------
    mammoview.nets.store.ModelLoadError
        No model, or one that is missing, corrupt, of another task or architecture, or
        of mismatched shapes. Callers fall back (e.g. to the Otsu candidates).
    """
    from mammoview.segmentation.unet_infer import predict_probability, resolve_model

    return predict_probability(image, resolve_model(model, progress), progress=progress)


def segment_unet(
    image: np.ndarray, *, model: Any = None, threshold: float = 0.5, progress: Any = None
) -> np.ndarray:
    """The trained UNet's lesion mask: :func:`unet_probability` above ``threshold``.

    Parameters
    ----------
    image, model, progress : see :func:`unet_probability`.
    threshold : float in (0, 1)
        Probability above which a pixel is lesion (0.5: the training's cut).

    Returns
    -------
    ndarray of bool, shape (rows, cols).

    Raises
    ------
    mammoview.nets.store.ModelLoadError
        As :func:`unet_probability`.
    ValueError
        A threshold outside (0, 1).
    """
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    return unet_probability(image, model=model, progress=progress) > float(threshold)
