"""Linked pan/zoom between viewer panels, optionally mirrored.

pyqtgraph's ``setXLink``/``setYLink`` align linked views by their on-screen position,
which suits stacked plots but not image panels side by side or a mirrored hanging.
This link copies the view rectangle instead: every member shows the same rectangle
of a shared "canonical" frame. A mirrored member (the left-breast column of a
hanging, flipped so the chest walls face each other) sees that rectangle reflected
about its image's vertical centre line, so zooming into one breast's chest wall
zooms into the other's.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF

from mammoview.gui.viewer.panel import WindowLevelViewBox


class RangeLink:
    """Keep the view rectangles of several ViewBoxes in step."""

    def __init__(self) -> None:
        self._members: list[tuple[WindowLevelViewBox, float | None]] = []
        self._slots: list[tuple[WindowLevelViewBox, object]] = []
        self._syncing = False

    def add(self, view_box: WindowLevelViewBox, *, mirror_width: float | None = None) -> None:
        """Link ``view_box``; ``mirror_width`` reflects x as ``width - x`` for this member."""
        self._members.append((view_box, mirror_width))
        slot = lambda *args, vb=view_box: self._changed(vb)  # noqa: E731
        view_box.sigRangeChanged.connect(slot)
        self._slots.append((view_box, slot))

    def clear(self) -> None:
        """Unlink every member (only this link's own connections: panels are reused)."""
        for view_box, slot in self._slots:
            try:
                view_box.sigRangeChanged.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self._members = []
        self._slots = []

    def set_rect(self, rect: QRectF) -> None:
        """Show the canonical rectangle ``rect`` on every member."""
        self._syncing = True
        try:
            for view_box, mirror in self._members:
                view_box.setRange(_reflect(rect, mirror), padding=0)
        finally:
            self._syncing = False

    def _changed(self, source: WindowLevelViewBox) -> None:
        if self._syncing:
            return
        mirror = next((m for vb, m in self._members if vb is source), None)
        # The requested rectangle, not the aspect-expanded visible one: copying the
        # latter would let panels of different shapes widen each other on every resize.
        canonical = _reflect(source.targetRect(), mirror)
        self._syncing = True
        try:
            for view_box, other in self._members:
                if view_box is not source:
                    view_box.setRange(_reflect(canonical, other), padding=0)
        finally:
            self._syncing = False


def _reflect(rect: QRectF, width: float | None) -> QRectF:
    if width is None:
        return QRectF(rect)
    return QRectF(width - rect.right(), rect.top(), rect.width(), rect.height())
