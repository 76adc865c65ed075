"""Where the breast is in an image, so "fit" fills the panel with tissue, not film.

A mini-MIAS film is 1024 x 1024 with the breast in a third of it; four such panels side by
side left the breast about 70 px wide on a 1600 px screen. Radiology viewers fit the
tissue, so the panels mode fits this box (plus a margin) instead of the whole image; the
four-view hanging keeps whole images, since its mirrored columns share one frame.

Computed with the chest-wall side on the worker that prepares the image (pure NumPy:
:func:`mammoview.segmentation.breast.segment_breast` on a copy of about 256 px).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from mammoview.core import Image
from mammoview.gui.viewer.pyramid import Pyramid
from mammoview.imaging.display import to_display

# Long side of the copy the breast is found on.
_TISSUE_SIZE = 256
# A region smaller than this share of the image is not trusted as "the breast" (a label,
# a blank film): the whole image is fitted instead.
MIN_TISSUE_FRACTION = 0.05
# Margin around the breast, as a share of the box's longer side.
TISSUE_MARGIN = 0.04

Box = tuple[int, int, int, int]  # (row0, col0, row1, col1), original pixels, end exclusive


def tissue_box(image: Image, levels: Sequence[np.ndarray] = (), chest_wall: str | None = None) -> Box | None:
    """The breast's bounding box with a margin, or None when no breast is found.

    ``levels`` are the pixels' prepared reductions when known; ``chest_wall`` ("left" or
    "right", as displayed) saves detecting it again.
    """
    from mammoview.segmentation.breast import segment_breast

    pyramid = Pyramid.from_levels(levels) if levels else Pyramid(image.pixels)
    small = pyramid.level_for(max(image.shape) / _TISSUE_SIZE)
    display = to_display(replace(image, pixels=small))
    try:
        mask = segment_breast(display, chest_wall_side=chest_wall, work_size=max(small.shape))
    except ValueError:  # a degenerate image (one row, constant): fit the whole of it
        return None
    if mask.mean() < MIN_TISSUE_FRACTION:
        return None
    rows, cols = np.nonzero(mask)
    scale_r, scale_c = image.shape[0] / small.shape[0], image.shape[1] / small.shape[1]
    r0, r1 = rows.min() * scale_r, (rows.max() + 1) * scale_r
    c0, c1 = cols.min() * scale_c, (cols.max() + 1) * scale_c
    pad = TISSUE_MARGIN * max(r1 - r0, c1 - c0)
    return (max(0, int(r0 - pad)), max(0, int(c0 - pad)),
            min(image.shape[0], int(np.ceil(r1 + pad))), min(image.shape[1], int(np.ceil(c1 + pad))))
