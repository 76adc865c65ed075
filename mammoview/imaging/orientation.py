"""Which side of a mammogram the chest wall is on, from the pixels alone.

File headers and names are not trusted for this (DDSM names every image in the
tissue set ``RIGHT_MLO`` whatever its orientation). The hanging protocol uses the
answer to mirror images so that the chest walls of the two breasts face each other.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from mammoview.imaging.threshold import otsu_threshold

Side = Literal["left", "right"]

# Long side of the working copy: enough to see the breast outline, cheap on a
# full-field 4664 x 3064 image (a block mean, no interpolation).
_WORK_SIZE = 256
# A row's tissue "starts at" an edge when it begins within this fraction of the
# width from it (films often leave a thin dark margin before the chest wall).
_MARGIN = 0.05
# ... and it "meets" that edge when the run of tissue from there is at least this
# long: scanner edge strips (up to ~10 % of the width on MIAS films) and burnt-in
# lettering are separated from the breast by background and stay shorter.
_MIN_RUN = 0.2
# A column is part of the film when this fraction of its rows is tissue.
_OCCUPIED = 0.1


def chest_wall_side(display: np.ndarray) -> Side:
    """Return the side ("left" or "right") where the breast meets the image edge.

    The chest wall is the edge the breast is cut off by: along most of the image
    height the tissue fills the outer columns on that side, while on the nipple
    side the tissue curves away from the edge and leaves background.

    Parameters
    ----------
    display : ndarray, shape (rows, cols)
        Display-oriented pixels (after VOI and MONOCHROME1 inversion, tissue bright),
        any real dtype. Not modified.

    Returns
    -------
    str
        ``"left"`` or ``"right"``: the side of the image (column 0 is left).

    Notes
    -----
    The edges are those of the film: black padding beside it (MIAS frames) is
    trimmed first. Per row, the run of tissue that starts within 5 % of the width
    from an edge is measured; the side with the longer mean run wins. Scanner edge
    strips and burnt-in labels are cut off from the breast by background, so their
    runs stay short. Ties fall back to the tissue centroid.

    Examples
    --------
    >>> img = np.zeros((100, 80)); img[10:90, :30] = 1.0
    >>> chest_wall_side(img)
    'left'
    >>> chest_wall_side(img[:, ::-1])
    'right'
    """
    small = _downsample(np.asarray(display, dtype=np.float32))
    tissue = small > _tissue_threshold(small)
    rows = tissue.shape[0]
    # Ignore the top and bottom tenth, where labels and film edges usually sit.
    body = tissue[rows // 10 : rows - rows // 10] if rows >= 10 else tissue
    # The film may be padded with black (MIAS films sit in a 1024-wide frame), so
    # "the edge" is the outermost column that holds tissue over a tenth of the
    # height; burnt-in lettering is too short to count.
    occupied = np.flatnonzero(body.mean(axis=0) >= _OCCUPIED)
    if occupied.size >= 2:
        body = body[:, occupied[0] : occupied[-1] + 1]
        tissue = tissue[:, occupied[0] : occupied[-1] + 1]
        small = small[:, occupied[0] : occupied[-1] + 1]
    cols = body.shape[1]
    # Mean run length per side, as a fraction of the width: a strip contributes its
    # own (narrow) width on every row, the chest wall the breast's depth.
    left = _edge_runs(body).mean() / cols
    right = _edge_runs(body[:, ::-1]).mean() / cols
    if abs(left - right) > 0.02:
        return "left" if left > right else "right"
    # Nearly symmetric edges (tiny or unusual images): the breast's mass lies on
    # the chest-wall side because it tapers towards the nipple.
    weight = np.where(tissue, small, 0.0).sum(axis=0)
    total = weight.sum()
    if total <= 0:
        return "left"
    centroid = float((weight * np.arange(cols)).sum() / total)
    return "left" if centroid <= (cols - 1) / 2 else "right"


def _edge_runs(tissue: np.ndarray) -> np.ndarray:
    """Per row, the length of the tissue run that starts near column 0 (0 if none)."""
    rows, cols = tissue.shape
    margin = max(1, int(round(cols * _MARGIN)))
    first = np.argmax(tissue, axis=1)
    starts_near = tissue.any(axis=1) & (first < margin)
    # Treat everything before the first tissue pixel as tissue, then the run ends
    # at the first background pixel after it.
    filled = tissue | (np.arange(cols)[None, :] < first[:, None])
    end = np.where(filled.all(axis=1), cols, np.argmin(filled, axis=1))
    return np.where(starts_near, end - first, 0)


def _downsample(image: np.ndarray) -> np.ndarray:
    """Block mean so the long side is at most ``_WORK_SIZE`` (no copy of the input)."""
    step = max(1, int(np.ceil(max(image.shape) / _WORK_SIZE)))
    if step == 1:
        return image
    rows = (image.shape[0] // step) * step
    cols = (image.shape[1] // step) * step
    if rows == 0 or cols == 0:
        return image
    trimmed = image[:rows, :cols]
    return trimmed.reshape(rows // step, step, cols // step, step).mean(axis=(1, 3))


def _tissue_threshold(image: np.ndarray) -> float:
    """Background vs any tissue, fat included.

    Otsu on the whole image often splits dense tissue from fat (the chest-wall fat
    then looks like background); a second Otsu within the darker class separates
    the background from the fat.
    """
    first = otsu_threshold(image)
    darker = image[image <= first]
    return otsu_threshold(darker) if darker.size > 16 else first


