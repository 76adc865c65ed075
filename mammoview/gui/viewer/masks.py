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

from mammoview.gui.aijobs import ALL_LAYERS, LIME_NEGATIVE_COLOR

# Above the image, below the findings circles (z 10).
BASE_Z = 5


def layer_lut(rgba: tuple[int, int, int, int], mode: str, kind: str = "mask") -> np.ndarray:
    """(256, 4) uint8 RGBA table for the codes: fill paints 1 and 2, contour only 2.

    ``kind`` "signed" (LIME): 128 + k in the layer's colour, 128 - k in
    :data:`~mammoview.gui.aijobs.LIME_NEGATIVE_COLOR`, opacity rising with k (the
    weight); "heat": a blue-to-red ramp whose opacity rises with the value.

    Examples
    --------
    >>> layer_lut((255, 0, 0, 100), "contour")[:3].tolist()
    [[0, 0, 0, 0], [0, 0, 0, 0], [255, 0, 0, 100]]
    """
    r, g, b, a = rgba
    lut = np.zeros((256, 4), np.uint8)
    if kind == "signed":
        strength = np.arange(1, 128, dtype=np.float32) / 127.0
        alpha = np.round(a * strength).astype(np.uint8)
        lut[129:256, :3] = (r, g, b)
        lut[129:256, 3] = alpha
        neg = LIME_NEGATIVE_COLOR
        lut[127:0:-1, :3] = (int(neg[1:3], 16), int(neg[3:5], 16), int(neg[5:7], 16))
        lut[127:0:-1, 3] = alpha
        lut[0] = lut[1]
        return lut
    if kind == "heat":
        return heat_lut(a)
    if mode == "fill":
        lut[1] = (r, g, b, a)
        lut[2] = (r, g, b, min(255, a + (255 - a) // 2))  # a slightly firmer edge
    else:
        lut[2] = (r, g, b, a)
    return lut


def heat_lut(alpha: int) -> np.ndarray:
    """(256, 4) RGBA ramp for a 0-255 heat: transparent blue at 0 to opaque red at 255."""
    t = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    rgb = np.stack([np.clip(1.5 - np.abs(4 * t - 3), 0, 1),   # red peaks at the top
                    np.clip(1.5 - np.abs(4 * t - 2), 0, 1),   # green in the middle
                    np.clip(1.5 - np.abs(4 * t - 1), 0, 1)], axis=1)
    lut = np.zeros((256, 4), np.uint8)
    lut[:, :3] = np.round(255 * rgb).astype(np.uint8)
    # Weak evidence stays see-through: opacity grows with the value.
    lut[:, 3] = np.round(alpha * np.clip((t - 0.15) / 0.85, 0, 1) ** 0.8).astype(np.uint8)
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
            item.setZValue(BASE_Z + list(ALL_LAYERS).index(layer))
            self._view_box.addItem(item, ignoreBounds=True)
            self.items[layer] = item
        self.displays[layer] = display
        self._styles[layer] = style
        item.setImage(display.codes, autoLevels=False, levels=(0, 255),
                      lut=layer_lut(style.rgba(), style.mode, display.kind))
        step = float(display.step)
        cols = float(display.shape[1])
        row0, col0 = (float(v) for v in display.origin)
        item.setTransform(QTransform(-step, 0, 0, step, cols - col0, row0) if flipped
                          else QTransform(step, 0, 0, step, col0, row0))
        item.setVisible(bool(style.visible))

    def set_style(self, layer: str, style) -> None:
        item = self.items.get(layer)
        self._styles[layer] = style
        if item is None:
            return
        display = self.displays.get(layer)
        item.setLookupTable(layer_lut(style.rgba(), style.mode,
                                      getattr(display, "kind", "mask")))
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
