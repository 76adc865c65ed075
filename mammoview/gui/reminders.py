"""Reminder bands in the four-view hanging: a finding on one view of a breast, shown on the
other view of that breast where the reader should look for it.

The geometry (distance from the nipple along the nipple-chest wall line, in millimetres
or as a fraction of the breast's depth) is :func:`mammoview.gui.viewer.hanging.reminder_columns`;
this module finds each shown breast's outline on a worker
(:func:`~mammoview.gui.viewer.hanging.breast_axis`, a few milliseconds each, cached by
image uid) and turns the findings of a study into :class:`~mammoview.gui.viewer.annotations.Band`
values for a panel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject

from mammoview.gui.viewer.annotations import Band
from mammoview.gui.viewer.hanging import BreastAxis, breast_axis, reminder_columns, slot_label
from mammoview.reading.model import ReaderFinding

OTHER_VIEW = {"CC": "MLO", "MLO": "CC"}
# Outlines kept (by image uid): a few studies' worth.
MAX_AXES = 64


class ReminderBands(QObject):
    """Breast outlines of the shown images and the bands they give (see the module docstring).

    Parameters
    ----------
    runner : JobRunner
        Where the outlines are computed.
    viewer : ViewerArea
    on_ready : callable
        Called (UI thread) when an outline of a shown image arrives: repaint the marks.
    """

    def __init__(self, runner, viewer, on_ready: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.viewer = viewer
        self.on_ready = on_ready
        self.axes: dict[str, BreastAxis | None] = {}
        self._pending: set[str] = set()

    def request(self) -> None:
        """Outline every shown breast whose chest-wall side is known (the hanging's)."""
        for uid, prepared in self.viewer.prepared_images().items():
            if uid in self.axes or uid in self._pending or prepared.chest_wall is None:
                continue
            self._pending.add(uid)
            self.runner.submit(
                lambda ctx, p=prepared: breast_axis(p.image, p.chest_wall, p.original.levels),
                name="reading: breast outline", channels=("axes",),
                on_done=lambda axis, u=uid: self._arrived(u, axis),
                on_error=lambda _failure, u=uid: self._arrived(u, None))

    def _arrived(self, uid: str, axis: BreastAxis | None) -> None:
        self._pending.discard(uid)
        self.axes[uid] = axis
        if len(self.axes) > MAX_AXES:
            for old in list(self.axes)[: MAX_AXES // 2]:
                self.axes.pop(old, None)
        if uid in self.viewer.shown_uids():
            self.on_ready()

    def ready(self) -> bool:
        """No outline is being computed."""
        return not self._pending

    def bands(self, panel, numbered: Sequence[tuple[int, ReaderFinding]],
              key_of: Callable[[object], str | None]) -> list[Band]:
        """Bands on ``panel`` for the numbered findings on the other view of its breast.

        ``key_of(image)`` is the image's key in the reading (None: not in the study).
        """
        image = panel.image
        if image is None or image.laterality is None or image.view not in OTHER_VIEW:
            return []
        other = next((p.image for p in self.viewer.panels()
                      if p.image is not None and p.image.laterality == image.laterality
                      and p.image.view == OTHER_VIEW[image.view]), None)
        if other is None:
            return []
        other_key = key_of(other)
        target, source = self.axes.get(image.uid), self.axes.get(other.uid)
        if other_key is None or target is None or source is None:
            return []
        bands = []
        for number, finding in numbered:
            if finding.image_key != other_key:
                continue
            col, half = finding_columns(finding)
            span = reminder_columns(col, half, source, finding.spacing_mm, target, image.pixel_spacing_mm)
            if span is None:
                continue
            left, right, distance = span
            far = (f"{distance:.0f} mm" if finding.spacing_mm and image.pixel_spacing_mm
                   else f"{100 * distance:.0f}% of the depth")
            where = slot_label(other.ref.slot) if other.ref.slot else other.ref.display_name
            label = f"#{number} {finding.type} on {where}: {far} from nipple"
            bands.append(Band(finding.id, target.top, target.bottom, left, right, label))
        return bands


def finding_columns(finding: ReaderFinding) -> tuple[float, float]:
    """(centre column, half extent along the columns) of a finding, in pixels."""
    if finding.shape == "ellipse":
        (_, col), (a, b) = finding.points[0], finding.radii
        t = math.radians(finding.angle_deg)
        return col, math.hypot(a * math.cos(t), b * math.sin(t))
    cols = [p[1] for p in finding.points]
    return (min(cols) + max(cols)) / 2, (max(cols) - min(cols)) / 2
