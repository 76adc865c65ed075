"""A one-line label that ends in "…" when its panel is too narrow, full text in its tooltip.

Panel titles and captions ("Wavelet db4 · 4 levels · gain 2", "MSE … · PSNR … · SSIM …") must
not widen their panel (linked, aspect-locked panels keep equal widths), so they used to be
cut mid-word with no sign that anything was missing. ``text()`` stays the whole text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QLabel


class ElidedLabel(QLabel):
    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self._update_tooltip()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._update_tooltip()

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        self.style().drawItemText(painter, rect, int(self.alignment()), self.palette(), self.isEnabled(),
                                  shown, QPalette.ColorRole.WindowText)

    def _update_tooltip(self) -> None:
        self.setToolTip(self.text() if self.is_elided() else "")
