"""Everything a panel draws, computed off the UI thread.

The UI thread only starts work, receives results and paints (no stall over 50 ms).
Turning an array into something pyqtgraph can draw fast is not cheap on a full-field
mammogram: cleaning NaNs and quantising a float view to uint16 takes about 300 ms on
a super-resolved 8168 x 6656 array, its reductions another 100 ms, and even the
original's min/max and reductions take 15-30 ms. So the window's worker jobs call
:func:`prepare_content` (an enhanced view) and :func:`prepare_image` (a loaded image)
and hand the results to the viewer, whose ``set_content`` then only passes arrays to
pyqtgraph.

This module is pure NumPy (no Qt), so it also runs in a decoding process.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mammoview.core import Image, ImageRef, Voi
from mammoview.gui.viewer.content import ViewContent
from mammoview.gui.viewer.hanging import image_chest_wall
from mammoview.gui.viewer.pyramid import build_levels
from mammoview.gui.viewer.tissue import tissue_box
from mammoview.imaging.display import default_voi

# Float views are drawn from a uint16 copy: pyqtgraph maps uint16 through one combined
# table, several times faster per frame than its float path
# (bench/bench_window_level.py); 65536 steps are far finer than any display LUT.
QUANT_STEPS = 65535.0


@dataclass(frozen=True, eq=False)
class PreparedContent:
    """A :class:`ViewContent` with the arrays its panel draws.

    Attributes
    ----------
    content : ViewContent
        What was prepared (its ``array`` stays the caller's, e.g. a float view).
    levels : tuple of ndarray
        The drawn array (``content.array`` itself when it is an integer array, else its
        uint16 quantisation) and its 2x area-mean reductions, finest first. Empty for
        pending content, which shows the original.
    quant : (offset, scale) or None
        For float content: ``drawn = (array - offset) * scale``, rounded.
    """

    content: ViewContent
    levels: tuple[np.ndarray, ...]
    quant: tuple[float, float] | None = None

    # ViewContent's fields, so callers may treat both alike.
    @property
    def array(self) -> np.ndarray:
        return self.content.array

    @property
    def label(self) -> str:
        return self.content.label

    @property
    def caption(self) -> str:
        return self.content.caption

    @property
    def normalized(self) -> bool:
        return self.content.normalized

    @property
    def pending(self) -> bool:
        return self.content.pending

    @property
    def nbytes(self) -> int:
        """Bytes of the drawn arrays, the first not counted when it is the caller's own
        integer array (an original's pixels, counted with its image)."""
        return sum(lv.nbytes for i, lv in enumerate(self.levels)
                   if not (i == 0 and self.quant is None))

    def relabel(self, label: str | None = None, caption: str | None = None) -> PreparedContent:
        """The same arrays under another title or caption (no work)."""
        changes = {}
        if label is not None:
            changes["label"] = label
        if caption is not None:
            changes["caption"] = caption
        return replace(self, content=replace(self.content, **changes))


@dataclass(frozen=True, eq=False)
class PreparedImage:
    """A loaded image with what the viewer needs of it, computed once, off the UI thread.

    Attributes
    ----------
    image : Image
    value_range : (float, float)
        :meth:`Image.value_range`: the range every display LUT of this image covers.
    default_voi : Voi
        :func:`mammoview.imaging.display.default_voi` of the image.
    original : PreparedContent
        The original's pixels ready to draw (label "Original").
    chest_wall : {"left", "right"} or None
        Side of the chest wall as displayed, for the hanging (None when not computed).
    tissue : (row0, col0, row1, col1) or None
        The breast's box with a margin (:mod:`~mammoview.gui.viewer.tissue`), which the
        panels fit; None when not computed or not found (the whole image is fitted).
    """

    image: Image
    value_range: tuple[float, float]
    default_voi: Voi
    original: PreparedContent
    chest_wall: str | None = None
    tissue: tuple[int, int, int, int] | None = None

    @property
    def uid(self) -> str:
        return self.image.uid

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape

    @property
    def nbytes(self) -> int:
        """The pixels plus every array made for display."""
        return self.image.pixels.nbytes + self.original.nbytes


def prepare_content(content: ViewContent | PreparedContent) -> PreparedContent:
    """The arrays a panel draws for ``content`` (thread-safe, pure NumPy).

    Parameters
    ----------
    content : ViewContent or PreparedContent
        A PreparedContent is returned as it is; pending content gets no arrays.

    Returns
    -------
    PreparedContent
        Float arrays are quantised to uint16 over their own finite min..max (NaN and
        infinities drawn as 0) and reduced; integer arrays are reduced as they are.

    Examples
    --------
    >>> p = prepare_content(ViewContent(np.array([[0.0, 0.5], [1.0, np.nan]], np.float32), "x"))
    >>> p.levels[0].tolist(), p.quant
    ([[0, 32768], [65535, 0]], (0.0, 65535.0))
    """
    if isinstance(content, PreparedContent):
        return content
    if content.pending:
        return PreparedContent(content, ())
    drawn, quant = quantize(content.array)
    return PreparedContent(content, build_levels(drawn), quant)


def quantize(array: np.ndarray) -> tuple[np.ndarray, tuple[float, float] | None]:
    """(uint16 copy, (offset, scale)) of a float array; integer arrays pass unchanged."""
    if array.dtype.kind != "f":
        return array, None
    if array.dtype.itemsize < 4:
        array = array.astype(np.float32)
    offset, top = float(array.min()), float(array.max())
    if np.isfinite(offset) and np.isfinite(top):
        # min/max propagate NaN and infinities, so the array is clean: skip the copy.
        work = array - np.float32(offset)
    else:
        work = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
        offset, top = float(work.min()), float(work.max())
        work -= np.float32(offset)
    scale = QUANT_STEPS / (top - offset) if top > offset else 1.0
    # In place on the private copy: ``(x - offset) * scale + 0.5`` as before it moved here.
    work *= np.float32(scale)
    work += np.float32(0.5)
    return work.astype(np.uint16), (offset, scale)


def prepare_image(
    image: Image | PreparedImage, *, chest_wall: bool = True, label: str = "Original"
) -> PreparedImage:
    """Value range, default VOI, drawable original and chest-wall side of ``image``.

    Thread-safe, pure NumPy: the window runs it on a worker right after loading.
    ``chest_wall=False`` skips the orientation and breast-box analysis (15-90 ms; the
    hanging needs the side, the panels' fit the box).
    """
    if isinstance(image, PreparedImage):
        if image.chest_wall is None and chest_wall:
            side = image_chest_wall(image.image, levels=image.original.levels)
            return replace(image, chest_wall=side,
                           tissue=tissue_box(image.image, image.original.levels, side))
        return image
    value_range = image.value_range()
    original = prepare_content(ViewContent(image.pixels, label, normalized=False))
    side = box = None
    if chest_wall:
        side = image_chest_wall(image, levels=original.levels)
        box = tissue_box(image, original.levels, side)
    voi = image.voi[0] if image.voi else _range_voi(image, value_range)
    return PreparedImage(image, value_range, voi, original, side, box)


def _range_voi(image: Image, value_range: tuple[float, float]) -> Voi:
    """default_voi's data-range window from a known range (no second pass over the pixels)."""
    lo, hi = value_range
    return default_voi(replace(image, pixels=np.array([[lo, hi]], dtype=np.float64)))


def load_prepared(ref: ImageRef, chest_wall: bool = True) -> PreparedImage:
    """Decode ``ref`` and prepare it: the whole loading job, for a thread or a process."""
    from mammoview.io.loader import load_image

    return prepare_image(load_image(ref), chest_wall=chest_wall)


def blank_content(shape: tuple[int, int], label: str, caption: str = "") -> PreparedContent:
    """A black panel over an image of ``shape`` (a failed view), with no full-size array."""
    placeholder = np.broadcast_to(np.float32(0.0), shape)
    return PreparedContent(
        ViewContent(placeholder, label, caption), (np.zeros((1, 1), np.uint16),), (0.0, 1.0)
    )
