"""The reader's marks over a panel, and the mouse tools that draw them.

Marks are drawn from :class:`~mammoview.reading.model.ReaderFinding` and
:class:`~mammoview.reading.model.Measurement` values; this module keeps no truth of
its own (the reading session does). Coordinates follow the reading model and the
ground-truth overlay: ``(row, col)`` names a pixel centre, pixel ``(r, c)`` covering
``[c, c + 1) x [r, r + 1)`` of the panel's scene, so a mark sits at scene
``(col + 0.5, row + 0.5)``. Like :class:`~mammoview.gui.viewer.overlays.FindingsOverlay`,
the marks live in one group item whose transform mirrors them with the image in a
mirrored hanging panel; sizes and labels are drawn unscaled (constant on screen).

:class:`DrawTool` is shared by every panel: the panel's ViewBox hands it left-button
drags and clicks; in "navigate" mode it declines drags, so panning works as before.
A drawing tool draws with the left button; the middle button still pans and the wheel
still zooms in every mode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
)

from mammoview.reading.geometry import NO_SPACING_WARNING
from mammoview.reading.model import MAX_OUTLINE_POINTS, Measurement, ReaderFinding

TOOLS = ("navigate", "point", "ellipse", "outline", "ruler")
TOOL_TITLES = {
    "navigate": "Navigate / select",
    "point": "Point finding",
    "ellipse": "Ellipse finding",
    "outline": "Freehand outline finding",
    "ruler": "Ruler",
}
TOOL_HINTS = {
    "navigate": "drag: pan · wheel: zoom · click a mark: select it · drag the selected mark: move it",
    "point": "click: mark a point finding",
    "ellipse": "drag a box: ellipse finding (Shift: circle)",
    "outline": "drag around the finding: closed outline",
    "ruler": "drag: measure a distance",
}
# Screen pixels: how near a click must be to a mark's edge to select it, the point
# marker's radius, and the freehand outline's sampling step.
PICK_PX = 6.0
POINT_PX = 7.0
OUTLINE_STEP_PX = 2.0

FINDING_COLOR = QColor(80, 230, 120)
# Not yellow, red or cyan: those are the ground-truth circles' colours.
SELECTED_COLOR = QColor(255, 105, 230)
RULER_COLOR = QColor(255, 160, 60)
BAND_COLOR = QColor(90, 170, 255)
PREVIEW_COLOR = QColor(255, 255, 255)


# ---------------------------------------------------------------------------- text


def size_text(item: ReaderFinding | Measurement) -> str:
    """A mark's size for its label: "12.3×8.0 mm", or pixels with a note."""
    return item.size().describe(short=True)


def finding_label(number: int, finding: ReaderFinding) -> str:
    """ "#2 mass · 12.3×8.0 mm": what the label beside a finding says."""
    size = size_text(finding)
    return f"#{number} {finding.type}" + (f" · {size}" if size else "")


def mark_tooltip(item: ReaderFinding | Measurement) -> str:
    size = item.size()
    parts = [size.describe() or "point (no size)"]
    if size.warning and size.warning != NO_SPACING_WARNING:
        parts.append(size.warning)
    if item.note:
        parts.append(item.note)
    return "\n".join(parts)


