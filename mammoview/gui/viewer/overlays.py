"""Ground-truth findings drawn over a panel, in original image coordinates.

The circles live in a group item added to the panel's ViewBox, so they follow
pan/zoom; the group gets the same horizontal mirror as the image in a mirrored
hanging panel (and no scale: findings are in original pixels even over a
super-resolved array).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen, QTransform
from PySide6.QtWidgets import QGraphicsEllipseItem

from mammoview.core import Finding

# Where a source gives a centre but no radius, mark a circle of this many pixels.
DEFAULT_RADIUS = 15.0
# The severity is what a reader looks for first, so it picks the colour; only a finding
# of unknown severity takes the Ground truth layer's colour (set_other_color).
SEVERITY_COLORS = {"malignant": "#ff4040", "benign": "#ffc800"}
_OTHER = "#00dcff"
LEGEND = "circles: red malignant, yellow benign, the layer's colour when the severity is unknown"


class FindingsOverlay:
    """Circles for the located findings of one image, plus a text for the rest."""

    def __init__(self) -> None:
        self.group = pg.ItemGroup()
        self.group.setZValue(10)
        self.circles: list[QGraphicsEllipseItem] = []
        self.unlocated: list[Finding] = []
        self._other = _OTHER

    def set_findings(self, findings: tuple[Finding, ...], *, width: float, flipped: bool) -> None:
        """Replace the circles; ``width`` is the original image width (for the mirror)."""
        for circle in self.circles:
            circle.setParentItem(None)
            scene = circle.scene()
            if scene is not None:
                scene.removeItem(circle)
        self.circles = []
        self.unlocated = [f for f in findings if not f.has_location]
        # x -> width - x mirrors original columns exactly like the image item.
        self.group.setTransform(QTransform(-1, 0, 0, 1, width, 0) if flipped else QTransform())
        for finding in findings:
            if not finding.has_location:
                continue
            radius = float(finding.radius or DEFAULT_RADIUS)
            # Finding coordinates name pixel centres; pixel (r, c) spans [c, c + 1).
            cx, cy = float(finding.col) + 0.5, float(finding.row) + 0.5
            circle = QGraphicsEllipseItem(cx - radius, cy - radius, 2 * radius, 2 * radius)
            circle.setData(0, finding.severity or "")
            circle.setPen(self._pen(finding.severity))
            circle.setToolTip(finding.describe())
            circle.setParentItem(self.group)
            self.circles.append(circle)

    def set_other_color(self, color: str) -> None:
        """The colour of circles whose finding has no severity (the layer's colour)."""
        self._other = color
        for circle in self.circles:
            if not circle.data(0):
                circle.setPen(self._pen(None))

    def _pen(self, severity: str | None) -> QPen:
        pen = QPen(QColor(SEVERITY_COLORS.get(severity or "", self._other)))
        pen.setWidthF(2.0)
        pen.setCosmetic(True)  # constant on-screen width at any zoom
        pen.setStyle(Qt.PenStyle.SolidLine)
        return pen

    def unlocated_text(self) -> str:
        if not self.unlocated:
            return ""
        return "Not located: " + "; ".join(f.describe() for f in self.unlocated)

    def set_visible(self, on: bool) -> None:
        self.group.setVisible(on)

    def is_visible(self) -> bool:
        return self.group.isVisible()
