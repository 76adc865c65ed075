"""Fitting report pictures to what they show: the background margins of a screen grab go.

The window's report pictures are grabs of its panels
(:meth:`mammoview.gui.viewer.area.ViewerArea.grab_views`). A panel is shaped by the window,
not by the image, so a square mammogram in a tall, narrow panel sits in a wide band of the
panel's background, and on the page the breast filled a quarter of its picture. The report
trims that band here, on the picture it is given, so the viewer needs no report mode and
any caller's picture is treated alike.

What counts as content is anything that differs from the background colour (the colour of
the picture's corners), so a finding circle, a reader's mark or its label is never cut off
however far it reaches past the image. Trimming only removes rows and columns, so the
picture keeps its aspect ratio pixel for pixel. Pictures of one page that have (about)
one size, such as the linked panels of one image or a 4-view hanging, share one box: they
keep one scale and stay aligned, as they are on screen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Channel difference from the background up to which a pixel is background. A panel's
#: background is flat (pyqtgraph's black); a little slack also drops the near-black air
#: beside the breast, while marks and labels are drawn in bright colours.
BACKGROUND_TOLERANCE = 16
#: Room left around the content, as a fraction of its longest side: marks must not touch
#: the picture's frame.
PAD_FRACTION = 0.02
#: Pictures whose sides differ by at most this many pixels (or 1 %) count as one size:
#: side-by-side panels differ by a pixel when the window's width does not divide evenly.
SAME_SIZE_SLACK = 2

#: (first row, end row, first col, end col), ends exclusive, as slices take them.
Box = tuple[int, int, int, int]


def content_box(rgb: np.ndarray, *, tolerance: int = BACKGROUND_TOLERANCE) -> Box:
    """The part of ``rgb`` that is not background margin, with a little room around it.

    Parameters
    ----------
    rgb : (rows, cols, 3) uint8
    tolerance : int
        Largest channel difference from the background colour that is still background.

    Returns
    -------
    Box
        The whole picture when its corners do not share one colour (the content reaches
        a corner, so there is no margin to trim) or when nothing differs from it.

    Examples
    --------
    >>> rgb = np.zeros((100, 40, 3), np.uint8)
    >>> rgb[40:60, 10:30] = 200
    >>> content_box(rgb)
    (38, 62, 8, 32)
    """
    rows, cols = rgb.shape[:2]
    whole = (0, rows, 0, cols)
    corners = rgb[[0, 0, -1, -1], [0, -1, 0, -1]].astype(np.int16)
    background = corners[0]
    if np.abs(corners - background).max() > tolerance:
        return whole
    differs = (np.abs(rgb.astype(np.int16) - background) > tolerance).any(axis=2)
    used_rows = np.flatnonzero(differs.any(axis=1))
    if used_rows.size == 0:
        return whole  # a blank picture: nothing to fit it to
    used_cols = np.flatnonzero(differs.any(axis=0))
    r0, r1 = int(used_rows[0]), int(used_rows[-1]) + 1
    c0, c1 = int(used_cols[0]), int(used_cols[-1]) + 1
    pad = max(2, round(PAD_FRACTION * max(r1 - r0, c1 - c0)))
    return max(0, r0 - pad), min(rows, r1 + pad), max(0, c0 - pad), min(cols, c1 + pad)


def _same_size(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) <= max(SAME_SIZE_SLACK, 0.01 * max(x, y)) for x, y in zip(a, b))


def fit_to_content(pictures: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The pictures of one page, each trimmed to its content (see :func:`content_box`).

    Pictures of about one size share the union of their boxes, so linked panels keep
    one scale and stay aligned. The input arrays are not modified; the results are
    views into them.

    Examples
    --------
    >>> tall = np.zeros((400, 100, 3), np.uint8)
    >>> tall[150:250, 5:95] = 255
    >>> [p.shape for p in fit_to_content([tall])]
    [(104, 94, 3)]
    """
    boxes = [content_box(p) for p in pictures]
    groups: list[list[int]] = []  # indices of pictures of about one size
    for i, picture in enumerate(pictures):
        for group in groups:
            if _same_size(pictures[group[0]].shape[:2], picture.shape[:2]):
                group.append(i)
                break
        else:
            groups.append([i])
    out: list[np.ndarray] = list(pictures)
    for group in groups:
        r0 = min(boxes[i][0] for i in group)
        r1 = max(boxes[i][1] for i in group)
        c0 = min(boxes[i][2] for i in group)
        c1 = max(boxes[i][3] for i in group)
        for i in group:
            out[i] = pictures[i][r0:r1, c0:c1]
    return out
