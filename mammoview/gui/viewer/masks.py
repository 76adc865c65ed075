"""Segmentation layers drawn over one panel: one pyqtgraph ImageItem per layer.

A layer arrives as a :class:`~mammoview.gui.overlayjobs.MaskDisplay` made on a worker:
uint8 codes (0 outside, 1 inside, 2 boundary) at display resolution. The item maps the
codes through a 256-entry RGBA table, so fill or contour, colour and opacity are only a
new table (no pixel is computed on the UI thread). The item sits in original image
coordinates with the panel's horizontal mirror, like the image and the findings.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QTransform

from mammoview.gui.overlayjobs import LAYERS

# Above the image, below the findings circles (z 10).
BASE_Z = 5


def layer_lut(rgba: tuple[int, int, int, int], mode: str) -> np.ndarray:
    """(256, 4) uint8 RGBA table for the codes: fill paints 1 and 2, contour only 2.

    Examples
    --------
    >>> layer_lut((255, 0, 0, 100), "contour")[:3].tolist()
    [[0, 0, 0, 0], [0, 0, 0, 0], [255, 0, 0, 100]]
    """
    r, g, b, a = rgba
    lut = np.zeros((256, 4), np.uint8)
    if mode == "fill":
        lut[1] = (r, g, b, a)
        lut[2] = (r, g, b, min(255, a + (255 - a) // 2))  # a slightly firmer edge
    else:
        lut[2] = (r, g, b, a)
    return lut


class MaskLayers:
    """The layer items of one panel's view box."""

    def __init__(self, view_box: pg.ViewBox) -> None:
        self._view_box = view_box
        self.items: dict[str, pg.ImageItem] = {}
        self.displays: dict[str, object] = {}
        self._styles: dict[str, object] = {}

    def set_display(self, layer: str, display, style, *, flipped: bool) -> None:
        """Show ``display`` (a MaskDisplay, or None to remove the layer) in ``style``."""
        if display is None or display.codes is None:
            self.remove(layer)
            if display is not None:
                self.displays[layer] = display
            return
        item = self.items.get(layer)
        if item is None:
            item = pg.ImageItem(autoDownsample=False)
            item.setZValue(BASE_Z + list(LAYERS).index(layer))
            self._view_box.addItem(item, ignoreBounds=True)
            self.items[layer] = item
        self.displays[layer] = display
        self._styles[layer] = style
        item.setImage(display.codes, autoLevels=False, levels=(0, 255),
                      lut=layer_lut(style.rgba(), style.mode))
        step = float(display.step)
        cols = float(display.shape[1])
        item.setTransform(QTransform(-step, 0, 0, step, cols, 0) if flipped
                          else QTransform(step, 0, 0, step, 0, 0))
        item.setVisible(bool(style.visible))

    def set_style(self, layer: str, style) -> None:
        item = self.items.get(layer)
        self._styles[layer] = style
        if item is None:
            return
        item.setLookupTable(layer_lut(style.rgba(), style.mode))
        item.setVisible(bool(style.visible))

    def remove(self, layer: str) -> None:
        item = self.items.pop(layer, None)
        self.displays.pop(layer, None)
        if item is not None:
            self._view_box.removeItem(item)

    def clear(self) -> None:
        for layer in list(self.items):
            self.remove(layer)
        self.displays.clear()

    def is_shown(self, layer: str) -> bool:
        item = self.items.get(layer)
        return item is not None and item.isVisible()
