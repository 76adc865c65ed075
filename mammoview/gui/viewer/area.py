"""ViewerArea: the image panels side by side, or the four-view hanging.

All panels share one pan/zoom (:class:`RangeLink`) and one window/level: a VOI
change builds one uint8 LUT per distinct (value range, MONOCHROME1) and hands it to
every panel as pyqtgraph levels + LUT, so no array is recomputed. Mouse-driven
changes (right-drag) are coalesced by a timer so a burst of mouse events costs at
most one LUT update per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QStackedLayout, QWidget

from mammoview.core import Image, Voi
from mammoview.gui.viewer.content import ViewContent
from mammoview.gui.viewer.hanging import SLOTS, image_warnings, needs_flip, slot_label
from mammoview.gui.viewer.linked import RangeLink
from mammoview.gui.viewer.panel import ImagePanel
from mammoview.gui.viewer.prepare import PreparedContent, PreparedImage, prepare_image
from mammoview.gui.viewer.window_level import drag_voi, lut_for, lut_levels

ORIGINAL = "original"
# Coalescing interval for mouse-driven window/level (about one frame at 60 Hz).
WL_FRAME_MS = 16
# Panels built ahead, while idle: the four of the hanging or of the panels mode.
WARM_PANELS = 4
# Margin around the image when fitting it to the view.
FIT_PADDING = 0.02


@dataclass
class _Entry:
    panel: ImagePanel
    prepared: PreparedImage | None  # the original under this panel

    @property
    def image(self) -> Image | None:
        return None if self.prepared is None else self.prepared.image


class ViewerArea(QWidget):
    """The central image area of the main window.

    Signals
    -------
    cursorMoved(row, col, value)
        Cursor over an image: ORIGINAL (row, col) and the raw original pixel value
        (after the modality LUT, before VOI). Not emitted outside an image.
    voiChanged(Voi)
        The shared VOI after a window/level drag.
    panelsChanged()
        Panels were (re)built or added: their reader marks need drawing
        (:mod:`mammoview.gui.readingcontrol`).
    """

    cursorMoved = Signal(int, int, float)
    voiChanged = Signal(object)
    panelsChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._mode = "panels"
        self._entries: dict[str, _Entry] = {}
        self._image: PreparedImage | None = None  # the panels-mode original
        self._voi: Voi | None = None  # None: each image's default
        self._invert = False
        self._findings = True
        self._magnifier = False
        # Segmentation layers: (image uid, layer) -> MaskDisplay, and layer -> style.
        self._layer_displays: dict[tuple[str, str], object] = {}
        self._layer_styles: dict[str, object] = {}
        self._link = RangeLink()
        self._tool = None  # the reader's mouse tool, handed to every panel
        self._wl_timer = QTimer(self)
        self._wl_timer.setSingleShot(True)
        self._wl_timer.setInterval(WL_FRAME_MS)
        self._wl_timer.timeout.connect(self._flush_window_level)
        self._wl_dirty = False
        # Panels of the last layout, kept for reuse under a hidden holder that owns them.
        self._spare: list[ImagePanel] = []
        self._spare_holder = QWidget(self)
        self._spare_holder.hide()
        # Build the panels of a first layout while the app is idle, one per event-loop
        # turn (~13 ms each), not in the handler that shows the first image.
        for _ in range(WARM_PANELS):
            QTimer.singleShot(0, self._warm_panel)

        self._stack = QStackedLayout(self)
        self._container = QWidget()
        self._stack.addWidget(self._container)

    # --- public API -----------------------------------------------------------------

    def mode(self) -> str:
        """ "panels" or "hanging"."""
        return self._mode

    def panel_names(self) -> list[str]:
        return list(self._entries)

    def panel(self, name: str) -> ImagePanel:
        """The panel widget called ``name`` (tests and the main window's extras)."""
        return self._entries[name].panel

    def show_panels(
        self, image: Image | PreparedImage, views: dict[str, ViewContent | PreparedContent]
    ) -> None:
        """Show ``views`` side by side, in order; an "original" panel is built if absent.

        Prepared arguments (:mod:`mammoview.gui.viewer.prepare`, made on a worker) cost
        the UI thread nothing but the hand-over to pyqtgraph; plain ones are prepared
        here first.
        """
        prepared = prepare_image(image, chest_wall=False)
        same_image = (
            self._mode == "panels" and self._image is not None and self._image.uid == prepared.uid
        )
        keep = self._canonical_rect() if same_image else None
        if not same_image:
            self._voi = None
        self._image = prepared
        ordered = dict(views)
        if ORIGINAL not in ordered:
            ordered = {ORIGINAL: prepared.original, **ordered}
        self._rebuild("panels")
        layout = QHBoxLayout(self._container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        warnings = image_warnings(prepared.image)
        for name, content in ordered.items():
            panel = self._make_panel(name)
            panel.set_image(prepared, content)
            panel.set_warnings(warnings if name == ORIGINAL else [])
            self._entries[name] = _Entry(panel, prepared)
            self._link.add(panel.view_box)
            layout.addWidget(panel, 1)
        self._apply_window_level()
        self._apply_toggles()
        self._apply_layers()
        self._fit(keep)
        self.panelsChanged.emit()

    def update_view(self, name: str, content: ViewContent | PreparedContent) -> None:
        """Replace one panel's content (e.g. a worker finished); zoom and pan are kept."""
        if self._mode != "panels" or self._image is None:
            return
        entry = self._entries.get(name)
        if entry is None:
            keep = self._canonical_rect()
            panel = self._make_panel(name)
            panel.set_image(self._image, content)
            self._entries[name] = _Entry(panel, self._image)
            self._link.add(panel.view_box)
            self._container.layout().addWidget(panel, 1)
            self._apply_window_level()
            self._apply_toggles()
            self._apply_layers()
            self._fit(keep)
            self.panelsChanged.emit()
            return
        entry.panel.set_content(content)
        self._apply_window_level()

    def set_panel_visible(self, name: str, visible: bool) -> None:
        entry = self._entries.get(name)
        if entry is not None:
            entry.panel.setVisible(visible)

    def show_hanging(self, images: dict[str, Image | PreparedImage]) -> None:
        """RCC LCC over RMLO LMLO, mirrored so the chest walls face each other.

        All four views are linked: the left column shows the canonical frame, the
        right column (left breast) sees it mirrored, so the same anatomy stays in
        view on both breasts while panning and zooming. PreparedImages with their
        chest-wall side known (``prepare_image``, on a worker) cost the UI thread
        only the hand-over; plain Images are prepared here first.
        """
        prepared = {slot: prepare_image(img) for slot, img in images.items() if img is not None}
        self._image = None
        self._voi = None
        self._rebuild("hanging")
        grid = QGridLayout(self._container)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        width = max((img.shape[1] for img in prepared.values()), default=1)
        for slot, row, col in SLOTS:
            panel = self._make_panel(slot)
            image = prepared.get(slot)
            if image is None:
                panel.set_empty(slot_label(slot))
            else:
                flip = needs_flip(image, slot)
                title = slot_label(slot)
                panel.set_image(image, image.original.relabel(title), flipped=flip, title=title)
                panel.set_warnings(image_warnings(image.image))
            self._entries[slot] = _Entry(panel, image)
            # Right column mirrored about the canonical frame's width.
            self._link.add(panel.view_box, mirror_width=float(width) if col == 1 else None)
            grid.addWidget(panel, row, col)
        for i in range(2):
            grid.setRowStretch(i, 1)
            grid.setColumnStretch(i, 1)
        self._apply_window_level()
        self._apply_toggles()
        self._apply_layers()
        self._fit(None)
        self.panelsChanged.emit()

    def set_voi(self, voi: Voi | None) -> None:
        """One VOI for every panel; None returns every image to its default."""
        self._voi = voi
        self._apply_window_level()

    def voi(self) -> Voi:
        """The shared VOI (the default of the first image shown when none was set)."""
        if self._voi is not None:
            return self._voi
        first = next((e.prepared for e in self._entries.values() if e.prepared is not None), None)
        return first.default_voi if first is not None else Voi(center=0.5, width=1.0)

    def set_invert(self, on: bool) -> None:
        self._invert = bool(on)
        self._apply_window_level()

    def reset_view(self) -> None:
        """Fit the image and return to the default VOI."""
        self._voi = None
        self._apply_window_level()
        self._fit(None)

    def set_findings_visible(self, on: bool) -> None:
        self._findings = bool(on)
        self._apply_toggles()

    def set_magnifier(self, on: bool) -> None:
        self._magnifier = bool(on)
        self._apply_toggles()

    # --- segmentation layers ------------------------------------------------------------

    def set_layer(self, display) -> None:
        """Draw a layer (a MaskDisplay made on a worker) on every panel of its image."""
        self._layer_displays[(display.uid, display.layer)] = display
        for entry in self._entries.values():
            if entry.image is not None and entry.image.uid == display.uid:
                entry.panel.masks.set_display(display.layer, display,
                                              self.layer_style(display.layer),
                                              flipped=entry.panel.flipped)

    def set_layer_style(self, layer: str, style) -> None:
        """Visibility, colour, opacity and mode of a layer on every panel (a new LUT)."""
        self._layer_styles[layer] = style
        for entry in self._entries.values():
            entry.panel.masks.set_style(layer, style)
            if layer == "truth":  # the MIAS circles are this layer too
                self._style_circles(entry.panel, style)

    def layer_style(self, layer: str):
        from mammoview.gui.panels.layers import DEFAULT_STYLES

        return self._layer_styles.get(layer, DEFAULT_STYLES[layer])

    def shown_images(self) -> list[Image]:
        """The images the panels show now, once each (the hanging: up to four)."""
        seen: dict[str, Image] = {}
        for entry in self._entries.values():
            if entry.image is not None:
                seen.setdefault(entry.image.uid, entry.image)
        return list(seen.values())

    def panels(self) -> list[ImagePanel]:
        """The panels of the current layout, in order (hidden ones included)."""
        return [entry.panel for entry in self._entries.values()]

    def prepared_images(self) -> dict[str, PreparedImage]:
        """uid -> the PreparedImage each shown image was drawn from."""
        return {e.prepared.uid: e.prepared for e in self._entries.values() if e.prepared is not None}

    def set_tool(self, tool) -> None:
        """The reader's mouse tool (:class:`~mammoview.gui.viewer.annotations.DrawTool`)
        for every panel, present and future; None: plain pan/zoom."""
        self._tool = tool
        for panel in [e.panel for e in self._entries.values()] + self._spare:
            panel.view_box.tool = tool

    def center_on(self, uid: str, row: float, col: float) -> bool:
        """Pan (zoom kept) so image ``uid``'s (row, col) is at the centre of its panel;
        the linked panels follow. False when no panel shows that image."""
        panel = next((e.panel for e in self._entries.values()
                      if e.image is not None and e.image.uid == uid and e.panel.isVisible()), None)
        if panel is None:
            panel = next((e.panel for e in self._entries.values()
                          if e.image is not None and e.image.uid == uid), None)
        if panel is None:
            return False
        x, y = panel.image_to_view(row, col)
        rect = QRectF(panel.view_box.targetRect())
        rect.moveCenter(QPointF(x, y))
        panel.view_box.setRange(rect, padding=0)  # RangeLink copies it to the others
        return True

    def shown_uids(self) -> list[str]:
        """Uids of the images the panels show now (the hanging: up to four)."""
        seen = []
        for entry in self._entries.values():
            if entry.image is not None and entry.image.uid not in seen:
                seen.append(entry.image.uid)
        return seen

    def _apply_layers(self) -> None:
        """Give rebuilt panels the layers already known for their images; forget others."""
        shown = set(self.shown_uids())
        self._layer_displays = {k: v for k, v in self._layer_displays.items() if k[0] in shown}
        for (uid, layer), display in self._layer_displays.items():
            for entry in self._entries.values():
                if entry.image is not None and entry.image.uid == uid:
                    entry.panel.masks.set_display(layer, display, self.layer_style(layer),
                                                  flipped=entry.panel.flipped)

    def grab_views(self, scale: int = 1) -> list[tuple[str, np.ndarray]]:
        """(title, RGB uint8 render) of each visible panel as displayed, overlays included;
        ``scale`` times the screen's pixels (:meth:`ImagePanel.grab_rgb`)."""
        self._flush_window_level()
        out = []
        for entry in self._entries.values():
            panel = entry.panel
            if panel.isVisible() or (not self.isVisible() and not panel.isHidden()):
                out.append((panel.title.text(), panel.grab_rgb(scale)))
        return out

    # --- internals -------------------------------------------------------------------

    def _warm_panel(self) -> None:
        if len(self._spare) + len(self._entries) < WARM_PANELS:
            self._spare.append(self._new_panel("spare"))

    def _make_panel(self, name: str) -> ImagePanel:
        if self._spare:
            panel = self._spare.pop()
            panel.reset(name)
            return panel
        return self._new_panel(name)

    def _new_panel(self, name: str) -> ImagePanel:
        panel = ImagePanel(name, self._spare_holder)
        panel.view_box.tool = self._tool
        panel.cursorAt.connect(self._on_cursor)
        panel.windowDrag.connect(self._on_window_drag)
        panel.windowDragFinished.connect(lambda _p: self._flush_window_level())
        return panel

    def _rebuild(self, mode: str) -> None:
        self._wl_timer.stop()
        self._wl_dirty = False
        self._link.clear()
        for entry in self._entries.values():
            entry.panel.setParent(self._spare_holder)
            # Not hidden by itself (only by the holder): a layout shows it again.
            entry.panel.show()
            self._spare.append(entry.panel)
        self._entries = {}
        self._stack.removeWidget(self._container)
        self._container.deleteLater()
        self._container = QWidget()
        self._stack.addWidget(self._container)
        self._stack.setCurrentWidget(self._container)
        self._mode = mode

    def _apply_toggles(self) -> None:
        for entry in self._entries.values():
            entry.panel.set_findings_visible(self._findings)
            entry.panel.set_magnifier(self._magnifier)
            truth = self._layer_styles.get("truth")
            if truth is not None:
                self._style_circles(entry.panel, truth)

    @staticmethod
    def _style_circles(panel: ImagePanel, style) -> None:
        panel.overlay.group.setOpacity(max(0.05, style.opacity))
        panel.overlay.set_other_color(style.color)

    def _apply_window_level(self) -> None:
        """Build the LUT(s) for the current VOI and hand them to every panel."""
        luts: dict[tuple, tuple[Voi, np.ndarray]] = {}
        for entry in self._entries.values():
            prepared = entry.prepared
            if prepared is None:
                continue
            image = prepared.image
            voi = self._voi if self._voi is not None else prepared.default_voi
            data_range = prepared.value_range
            lo, hi, n = lut_levels(image.pixels, *data_range)
            # Panels of one image share one LUT: computed once per VOI change.
            key = (lo, hi, n, image.is_monochrome1)
            cached = luts.get(key)
            if cached is None or cached[0] is not voi:
                lut = lut_for(voi, lo, hi, n, monochrome1=image.is_monochrome1, invert=self._invert)
                cached = (voi, lut)
                luts[key] = cached
            entry.panel.set_lut(cached[1], (lo, hi), data_range)

    def _on_window_drag(self, panel: ImagePanel, dx: float, dy: float) -> None:
        prepared = next(
            (e.prepared for e in self._entries.values() if e.panel is panel), None
        )
        if prepared is None:
            return
        lo, hi = prepared.value_range
        start = self._voi if self._voi is not None else prepared.default_voi
        self._voi = drag_voi(start, dx, dy, lo, hi)
        self._wl_dirty = True
        if not self._wl_timer.isActive():
            self._wl_timer.start()

    def _flush_window_level(self) -> None:
        self._wl_timer.stop()
        if not self._wl_dirty:
            return
        self._wl_dirty = False
        self._apply_window_level()
        self.voiChanged.emit(self._voi)

    def _on_cursor(self, panel: ImagePanel, x: float, y: float) -> None:
        where = panel.to_original(x, y)
        if where is None or panel.image is None:
            return
        row, col = where
        self.cursorMoved.emit(row, col, float(panel.image.pixels[row, col]))

    def _canonical_rect(self) -> QRectF | None:
        first = next(iter(self._entries.values()), None)
        return None if first is None else first.panel.view_box.targetRect()

    def _fit(self, rect: QRectF | None) -> None:
        if rect is None:
            rect = self._tissue_rect()
        if rect is None:
            images = [e.image for e in self._entries.values() if e.image is not None]
            if not images:
                return
            rows = max(img.shape[0] for img in images)
            cols = max(img.shape[1] for img in images)
            pad_r, pad_c = rows * FIT_PADDING, cols * FIT_PADDING
            rect = QRectF(-pad_c, -pad_r, cols + 2 * pad_c, rows + 2 * pad_r)
        self._link.set_rect(rect)

    def _tissue_rect(self) -> QRectF | None:
        """The panels' image's breast box (tissue.py says why), in view coordinates.

        Panels mode only: every panel shows the one image, unflipped; the hanging's
        mirrored columns share a frame that one image's box does not describe.
        """
        if self._mode != "panels" or self._image is None or self._image.tissue is None:
            return None
        r0, c0, r1, c1 = self._image.tissue
        return QRectF(c0, r0, c1 - c0, r1 - r0)
