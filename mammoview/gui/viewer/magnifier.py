"""A magnifying inset: the neighbourhood under the cursor at 4x, in the panel's corner."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from mammoview.gui.viewer.window_level import apply_lut

ZOOM = 4
SIZE = 160  # on-screen pixels of the inset; it shows SIZE / ZOOM display pixels


def magnify_patch(
    array: np.ndarray,
    row: float,
    col: float,
    *,
    half: int,
    lut: np.ndarray,
    levels: tuple[float, float],
    flipped: bool = False,
    zoom: int = ZOOM,
) -> np.ndarray:
    """uint8 patch of ``array`` centred on (row, col), mapped through ``lut``, enlarged.

    Outside the array is black. ``flipped`` mirrors the patch like the panel, so the
    inset looks like what is under the cursor.
    """
    r0, c0 = int(np.floor(row)) - half, int(np.floor(col)) - half
    size = 2 * half
    patch = np.zeros((size, size), dtype=np.uint8)
    rs, re = max(r0, 0), min(r0 + size, array.shape[0])
    cs, ce = max(c0, 0), min(c0 + size, array.shape[1])
    if rs < re and cs < ce:
        patch[rs - r0 : re - r0, cs - c0 : ce - c0] = apply_lut(array[rs:re, cs:ce], lut, levels)
    if flipped:
        patch = patch[:, ::-1]
    return np.repeat(np.repeat(patch, zoom, axis=0), zoom, axis=1)


class Magnifier(QLabel):
    """The inset widget, a child of a panel's graphics view (top-right corner)."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setFixedSize(SIZE, SIZE)
        self.setStyleSheet("border: 2px solid #3aa0ff; background: black;")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()
        self.enabled_by_user = False
        self.last_patch: np.ndarray | None = None

    def place(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.move(max(0, parent.width() - SIZE - 8), 8)

    def show_patch(self, patch: np.ndarray) -> None:
        patch = np.ascontiguousarray(patch)
        self.last_patch = patch
        h, w = patch.shape
        qimage = QImage(patch.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        self.setPixmap(QPixmap.fromImage(qimage))
        self.place()
        self.show()
        self.raise_()
