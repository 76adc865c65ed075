"""One viewer panel: a titled pyqtgraph view of one array over one original image.

Scene coordinates are the ORIGINAL image's pixel grid: x = column, y = row, row 0
at the top (inverted y axis), pixel (r, c) covering [c, c + 1) x [r, r + 1). Arrays
of another size (super-resolved, or a cached reduction) are placed over that same
rectangle with the image item's transform, and a mirrored hanging panel adds a
horizontal flip to the same transform, so panning/zooming links in original
coordinates and the cursor maps back to original (row, col) everywhere.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QTransform
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from mammoview.core import Image
from mammoview.gui.viewer.annotations import AnnotationLayer
from mammoview.gui.viewer.content import ViewContent
from mammoview.gui.viewer.elided import ElidedLabel
from mammoview.gui.viewer.magnifier import SIZE as MAGNIFIER_SIZE
from mammoview.gui.viewer.magnifier import ZOOM as MAGNIFIER_ZOOM
from mammoview.gui.viewer.magnifier import Magnifier, magnify_patch
from mammoview.gui.viewer.masks import MaskLayers
from mammoview.gui.viewer.overlays import FindingsOverlay
from mammoview.gui.viewer.prepare import PreparedContent, PreparedImage, prepare_content
from mammoview.gui.viewer.pyramid import Pyramid

pg.setConfigOptions(imageAxisOrder="row-major")

# Opacity of old content while its replacement is computing.
PENDING_OPACITY = 0.35
# Cursor handling is rate-limited: at most this many readouts per second.
CURSOR_RATE = 60


class WindowLevelViewBox(pg.ViewBox):
    """ViewBox with left-drag pan, wheel zoom and right-drag window/level.

    ``tool`` (a :class:`~mammoview.gui.viewer.annotations.DrawTool`, set by the viewer)
    gets the left-button drags and clicks first; it declines them in navigate mode.
    """

    sigWindowDrag = Signal(float, float)  # dx, dy in screen pixels since the last event
    sigWindowDragFinished = Signal()

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.setMouseMode(pg.ViewBox.PanMode)
        self.tool = None
        self.panel = None  # the ImagePanel this box belongs to (for the tool)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (Qt naming)
        if self.tool is not None and self.panel is not None and self.tool.drag(self.panel, ev):
            return
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            delta = ev.screenPos() - ev.lastScreenPos()
            if delta.x() or delta.y():
                self.sigWindowDrag.emit(float(delta.x()), float(delta.y()))
            if ev.isFinish():
                self.sigWindowDragFinished.emit()
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):  # noqa: N802
        if self.tool is not None and self.panel is not None and self.tool.click(self.panel, ev):
            return
        # A right click must not zoom out or open a menu: it starts window/level.
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            return
        super().mouseClickEvent(ev)


class ImagePanel(QFrame):
    """A title, an optional warning banner, the image view, a caption and a findings note."""

    cursorAt = Signal(object, float, float)  # panel, view x, view y (rate-limited)
    cursorLeft = Signal(object)
    windowDrag = Signal(object, float, float)  # panel, dx, dy
    windowDragFinished = Signal(object)

    def __init__(self, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.image: Image | None = None
        self.content: ViewContent | None = None
        self.flipped = False
        self._original: PreparedContent | None = None  # drawn under pending content
        self._shown: PreparedContent | None = None  # what the item actually draws
        self._pyramid: Pyramid | None = None
        self._quant: tuple[float, float] | None = None  # float content: (offset, scale) to uint16
        self._crop: tuple | None = None  # (level array, r0, r1, c0, c1) drawn now
        self._render_scale = 1.0  # > 1 only while grab_rgb renders finer than the screen
        self._lut: np.ndarray | None = None
        self._levels_orig: tuple[float, float] = (0.0, 1.0)
        self._levels_norm: tuple[float, float] = (0.0, 1.0)

        self.title = ElidedLabel(name)
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setFixedHeight(self.title.sizeHint().height())
        # Banner, notes and the pending marker float over the view so every panel's
        # view has the same size: linked, aspect-locked views then show the same range.
        self.banner = QLabel()
        self.banner.setStyleSheet("background: rgba(138,109,0,220); color: white; padding: 2px;")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.view = pg.GraphicsView()
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.view.setBackground("k")
        self.view_box = WindowLevelViewBox()
        self.view_box.panel = self
        self.view.setCentralItem(self.view_box)
        self.item = pg.ImageItem(autoDownsample=False)  # see pyramid.py for why
        self.view_box.addItem(self.item)
        self.overlay = FindingsOverlay()
        self.view_box.addItem(self.overlay.group, ignoreBounds=True)
        self.masks = MaskLayers(self.view_box)  # segmentation layers
        self.annotations = AnnotationLayer()  # the reader's marks (gui/readingcontrol.py)
        self.view_box.addItem(self.annotations.group, ignoreBounds=True)
        self.caption = ElidedLabel(" ")
        self.caption.setFixedHeight(self.caption.sizeHint().height())
        # Long titles and captions must not widen a panel: side-by-side panels get
        # equal widths so the linked, aspect-locked views show the same region.
        for label in (self.title, self.caption):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            label.setMinimumWidth(1)
        self.banner.setParent(self.view)
        self.findings_note = QLabel(self.view)
        self.findings_note.setWordWrap(True)
        self.findings_note.setStyleSheet("background: rgba(0,0,0,160); color: #9ee; font-size: 9pt;")
        self.findings_note.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.banner.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.findings_note.hide()
        self.pending_label = QLabel("computing…", self.view)
        self.pending_label.setStyleSheet("background: rgba(0,0,0,160); color: #ffd24a; padding: 4px;")
        self.pending_label.move(8, 8)
        self.pending_label.hide()
        self.empty_label = QLabel("", self.view)
        self.empty_label.setStyleSheet("color: #888;")
        self.empty_label.hide()
        self.magnifier = Magnifier(self.view)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)

        self.view_box.sigWindowDrag.connect(lambda dx, dy: self.windowDrag.emit(self, dx, dy))
        self.view_box.sigWindowDragFinished.connect(lambda: self.windowDragFinished.emit(self))
        self.view_box.sigRangeChanged.connect(self._update_level)
        self.view_box.sigResized.connect(self._update_level)
        self._cursor_proxy = pg.SignalProxy(
            self.view.scene().sigMouseMoved, rateLimit=CURSOR_RATE, slot=self._on_mouse_moved
        )

    # --- content -------------------------------------------------------------

    @property
    def original_size(self) -> tuple[int, int]:
        """(rows, cols) of the original image: the scene rectangle."""
        return self.image.shape if self.image is not None else (1, 1)

    def set_image(
        self,
        image: Image | PreparedImage,
        content: ViewContent | PreparedContent,
        *,
        flipped: bool = False,
        title: str | None = None,
    ) -> None:
        """Show ``content`` over ``image`` (the original: coordinates, raw values, findings).

        Prepared arguments (:mod:`mammoview.gui.viewer.prepare`, made on a worker) cost
        the UI thread nothing; plain ones are prepared here, on the calling thread.
        """
        if isinstance(image, PreparedImage):
            self._original = image.original
            image = image.image
        else:
            self._original = None
        if self.image is None or self.image.uid != image.uid or self.flipped != flipped:
            self.masks.clear()  # another image's layers (the window sends this one's)
            self.annotations.clear()  # ... and another image's marks
        self.image = image
        self.flipped = flipped
        self.content = None
        self._shown = None
        self.empty_label.hide()
        self.item.show()
        rows, cols = image.shape
        self.overlay.set_findings(image.findings, width=float(cols), flipped=flipped)
        self.annotations.set_frame(float(cols), flipped)
        self.findings_note.setText(self.overlay.unlocated_text())
        self.set_content(content, title=title)
        # Only a zoom-in limit: position limits would make pyqtgraph rewrite the target
        # range of wide, aspect-locked views and break the linked fit.
        self.view_box.setLimits(minXRange=4, minYRange=4)

    def set_content(self, content: ViewContent | PreparedContent, *, title: str | None = None) -> None:
        """Replace the content; while ``content.pending`` keep the old one (or the original) dimmed.

        A :class:`PreparedContent` only hands its arrays to pyqtgraph; a plain
        :class:`ViewContent` is prepared first, on this thread.
        """
        self.content = content.content if isinstance(content, PreparedContent) else content
        self.title.setText(title if title is not None else content.label)
        self.caption.setText(content.caption)
        if content.pending:
            self.pending_label.adjustSize()
            self.pending_label.show()
            self.pending_label.raise_()
            if self._shown is None and self.image is not None:
                self._show_prepared(self._original_prepared())
            self.item.setOpacity(PENDING_OPACITY)
        else:
            self.pending_label.hide()
            self.item.setOpacity(1.0)
            self._show_prepared(prepare_content(content))

    def _original_prepared(self) -> PreparedContent:
        if self._original is None or self._original.array is not self.image.pixels:
            self._original = prepare_content(ViewContent(self.image.pixels, "", normalized=False))
        return self._original

    def reset(self, name: str) -> None:
        """Forget the content and become panel ``name``: the viewer reuses panels, since
        building one (a GraphicsView, a ViewBox, labels) costs the UI thread ~13 ms."""
        self.name = name
        self.image = None
        self.content = None
        self.flipped = False
        self._original = None
        self._shown = None
        self._pyramid = None
        self._quant = None
        self._crop = None
        self.item.clear()
        self.item.setTransform(QTransform())
        self.item.setOpacity(1.0)
        self.item.show()
        self.title.setText(name)
        self.caption.setText(" ")
        self.banner.hide()
        self.findings_note.hide()
        self.pending_label.hide()
        self.empty_label.hide()
        self.magnifier.hide()
        self.overlay.set_findings((), width=1.0, flipped=False)
        self.masks.clear()
        self.annotations.clear()

    def set_empty(self, title: str, message: str = "no image") -> None:
        """An empty, labelled frame (a hanging slot the study lacks)."""
        self.image = None
        self.content = None
        self._original = None
        self._shown = None
        self._pyramid = None
        self.item.clear()
        self.item.hide()
        self.title.setText(title)
        self.caption.setText("")
        self.banner.hide()
        self.findings_note.hide()
        self.overlay.set_findings((), width=1.0, flipped=False)
        self.masks.clear()
        self.annotations.clear()
        self.empty_label.setText(message)
        self.empty_label.adjustSize()
        self.empty_label.move(10, 10)
        self.empty_label.show()

    def set_warnings(self, warnings: list[str]) -> None:
        self.banner.setText("  ".join(f"⚠ {w}" for w in warnings))
        self.banner.setVisible(bool(warnings))
        self._place_overlays()

    def set_findings_visible(self, on: bool) -> None:
        self.overlay.set_visible(on)
        self.findings_note.setVisible(on and bool(self.overlay.unlocated))
        self._place_overlays()

    def _place_overlays(self) -> None:
        """Banner across the top of the view, findings note across its bottom."""
        width = max(self.view.width(), 50)
        self.banner.setFixedWidth(width)
        # A wrapped label does not grow by itself: give it the height its text needs.
        self.banner.setFixedHeight(max(self.banner.heightForWidth(width), self.banner.sizeHint().height()))
        self.banner.move(0, 0)
        self.pending_label.move(8, self.banner.height() + 8 if self.banner.isVisible() else 8)
        self.findings_note.setFixedWidth(width)
        self.findings_note.adjustSize()
        self.findings_note.move(0, max(0, self.view.height() - self.findings_note.height()))
        self.magnifier.place()

    def resizeEvent(self, event):  # noqa: N802
        super().resizeEvent(event)
        self._place_overlays()

    def set_lut(self, lut: np.ndarray, levels: tuple[float, float], data_range: tuple[float, float]) -> None:
        """Window/level as pyqtgraph levels + LUT: no pixel is recomputed.

        ``levels`` are those ``lut`` was sampled for (original units); ``data_range``
        is the original's (min, max), which a normalized [0, 1] array stands for.
        """
        self._lut = lut
        lo, hi = levels
        span = max(data_range[1] - data_range[0], 1e-12)
        self._levels_orig = (lo, hi)
        # a in [0, 1] means min + a * span: same LUT index with these levels.
        self._levels_norm = ((lo - data_range[0]) / span, (hi - data_range[0]) / span)
        if self._shown is not None:
            self.item.setLookupTable(lut, update=False)
            self.item.setLevels(self._item_levels())

    def _levels(self) -> tuple[float, float]:
        if self._shown is not None and self._shown.normalized:
            return self._levels_norm
        return self._levels_orig

    def _item_levels(self) -> tuple[float, float]:
        """Levels in the units of the drawn (possibly quantized) array."""
        lo, hi = self._levels()
        if self._quant is None:
            return lo, hi
        offset, scale = self._quant
        return (lo - offset) * scale, (hi - offset) * scale

    def _show_prepared(self, prepared: PreparedContent) -> None:
        """Hand prepared arrays to the image item: no pixel is computed here."""
        self._shown = prepared
        self._quant = prepared.quant
        self._pyramid = Pyramid.from_levels(prepared.levels)
        self._crop = None
        self._update_level(force=True)

    # --- geometry --------------------------------------------------------------

    def view_pixel_size(self) -> float | None:
        """Image pixels per screen pixel at the current zoom; None before the first layout."""
        try:
            px = self.view_box.viewPixelSize()
            scale = max(abs(px[0]), abs(px[1]))
        except Exception:  # before the first layout pyqtgraph cannot map pixels
            return None
        return float(scale) if np.isfinite(scale) and scale > 0 else None

    def _screen_scale(self) -> float:
        """Original pixels per screen pixel (a guess of a 1000-pixel view before layout)."""
        return (self.view_pixel_size() or max(self.original_size) / 1000.0) / self._render_scale

    def _render_scaled(self, scale: int) -> QImage:
        """The view rendered at ``scale`` x its size, the image from the matching level."""
        viewport = self.view.viewport().rect()
        out = QImage(viewport.width() * scale, viewport.height() * scale, QImage.Format.Format_RGB32)
        out.fill(Qt.GlobalColor.black)
        self._render_scale = float(scale)
        try:
            self._update_level(force=True)
            painter = QPainter(out)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self.view.render(painter, QRectF(out.rect()), viewport)
            painter.end()
        finally:
            self._render_scale = 1.0
            self._update_level(force=True)
        return out

    def _update_level(self, *args, force: bool = False) -> None:
        """Draw the cached reduction with about one array pixel per screen pixel,
        cropped to the visible region (plus a margin) when zoomed in, so a frame
        never renders more than a few screens' worth of pixels."""
        if self._pyramid is None or self._shown is None:
            return
        rows, cols = self.original_size
        per_screen = self._screen_scale() * self._pyramid.base.shape[0] / rows
        level = self._pyramid.level_for(per_screen)
        lr, lc = level.shape
        sy, sx = rows / lr, cols / lc  # original pixels per level pixel
        r0, r1, c0, c1 = self._visible_cells(lr, lc, sy, sx)
        crop = self._crop
        if (
            not force
            and crop is not None
            and crop[0] is level
            and crop[1] <= r0 and r1 <= crop[2] and crop[3] <= c0 and c1 <= crop[4]
            # ... and is not much larger than needed (after a zoom in).
            and (crop[2] - crop[1]) * (crop[4] - crop[3]) <= 9 * max(1, (r1 - r0) * (c1 - c0))
        ):
            return  # the drawn crop still covers the view
        # Margin of half the visible size on every side: panning re-crops rarely.
        mr, mc = (r1 - r0) // 2 + 1, (c1 - c0) // 2 + 1
        r0, r1 = max(0, r0 - mr), min(lr, r1 + mr)
        c0, c1 = max(0, c0 - mc), min(lc, c1 + mc)
        self._crop = (level, r0, r1, c0, c1)
        self.item.setImage(
            level[r0:r1, c0:c1], autoLevels=False, levels=self._item_levels(), lut=self._lut
        )
        if self.flipped:
            self.item.setTransform(QTransform(-sx, 0, 0, sy, cols - c0 * sx, r0 * sy))
        else:
            self.item.setTransform(QTransform(sx, 0, 0, sy, c0 * sx, r0 * sy))

    def _visible_cells(self, lr: int, lc: int, sy: float, sx: float) -> tuple[int, int, int, int]:
        """Rows and columns of a level array that the view shows (whole array if unknown)."""
        rows, cols = self.original_size
        rect = self.view_box.viewRect()
        if not (np.isfinite(rect.width()) and rect.width() > 0 and rect.height() > 0):
            return 0, lr, 0, lc
        x0, x1 = rect.left(), rect.right()
        if self.flipped:
            x0, x1 = cols - x1, cols - x0
        r0 = int(np.clip(np.floor(rect.top() / sy), 0, lr))
        r1 = int(np.clip(np.ceil(rect.bottom() / sy), 0, lr))
        c0 = int(np.clip(np.floor(x0 / sx), 0, lc))
        c1 = int(np.clip(np.ceil(x1 / sx), 0, lc))
        if r1 <= r0 or c1 <= c0:  # panned off the image: draw a token region
            return 0, min(lr, 1), 0, min(lc, 1)
        return r0, r1, c0, c1

    def scene_rect(self) -> QRectF:
        rows, cols = self.original_size
        return QRectF(0, 0, cols, rows)

    def to_original(self, x: float, y: float) -> tuple[int, int] | None:
        """Original (row, col) under view point (x, y), or None outside the image."""
        if self.image is None:
            return None
        rows, cols = self.image.shape
        if not (0 <= x <= cols and 0 <= y <= rows):
            return None
        if self.flipped:
            x = cols - x
        # The far edges (x == cols) belong to the last pixel.
        return min(int(y), rows - 1), min(max(int(x), 0), cols - 1)

    def view_to_image(self, x: float, y: float) -> tuple[float, float]:
        """Image (row, col) as floats under view point (x, y), pixel centres at integers
        (the reading model's coordinates); not clipped to the image."""
        cols = self.original_size[1]
        if self.flipped:
            x = cols - x
        return y - 0.5, x - 0.5

    def image_to_view(self, row: float, col: float) -> tuple[float, float]:
        """View (x, y) of image (row, col) (inverse of :meth:`view_to_image`)."""
        cols = self.original_size[1]
        x = col + 0.5
        return (cols - x if self.flipped else x), row + 0.5

    def map_original_to_view(self, row: float, col: float) -> tuple[float, float]:
        """View (x, y) of original pixel coordinates (inverse of :meth:`to_original`)."""
        cols = self.original_size[1]
        return (cols - col if self.flipped else col), row

    # --- mouse -----------------------------------------------------------------

    def _on_mouse_moved(self, args) -> None:
        pos = args[0]
        if not self.view_box.sceneBoundingRect().contains(pos):
            self.magnifier.hide()
            self.cursorLeft.emit(self)
            return
        point = self.view_box.mapSceneToView(pos)
        self.handle_cursor(point.x(), point.y())

    def handle_cursor(self, x: float, y: float) -> None:
        """React to the cursor at view point (x, y): magnifier, then tell the viewer."""
        if self.magnifier.enabled_by_user:
            self.update_magnifier(x, y)
        self.cursorAt.emit(self, x, y)

    def update_magnifier(self, x: float, y: float) -> None:
        where = self.to_original(x, y)
        if where is None or self._shown is None or self._lut is None:
            self.magnifier.hide()
            return
        rows, cols = self.original_size
        # The finest drawn level (a float view's uint16 quantisation: the float array
        # itself is not kept), read with the item's levels.
        if self._shown.levels:
            array, levels = self._shown.levels[0], self._item_levels()
        else:
            array, levels = self._shown.array, self._levels()
        scale = array.shape[0] / rows  # array pixels per original pixel
        ox = cols - x if self.flipped else x
        zoom = max(1, int(round(MAGNIFIER_ZOOM / scale)))
        half = max(1, MAGNIFIER_SIZE // (2 * zoom))
        patch = magnify_patch(
            array, y * scale, ox * scale, half=half, lut=self._lut, levels=levels,
            flipped=self.flipped, zoom=zoom,
        )
        self.magnifier.show_patch(patch)

    def set_magnifier(self, on: bool) -> None:
        self.magnifier.enabled_by_user = on
        if not on:
            self.magnifier.hide()

    # --- output ------------------------------------------------------------------

    def grab_rgb(self, scale: int = 1) -> np.ndarray:
        """RGB uint8 render of the view as displayed (overlays included).

        ``scale`` > 1 renders ``scale`` times the view's pixels from a finer reduction of
        the image (the report: a screen grab of a narrow panel is soft, and its mark labels,
        drawn at screen size, crowd the picture). The view itself is left as it was.
        """
        if scale <= 1:
            qimage = self.view.grab().toImage()
        else:
            qimage = self._render_scaled(int(scale))
        qimage = qimage.convertToFormat(QImage.Format.Format_RGB888)
        h, w = qimage.height(), qimage.width()
        stride = qimage.bytesPerLine()
        data = np.frombuffer(qimage.constBits(), dtype=np.uint8, count=stride * h)
        return data.reshape(h, stride)[:, : w * 3].reshape(h, w, 3).copy()