# ---------------------------------------------------------------------------- hit testing


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from point ``p`` to each segment ``a[i] -> b[i]`` (rows of (row, col))."""
    ab = b - a
    length2 = (ab ** 2).sum(axis=1)
    t = np.where(length2 > 0, ((p - a) * ab).sum(axis=1) / np.where(length2 > 0, length2, 1), 0.0)
    t = np.clip(t, 0.0, 1.0)
    nearest = a + t[:, None] * ab
    return np.sqrt(((p - nearest) ** 2).sum(axis=1))


def _inside_polygon(points: np.ndarray, row: float, col: float) -> bool:
    """Even-odd rule (ray cast along +col)."""
    r0, c0 = points[:, 0], points[:, 1]
    r1, c1 = np.roll(r0, -1), np.roll(c0, -1)
    crosses = (r0 > row) != (r1 > row)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = c0 + (row - r0) * (c1 - c0) / (r1 - r0)
    return bool(np.count_nonzero(crosses & (col < at)) % 2)


def mark_distance(item: ReaderFinding | Measurement, row: float, col: float) -> tuple[float, float]:
    """(distance to the mark's outline or point in image pixels, rank) for picking.

    A click inside an ellipse or outline counts as on it (distance 0), ranked by area
    so that the smaller of two nested marks wins; rank is 0 for points and rulers.
    """
    p = np.array([row, col], dtype=np.float64)
    if isinstance(item, Measurement):
        d = _segment_distance(p, np.array([item.start], float), np.array([item.end], float))
        return float(d[0]), 0.0
    if item.shape == "point":
        r, c = item.points[0]
        return math.hypot(row - r, col - c), 0.0
    if item.shape == "ellipse":
        (r, c), (a, b) = item.points[0], item.radii
        theta = math.radians(item.angle_deg)
        dr, dc = row - r, col - c
        u = dc * math.cos(theta) + dr * math.sin(theta)
        v = -dc * math.sin(theta) + dr * math.cos(theta)
        rho = math.hypot(u / a, v / b)
        if rho <= 1:
            return 0.0, math.pi * a * b
        return (rho - 1) * min(a, b), 0.0
    points = np.asarray(item.points, dtype=np.float64)
    if _inside_polygon(points, row, col):
        area = 0.5 * abs(np.dot(points[:, 1], np.roll(points[:, 0], -1)) - np.dot(points[:, 0], np.roll(points[:, 1], -1)))
        return 0.0, float(area)
    return float(_segment_distance(p, points, np.roll(points, -1, axis=0)).min()), 0.0


def pick_mark(items: Sequence[ReaderFinding | Measurement], row: float, col: float,
              tolerance: float) -> str | None:
    """Id of the mark under (row, col) within ``tolerance`` image pixels, or None."""
    best: tuple[float, float] | None = None
    chosen = None
    for item in items:
        distance, rank = mark_distance(item, row, col)
        if distance > tolerance:
            continue
        key = (distance, rank)
        if best is None or key < best:
            best, chosen = key, item.id
    return chosen


# ---------------------------------------------------------------------------- graphics


def _pen(color: QColor, width: float = 2.0, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color)
    pen.setWidthF(width)
    pen.setCosmetic(True)  # constant on-screen width at any zoom
    pen.setStyle(style)
    return pen


class _Label(QGraphicsSimpleTextItem):
    """Text on a dark box, unscaled and never mirrored (it ignores the view's transform)."""

    def __init__(self, text: str, color: QColor, parent: QGraphicsItem) -> None:
        super().__init__(text, parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        font = QFont()
        font.setPointSizeF(9.0)
        self.setFont(font)
        self.setBrush(QBrush(color))

    def paint(self, painter, option, widget=None):  # noqa: D102 (Qt override)
        painter.fillRect(self.boundingRect().adjusted(-2, -1, 2, 1), QColor(0, 0, 0, 170))
        super().paint(painter, option, widget)


@dataclass(frozen=True)
class Band:
    """A reminder band on a panel: rows and columns in its image's pixels, and a label."""

    mark_id: str
    top: float
    bottom: float
    left: float
    right: float
    label: str


class AnnotationLayer:
    """The reader's marks over one panel (see the module docstring)."""

    def __init__(self) -> None:
        self.group = pg.ItemGroup()
        self.group.setZValue(20)  # above the ground-truth circles and the layers
        self._items: list[QGraphicsItem] = []
        self._preview: QGraphicsItem | None = None
        self._width = 1.0
        self._flipped = False
        self.mark_ids: list[str] = []  # what is drawn now (tests, hit checks)
        self.band_ids: list[str] = []
        # Each mark's items, and their positions before a drag slides them.
        self._by_id: dict[str, list[QGraphicsItem]] = {}
        self._base: dict[int, QPointF] = {}
        self._owner: str | None = None

    def set_frame(self, width: float, flipped: bool) -> None:
        """The image's width and mirror, exactly as the image item's."""
        self._width, self._flipped = float(width), bool(flipped)
        self.group.setTransform(QTransform(-1, 0, 0, 1, width, 0) if flipped else QTransform())

    def clear(self) -> None:
        for item in self._items:
            _remove(item)
        self._items = []
        self.mark_ids = []
        self.band_ids = []
        self._by_id = {}
        self._base = {}
        self.clear_preview()

    def show(self, findings: Sequence[tuple[int, ReaderFinding]], rulers: Sequence[Measurement],
             bands: Sequence[Band] = (), selected: str | None = None) -> None:
        """Replace the marks: numbered findings, rulers and reminder bands."""
        self.clear()
        for i, band in enumerate(bands):
            self._add_band(band, band.mark_id == selected, i)
        for number, finding in findings:
            self._owner = finding.id
            self._add_finding(number, finding, finding.id == selected)
        for ruler in rulers:
            self._owner = ruler.id
            self._add_ruler(ruler, ruler.id == selected)
        self._owner = None
        self.mark_ids = [f.id for _, f in findings] + [m.id for m in rulers]
        self.band_ids = [b.mark_id for b in bands]

    # --- items ------------------------------------------------------------------

    def _own(self, item: QGraphicsItem) -> QGraphicsItem:
        item.setParentItem(self.group)
        self._items.append(item)
        if self._owner is not None:
            self._by_id.setdefault(self._owner, []).append(item)
        return item

    def shift(self, mark_id: str, drow: float, dcol: float) -> None:
        """Draw a mark ``(drow, dcol)`` image pixels away from where it is saved (a drag)."""
        for item in self._by_id.get(mark_id, []):
            base = self._base.setdefault(id(item), item.pos())
            item.setPos(base + QPointF(dcol, drow))

    def _label(self, text: str, color: QColor, row: float, col_lo: float, col_hi: float, *,
               lift: float = 6.0) -> None:
        """A label centred above a mark (``row`` its top): centred, it stays inside a panel
        as narrow as the image, whichever side of the image the mark is on."""
        label = self._own(_Label(text, color, self.group))
        label.setPos(QPointF((col_lo + col_hi) / 2 + 0.5, row + 0.5))
        box = label.boundingRect()
        label.setTransform(QTransform.fromTranslate(-box.width() / 2, -box.height() - lift))  # screen px

    def _add_finding(self, number: int, finding: ReaderFinding, selected: bool) -> None:
        color = SELECTED_COLOR if selected else FINDING_COLOR
        pen = _pen(color, 3.0 if selected else 2.0)
        tip = mark_tooltip(finding)
        if finding.shape == "point":
            r, c = finding.points[0]
            item = self._own(_point_marker(pen))
            item.setPos(QPointF(c + 0.5, r + 0.5))
            extent = (r, c, c)
        elif finding.shape == "ellipse":
            (r, c), (a, b) = finding.points[0], finding.radii
            item = self._own(QGraphicsEllipseItem(-a, -b, 2 * a, 2 * b))
            item.setPen(pen)
            item.setTransform(QTransform().translate(c + 0.5, r + 0.5).rotate(finding.angle_deg))
            half = _ellipse_half_width(a, b, finding.angle_deg)
            extent = (r - _ellipse_half_height(a, b, finding.angle_deg), c - half, c + half)
        else:
            item = self._own(QGraphicsPathItem(_polygon_path(finding.points)))
            item.setPen(pen)
            rows = [p[0] for p in finding.points]
            cols = [p[1] for p in finding.points]
            extent = (min(rows), min(cols), max(cols))
        item.setToolTip(tip)
        lift = POINT_PX * 1.6 + 3 if finding.shape == "point" else 6.0  # clear of the marker
        self._label(finding_label(number, finding), color, *extent, lift=lift)

    def _add_ruler(self, ruler: Measurement, selected: bool) -> None:
        color = SELECTED_COLOR if selected else RULER_COLOR
        pen = _pen(color, 3.0 if selected else 2.0)
        (r0, c0), (r1, c1) = ruler.start, ruler.end
        line = self._own(QGraphicsLineItem(c0 + 0.5, r0 + 0.5, c1 + 0.5, r1 + 0.5))
        line.setPen(pen)
        line.setToolTip(mark_tooltip(ruler))
        for r, c in (ruler.start, ruler.end):
            tick = self._own(QGraphicsEllipseItem(-3, -3, 6, 6))
            tick.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            tick.setPen(pen)
            tick.setPos(QPointF(c + 0.5, r + 0.5))
        self._label(size_text(ruler) or "0 px", color, min(r0, r1), min(c0, c1), max(c0, c1))

    def _add_band(self, band: Band, selected: bool, index: int = 0) -> None:
        rect = self._own(QGraphicsRectItem(QRectF(band.left, band.top, band.right - band.left,
                                                  band.bottom - band.top)))
        color = QColor(BAND_COLOR)
        color.setAlpha(70 if selected else 38)
        rect.setBrush(QBrush(color))
        rect.setPen(_pen(BAND_COLOR, 1.5, Qt.PenStyle.DashLine))
        rect.setToolTip(band.label)
        # Below the top of the band: a panel's warning banner covers the view's top edge.
        # Staggered, so the labels of neighbouring bands do not cover each other.
        row = band.top + (0.15 + 0.06 * (index % 8)) * (band.bottom - band.top)
        self._label(band.label, BAND_COLOR, row, band.left, band.right)

    # --- preview while drawing ------------------------------------------------------

    def set_preview(self, kind: str, points: Sequence[tuple[float, float]], *, circle: bool = False) -> None:
        """A white dashed sketch of the mark being drawn (``points`` in (row, col))."""
        self.clear_preview()
        pen = _pen(PREVIEW_COLOR, 1.5, Qt.PenStyle.DashLine)
        if kind == "ellipse" and len(points) == 2:
            center, radii = ellipse_from_drag(points[0], points[1], circle=circle)
            (r, c), (a, b) = center, radii
            item = QGraphicsEllipseItem(c + 0.5 - a, r + 0.5 - b, 2 * a, 2 * b)
        elif kind == "ruler" and len(points) == 2:
            (r0, c0), (r1, c1) = points
            item = QGraphicsLineItem(c0 + 0.5, r0 + 0.5, c1 + 0.5, r1 + 0.5)
        elif kind == "outline" and len(points) >= 2:
            item = QGraphicsPathItem(_polygon_path(points, close=False))
        else:
            return
        item.setPen(pen)
        item.setParentItem(self.group)
        self._preview = item

    def clear_preview(self) -> None:
        if self._preview is not None:
            _remove(self._preview)
            self._preview = None


def _remove(item: QGraphicsItem) -> None:
    item.setParentItem(None)
    scene = item.scene()
    if scene is not None:
        scene.removeItem(item)


def _point_marker(pen: QPen) -> QGraphicsPathItem:
    """A ring with a cross, constant size on screen."""
    path = QPainterPath()
    path.addEllipse(QPointF(0, 0), POINT_PX, POINT_PX)
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        path.moveTo(dx * POINT_PX * 0.4, dy * POINT_PX * 0.4)
        path.lineTo(dx * POINT_PX * 1.6, dy * POINT_PX * 1.6)
    item = QGraphicsPathItem(path)
    item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
    item.setPen(pen)
    return item


def _polygon_path(points, *, close: bool = True) -> QPainterPath:
    path = QPainterPath()
    r, c = points[0]
    path.moveTo(c + 0.5, r + 0.5)
    for r, c in points[1:]:
        path.lineTo(c + 0.5, r + 0.5)
    if close:
        path.closeSubpath()
    return path


def _ellipse_half_width(a: float, b: float, angle_deg: float) -> float:
    t = math.radians(angle_deg)
    return math.hypot(a * math.cos(t), b * math.sin(t))


def _ellipse_half_height(a: float, b: float, angle_deg: float) -> float:
    t = math.radians(angle_deg)
    return math.hypot(a * math.sin(t), b * math.cos(t))


def ellipse_from_drag(start: tuple[float, float], end: tuple[float, float], *,
                      circle: bool = False) -> tuple[tuple[float, float], tuple[float, float]]:
    """Centre (row, col) and semi-axes (a along columns, b along rows) of the box dragged."""
    (r0, c0), (r1, c1) = start, end
    a, b = abs(c1 - c0) / 2, abs(r1 - r0) / 2
    if circle:
        a = b = max(a, b)
        r1 = r0 + math.copysign(2 * b, (r1 - r0) or 1.0)
        c1 = c0 + math.copysign(2 * a, (c1 - c0) or 1.0)
    return ((r0 + r1) / 2, (c0 + c1) / 2), (a, b)


# ---------------------------------------------------------------------------- the tool


def simplify_outline(points: list[tuple[float, float]], limit: int = MAX_OUTLINE_POINTS) -> list[tuple[float, float]]:
    """At most ``limit`` vertices, evenly kept (a very long freehand drag)."""
    if len(points) <= limit:
        return points
    keep = np.linspace(0, len(points) - 1, limit).round().astype(int)
    return [points[i] for i in keep]


class DrawTool(QObject):
    """The mouse tool of every panel (see the module docstring).

    Signals carry the panel and image coordinates ``(row, col)`` (floats, pixel centres
    at integers, mirrored panels already undone).

    Signals
    -------
    modeChanged(str)
    pointPlaced(panel, (row, col))
    ellipseDrawn(panel, (row, col) centre, (a, b) semi-axes)
    outlineDrawn(panel, [(row, col), ...])
    rulerDrawn(panel, start, end)
    clicked(panel, (row, col), tolerance)
        A click that drew nothing (select the mark under it); ``tolerance`` is
        :data:`PICK_PX` in image pixels at the current zoom.
    markMoved(panel, mark id, (drow, dcol))
        In navigate mode, a drag that started on the mark ``grab`` names moved it.

    ``grab(panel, (row, col), tolerance) -> mark id or None`` (set by the owner) says
    which mark a navigate-mode drag starting there takes along; None pans instead.
    """

    modeChanged = Signal(str)
    pointPlaced = Signal(object, object)
    ellipseDrawn = Signal(object, object, object)
    outlineDrawn = Signal(object, object)
    rulerDrawn = Signal(object, object, object)
    clicked = Signal(object, object, float)
    markMoved = Signal(object, str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.mode = "navigate"
        self.enabled = True  # False: drawing refused (read-only), clicks still select
        self._points: list[tuple[float, float]] = []
        self._panel = None
        self.grab = None
        self._moving: tuple | None = None  # (panel, mark id, start point)

    def set_mode(self, mode: str) -> None:
        if mode not in TOOLS:
            raise ValueError(f"unknown tool {mode!r}")
        if self._panel is not None:
            self._panel.annotations.clear_preview()
            self._panel, self._points = None, []
        if self._moving is not None:
            self._moving[0].annotations.shift(self._moving[1], 0.0, 0.0)
            self._moving = None
        if mode != self.mode:
            self.mode = mode
            self.modeChanged.emit(mode)

    @property
    def drawing(self) -> bool:
        return self.enabled and self.mode != "navigate"

    # --- ViewBox hooks: True when the event was used ------------------------------------

    def click(self, panel, ev) -> bool:
        if ev.button() != Qt.MouseButton.LeftButton or panel.image is None:
            return False
        where = _image_point(panel, ev.pos())
        ev.accept()
        if self.drawing and self.mode == "point":
            if _inside(panel, where):
                self.pointPlaced.emit(panel, where)
            return True
        self.clicked.emit(panel, where, PICK_PX * _pixel_size(panel))
        return True

    def drag(self, panel, ev) -> bool:
        if ev.button() != Qt.MouseButton.LeftButton or panel.image is None:
            return False
        if self._moving is not None or (ev.isStart() and self.mode == "navigate" and self._grab(panel, ev)):
            return self._move(panel, ev)
        if not self.drawing:
            return False
        ev.accept()
        if ev.isStart():
            self._panel = panel
            self._points = [_image_point(panel, ev.buttonDownPos())]
        if self._panel is not panel:  # a drag that began before the tool changed
            return True
        here = _image_point(panel, ev.pos())
        if self.mode == "outline":
            last = self._points[-1]
            if math.hypot(here[0] - last[0], here[1] - last[1]) >= OUTLINE_STEP_PX * _pixel_size(panel):
                self._points.append(here)
            preview = self._points
        else:
            preview = [self._points[0], here]
        circle = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if not ev.isFinish():
            panel.annotations.set_preview(self.mode, preview, circle=circle)
            return True
        panel.annotations.clear_preview()
        self._panel, points = None, preview
        self._points = []
        self._finish(panel, points, circle)
        return True

    def _grab(self, panel, ev) -> bool:
        if self.grab is None or not self.enabled:
            return False
        start = _image_point(panel, ev.buttonDownPos())
        mark = self.grab(panel, start, PICK_PX * _pixel_size(panel))
        if mark is None:
            return False
        self._moving = (panel, mark, start)
        return True

    def _move(self, panel, ev) -> bool:
        """Slide the grabbed mark with the mouse; report the move when the button is let go."""
        ev.accept()
        moving, mark, start = self._moving
        if panel is not moving:
            return True
        here = _image_point(panel, ev.pos())
        delta = (here[0] - start[0], here[1] - start[1])
        if not ev.isFinish():
            panel.annotations.shift(mark, *delta)
            return True
        self._moving = None
        if math.hypot(*delta) >= 0.5:
            self.markMoved.emit(panel, mark, delta)
        else:
            panel.annotations.shift(mark, 0.0, 0.0)
        return True

    def _finish(self, panel, points, circle: bool) -> None:
        smallest = 0.5  # image pixels: a click-like drag draws nothing
        if self.mode == "ellipse":
            center, (a, b) = ellipse_from_drag(points[0], points[-1], circle=circle)
            if a >= smallest and b >= smallest and _inside(panel, center):
                self.ellipseDrawn.emit(panel, center, (a, b))
        elif self.mode == "ruler":
            (r0, c0), (r1, c1) = points[0], points[-1]
            if math.hypot(r1 - r0, c1 - c0) >= smallest:
                self.rulerDrawn.emit(panel, points[0], points[-1])
        elif self.mode == "outline":
            if len(points) >= 3:
                self.outlineDrawn.emit(panel, simplify_outline(list(points)))
        elif self.mode == "point" and _inside(panel, points[-1]):
            self.pointPlaced.emit(panel, points[-1])


def _image_point(panel, pos) -> tuple[float, float]:
    """Image (row, col) of a ViewBox-local event position."""
    view = panel.view_box.mapToView(pos)
    return panel.view_to_image(view.x(), view.y())


def _inside(panel, where: tuple[float, float]) -> bool:
    rows, cols = panel.original_size
    return -0.5 <= where[0] <= rows - 0.5 and -0.5 <= where[1] <= cols - 0.5


def _pixel_size(panel) -> float:
    """Image pixels per screen pixel at the panel's zoom (1 before the first layout: a
    click cannot happen before it anyway)."""
    return panel.view_pixel_size() or 1.0
