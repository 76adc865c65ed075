"""ViewerArea: linked panels, window/level, MONOCHROME1, hanging, cursor, overlays.

Every test uses an ASYMMETRIC synthetic image (tissue against the left edge, a bright
marker in the upper-left corner), so a left/right or up/down flip fails a test.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from mammoview.core import Finding, Image, ImageRef, Voi
from mammoview.gui.viewer import ViewContent, ViewerArea
from mammoview.imaging.display import apply_voi, to_uint8
from tests.gui.conftest import show_widget

ROWS, COLS = 120, 80
MARKER = (slice(20, 30), slice(5, 15))  # upper-left, inside the tissue
MARKER_VALUE = 4000


def make_pixels() -> np.ndarray:
    r, c = np.mgrid[0:ROWS, 0:COLS]
    tissue = ((r - 60) / 55.0) ** 2 + (c / 60.0) ** 2 <= 1.0  # breast against the left edge
    px = np.zeros((ROWS, COLS), np.uint16)
    px[tissue] = (1500 + r * 15 + c)[tissue]
    px[MARKER] = MARKER_VALUE
    return px


def make_image(pixels=None, *, slot="RCC", photometric="MONOCHROME2", findings=(), synthetic=False, uid=None):
    pixels = make_pixels() if pixels is None else pixels
    ref = ImageRef(
        path=f"{slot}.png", kind="raster", uid=uid or slot, study_uid="s1",
        laterality=slot[0], view=slot[1:], findings=tuple(findings), synthetic=synthetic,
    )
    return Image(pixels, ref, photometric=photometric, bits_stored=12)


def normalized(px: np.ndarray) -> np.ndarray:
    lo, hi = float(px.min()), float(px.max())
    return ((px.astype(np.float32) - lo) / (hi - lo)).astype(np.float32)


def superres(px: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(normalized(px), 2, axis=0), 2, axis=1)


@pytest.fixture
def viewer(qtbot):
    return show_widget(qtbot, ViewerArea(), 908, 420)


def settle(qtbot, ms=30):
    qtbot.wait(ms)
    QApplication.processEvents()


def three_panels(viewer, qtbot, image=None):
    image = image or make_image()
    px = image.pixels
    viewer.show_panels(
        image,
        {
            "copy": ViewContent(normalized(px), "Normalized copy", caption="PSNR inf"),
            "superres": ViewContent(superres(px), "Super-resolved: bicubic (no SR model)"),
        },
    )
    settle(qtbot)
    return image


def viewport_point(panel, x: float, y: float) -> QPoint:
    """Viewport pixel of view point (x, y) of a panel."""
    scene = panel.view_box.mapViewToScene(QPointF(x, y))
    return panel.view.mapFromScene(scene)


def rendered_at(panel, row: float, col: float) -> int:
    """Grey level the panel renders at ORIGINAL pixel (row, col) (its centre)."""
    x, y = panel.map_original_to_view(row + 0.5, col + 0.5)
    point = viewport_point(panel, x, y)
    rgb = panel.grab_rgb()
    pixel = rgb[point.y(), point.x()]
    assert pixel[0] == pixel[1] == pixel[2]
    return int(pixel[0])


def send_mouse(widget, kind, point: QPoint, button=Qt.MouseButton.NoButton, buttons=Qt.MouseButton.NoButton):
    pos = QPointF(point)
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def move_to(panel, x: float, y: float) -> None:
    # pyqtgraph's scene drops move events closer together than its frame interval.
    QTest.qWait(40)
    send_mouse(panel.view.viewport(), QEvent.Type.MouseMove, viewport_point(panel, x, y))


def expected_grey(value: float, voi: Voi, *, invert=False) -> int:
    out = apply_voi(np.array([value]), voi)
    if invert:
        out = 1.0 - out
    return int(to_uint8(out)[0])


# --- panels, linking -------------------------------------------------------------------


def test_original_panel_is_built_first_and_titles_come_from_content(viewer, qtbot):
    three_panels(viewer, qtbot)
    assert viewer.mode() == "panels"
    assert viewer.panel_names() == ["original", "copy", "superres"]
    assert viewer.panel("superres").title.text() == "Super-resolved: bicubic (no SR model)"
    assert viewer.panel("copy").caption.text() == "PSNR inf"


def test_zoom_on_one_panel_changes_every_panel_identically(viewer, qtbot):
    three_panels(viewer, qtbot)
    panels = [viewer.panel(n) for n in viewer.panel_names()]
    before = panels[0].view_box.viewRect()
    panels[2].view_box.scaleBy((0.5, 0.5), center=QPointF(20, 30))  # zoom on the SR panel
    settle(qtbot)
    after = [p.view_box.viewRect() for p in panels]
    assert after[0].width() < before.width() * 0.6
    for rect in after[1:]:
        assert rect.x() == pytest.approx(after[0].x(), abs=0.5)
        assert rect.y() == pytest.approx(after[0].y(), abs=0.5)
        assert rect.width() == pytest.approx(after[0].width(), rel=0.01)
        assert rect.height() == pytest.approx(after[0].height(), rel=0.01)
    # Pan on the middle panel follows too.
    panels[1].view_box.translateBy(x=10, y=-5)
    settle(qtbot)
    assert panels[0].view_box.viewRect().x() == pytest.approx(panels[1].view_box.viewRect().x(), abs=0.5)
    assert panels[2].view_box.viewRect().y() == pytest.approx(panels[1].view_box.viewRect().y(), abs=0.5)


def test_superres_content_covers_the_original_scene_rectangle(viewer, qtbot):
    three_panels(viewer, qtbot)
    for name in ("original", "superres"):
        item = viewer.panel(name).item
        rect = item.mapRectToParent(item.boundingRect())
        assert (rect.x(), rect.y(), rect.width(), rect.height()) == pytest.approx((0, 0, COLS, ROWS))


def test_update_view_keeps_zoom_and_pending_dims_old_content(viewer, qtbot):
    image = three_panels(viewer, qtbot)
    panel = viewer.panel("copy")
    panel.view_box.scaleBy((0.4, 0.4), center=QPointF(40, 60))
    settle(qtbot)
    zoomed = panel.view_box.viewRect()
    viewer.update_view("copy", ViewContent(normalized(image.pixels), "Wavelet", pending=True))
    settle(qtbot)
    assert panel.pending_label.isVisible()
    assert panel.item.opacity() < 1.0
    assert panel.title.text() == "Wavelet"
    viewer.update_view("copy", ViewContent(1.0 - normalized(image.pixels), "Wavelet", caption="SSIM 0.5"))
    settle(qtbot)
    assert not panel.pending_label.isVisible()
    assert panel.item.opacity() == 1.0
    assert panel.caption.text() == "SSIM 0.5"
    assert panel.view_box.viewRect() == zoomed


def test_new_pending_view_shows_the_original_dimmed(viewer, qtbot):
    image = three_panels(viewer, qtbot)
    viewer.update_view("clahe", ViewContent(normalized(image.pixels), "CLAHE", pending=True))
    settle(qtbot)
    assert viewer.panel_names()[-1] == "clahe"
    panel = viewer.panel("clahe")
    assert panel.pending_label.isVisible() and panel.item.opacity() < 1.0
    # Dimmed original, in the same place as on the original panel.
    assert rendered_at(panel, 25, 10) < rendered_at(viewer.panel("original"), 25, 10)
    assert rendered_at(panel, 25, 10) > 0


# --- window/level ------------------------------------------------------------------------


def test_set_voi_changes_every_panel_identically(viewer, qtbot):
    image = three_panels(viewer, qtbot)
    viewer.set_findings_visible(False)
    probes = [(25, 10), (60, 20), (100, 12), (60, 75)]  # marker, tissue, tissue, background
    default = {n: [rendered_at(viewer.panel(n), r, c) for r, c in probes] for n in viewer.panel_names()}
    voi = Voi(center=2600.0, width=600.0, function="LINEAR_EXACT")
    viewer.set_voi(voi)
    settle(qtbot)
    assert viewer.voi() is voi
    expected = [expected_grey(float(image.pixels[r, c]), voi) for r, c in probes]
    for name in viewer.panel_names():
        got = [rendered_at(viewer.panel(name), r, c) for r, c in probes]
        assert got == pytest.approx(expected, abs=2), name
        assert got != default[name], name
    viewer.set_voi(None)
    settle(qtbot)
    assert [rendered_at(viewer.panel("original"), r, c) for r, c in probes] == default["original"]


def test_monochrome1_renders_inverted(viewer, qtbot):
    image = make_image()
    viewer.show_panels(image, {})
    settle(qtbot)
    mono2 = rendered_at(viewer.panel("original"), 25, 10)
    viewer.show_panels(make_image(photometric="MONOCHROME1", uid="m1"), {})
    settle(qtbot)
    mono1 = rendered_at(viewer.panel("original"), 25, 10)
    assert mono2 == 255 and mono1 == 0
    assert rendered_at(viewer.panel("original"), 60, 75) == 255  # background white


def test_invert_toggles_every_panel(viewer, qtbot):
    three_panels(viewer, qtbot)
    viewer.set_findings_visible(False)
    plain = {n: rendered_at(viewer.panel(n), 60, 20) for n in viewer.panel_names()}
    viewer.set_invert(True)
    settle(qtbot)
    for name, grey in plain.items():
        assert rendered_at(viewer.panel(name), 60, 20) == pytest.approx(255 - grey, abs=2)
    viewer.set_invert(False)
    settle(qtbot)
    assert rendered_at(viewer.panel("original"), 60, 20) == plain["original"]


def test_right_drag_changes_voi_and_emits(viewer, qtbot):
    three_panels(viewer, qtbot)
    start = viewer.voi()
    panel = viewer.panel("copy")
    port = panel.view.viewport()
    p0 = viewport_point(panel, 40, 60)
    right = Qt.MouseButton.RightButton
    emitted = []
    viewer.voiChanged.connect(emitted.append)
    send_mouse(port, QEvent.Type.MouseButtonPress, p0, right, right)
    for step in range(1, 6):
        QTest.qWait(20)
        send_mouse(port, QEvent.Type.MouseMove, p0 + QPoint(12 * step, 6 * step), Qt.MouseButton.NoButton, right)
    send_mouse(port, QEvent.Type.MouseButtonRelease, p0 + QPoint(60, 30), right, Qt.MouseButton.NoButton)
    settle(qtbot)
    assert 1 <= len(emitted) <= 5  # coalesced: at most one per processed move
    voi = emitted[-1]
    assert voi is viewer.voi()
    assert voi.width > start.width  # dragged right: wider window
    assert voi.center > start.center  # dragged down: higher center
    # The drag did not pan or zoom.
    assert panel.view_box.viewRect().width() == pytest.approx(viewer.panel("original").view_box.viewRect().width())


# --- cursor, magnifier ----------------------------------------------------------------


def test_cursor_reports_original_coordinates_on_superres_panel(viewer, qtbot):
    image = three_panels(viewer, qtbot)
    panel = viewer.panel("superres")
    with qtbot.waitSignal(viewer.cursorMoved, timeout=2000) as blocker:
        move_to(panel, 40.5, 100.5)
    assert blocker.args == [100, 40, float(image.pixels[100, 40])]
    with qtbot.assertNotEmitted(viewer.cursorMoved, wait=200):
        move_to(panel, -3.0, 50.0)  # left of the image
    with qtbot.waitSignal(viewer.cursorMoved, timeout=2000) as blocker:
        move_to(panel, 79.9, 119.9)  # the far corner still reads the last pixel
    assert blocker.args == [119, 79, float(image.pixels[119, 79])]


def test_magnifier_shows_neighbourhood_under_cursor(viewer, qtbot):
    three_panels(viewer, qtbot)
    panel = viewer.panel("original")
    viewer.set_magnifier(True)
    with qtbot.waitSignal(viewer.cursorMoved, timeout=2000):
        move_to(panel, 10.5, 25.5)  # marker centre
    assert panel.magnifier.isVisible()
    patch = panel.magnifier.last_patch
    assert patch.shape == (160, 160)
    assert patch[80, 80] == 255  # the marker, full white under the default window
    assert patch[80, 80 + 4 * 8] < 255  # 8 original pixels right: out of the marker
    viewer.set_magnifier(False)
    assert not panel.magnifier.isVisible()


# --- hanging --------------------------------------------------------------------------


def hanging_images():
    px = make_pixels()
    return {
        "RCC": make_image(px, slot="RCC"),  # chest wall left in pixels: must flip
        "LCC": make_image(px, slot="LCC", synthetic=True),  # chest wall left: stays
        "RMLO": make_image(px[:, ::-1].copy(), slot="RMLO"),  # chest wall right: stays
        "LMLO": None,
    }


def test_hanging_places_slots_and_mirrors_chest_walls_inward(viewer, qtbot):
    images = {k: v for k, v in hanging_images().items() if v is not None}
    viewer.show_hanging(images)
    settle(qtbot)
    assert viewer.mode() == "hanging"
    assert viewer.panel_names() == ["RCC", "LCC", "RMLO", "LMLO"]
    grid = viewer._container.layout()
    positions = {n: grid.getItemPosition(grid.indexOf(viewer.panel(n)))[:2] for n in viewer.panel_names()}
    assert positions == {"RCC": (0, 0), "LCC": (0, 1), "RMLO": (1, 0), "LMLO": (1, 1)}
    assert [viewer.panel(n).flipped for n in ("RCC", "LCC", "RMLO")] == [True, False, False]
    assert viewer.panel("RCC").item.transform().m11() < 0
    assert viewer.panel("LMLO").title.text() == "L MLO"
    assert viewer.panel("LMLO").empty_label.isVisible()
    assert "synthetic" in viewer.panel("LCC").banner.text()
    assert viewer.panel("LCC").banner.isVisible() and not viewer.panel("RCC").banner.isVisible()
    # Rendered: right-breast panels show tissue (and the marker) on the right.
    rcc = viewer.panel("RCC")
    assert rendered_at(rcc, 25, 10) == 255  # marker still at original (25, 10)
    x_marker = viewport_point(rcc, *rcc.map_original_to_view(25.5, 10.5)).x()
    x_centre = viewport_point(rcc, COLS / 2, ROWS / 2).x()
    assert x_marker > x_centre
    grabs = dict(viewer.grab_views())
    for title, tissue_right in (("R CC", True), ("L CC", False), ("R MLO", True)):
        rgb = grabs[title][..., 0].astype(float)
        half = rgb.shape[1] // 2
        assert (rgb[:, half:].mean() > rgb[:, :half].mean()) == tissue_right, title


def test_hanging_link_is_mirrored_between_columns(viewer, qtbot):
    viewer.show_hanging({k: v for k, v in hanging_images().items() if v is not None})
    settle(qtbot)
    rcc, lcc, rmlo = (viewer.panel(n) for n in ("RCC", "LCC", "RMLO"))
    rcc.view_box.scaleBy((0.3, 0.3), center=QPointF(70, 60))  # RCC chest wall (right)
    settle(qtbot)
    r, l, m = rcc.view_box.viewRect(), lcc.view_box.viewRect(), rmlo.view_box.viewRect()
    assert l.left() == pytest.approx(COLS - r.right(), abs=0.5)  # LCC chest wall (left)
    assert l.top() == pytest.approx(r.top(), abs=0.5)
    assert m.left() == pytest.approx(r.left(), abs=0.5)
    # Zoomed in, each panel draws only the visible part; pixels stay where they belong.
    voi = viewer.voi()
    value = float(make_pixels()[60, 10])
    for panel in (rcc, lcc):
        assert rendered_at(panel, 60, 10) == pytest.approx(expected_grey(value, voi), abs=2)


def test_cursor_on_flipped_hanging_panel_reports_original_pixel(viewer, qtbot):
    images = {k: v for k, v in hanging_images().items() if v is not None}
    viewer.show_hanging(images)
    settle(qtbot)
    rcc = viewer.panel("RCC")
    assert rcc.flipped
    with qtbot.waitSignal(viewer.cursorMoved, timeout=2000) as blocker:
        move_to(rcc, COLS - 10.5, 25.5)  # displayed mirrored: original column 10
    assert blocker.args == [25, 10, float(MARKER_VALUE)]
    with qtbot.waitSignal(viewer.cursorMoved, timeout=2000) as blocker:
        move_to(rcc, COLS - 70.5, 60.5)
    assert blocker.args == [60, 70, float(images["RCC"].pixels[60, 70])]


# --- findings, grabs -------------------------------------------------------------------


def test_findings_overlay_on_every_panel_mirrored_and_toggled(viewer, qtbot):
    findings = (
        Finding("CIRC", "benign", row=30.0, col=12.0, radius=6.0),
        Finding("CALC", "malignant", note="spread through the breast"),
    )
    image = make_image(findings=findings)
    three_panels(viewer, qtbot, image)
    for name in viewer.panel_names():
        panel = viewer.panel(name)
        assert len(panel.overlay.circles) == 1
        assert panel.overlay.is_visible()
        centre = panel.view_box.mapSceneToView(panel.overlay.circles[0].sceneBoundingRect().center())
        assert (centre.x(), centre.y()) == pytest.approx((12.5, 30.5), abs=0.2)
        assert "calcification" in panel.findings_note.text()
    viewer.set_findings_visible(False)
    assert not any(viewer.panel(n).overlay.is_visible() for n in viewer.panel_names())
    assert not viewer.panel("original").findings_note.isVisible()
    viewer.set_findings_visible(True)
    assert all(viewer.panel(n).overlay.is_visible() for n in viewer.panel_names())

    viewer.show_hanging({"RCC": image, "LCC": replace(image, ref=replace(image.ref, laterality="L"))})
    settle(qtbot)
    rcc = viewer.panel("RCC")
    centre = rcc.view_box.mapSceneToView(rcc.overlay.circles[0].sceneBoundingRect().center())
    assert (centre.x(), centre.y()) == pytest.approx((COLS - 12.5, 30.5), abs=0.2)  # mirrored
    assert len(viewer.panel("LCC").overlay.circles) == 1


def test_circles_coloured_by_severity_and_the_layer_colour_for_the_rest(viewer, qtbot):
    from mammoview.gui.panels.layers import DEFAULT_STYLES

    findings = (Finding("CIRC", "benign", row=30.0, col=12.0, radius=6.0),
                Finding("SPIC", "malignant", row=60.0, col=20.0, radius=6.0),
                Finding("ASYM", None, row=90.0, col=20.0, radius=6.0))
    three_panels(viewer, qtbot, make_image(findings=findings))

    def colours():
        return [c.pen().color().name() for c in viewer.panel("original").overlay.circles]

    assert colours() == ["#ffc800", "#ff4040", "#00dcff"]
    viewer.set_layer_style("truth", replace(DEFAULT_STYLES["truth"], color="#00ff00", opacity=0.5))
    # The reader's colour reaches the finding of unknown severity only; severity stays legible.
    assert colours() == ["#ffc800", "#ff4040", "#00ff00"]
    assert viewer.panel("original").overlay.group.opacity() == pytest.approx(0.5)


def test_grab_views_returns_rgb_per_visible_panel(viewer, qtbot):
    three_panels(viewer, qtbot)
    viewer.set_panel_visible("copy", False)
    settle(qtbot)
    grabs = viewer.grab_views()
    assert [t for t, _ in grabs] == ["Original", "Super-resolved: bicubic (no SR model)"]
    for _, rgb in grabs:
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert rgb.max() == 255  # the image was drawn, not a blank frame


def test_reset_view_restores_fit_and_default_voi(viewer, qtbot):
    three_panels(viewer, qtbot)
    fit = viewer.panel("original").view_box.viewRect()
    viewer.panel("original").view_box.scaleBy((0.3, 0.3))
    viewer.set_voi(Voi(center=100.0, width=50.0))
    viewer.reset_view()
    settle(qtbot)
    assert viewer.voi().explanation == "data range"
    rect = viewer.panel("superres").view_box.viewRect()
    assert rect.width() == pytest.approx(fit.width(), rel=0.01)
    assert QRectF(rect).contains(QRectF(0, 0, COLS, ROWS))


def test_zoomed_in_panels_draw_a_crop_at_the_right_place(viewer, qtbot):
    images = {k: v for k, v in hanging_images().items() if v is not None}
    viewer.show_hanging(images)
    settle(qtbot)
    rcc = viewer.panel("RCC")
    # Zoom hard on original pixel (60, 20) of the mirrored RCC panel.
    rcc.view_box.scaleBy((0.08, 0.08), center=QPointF(COLS - 20.5, 60.5))
    settle(qtbot)
    assert rcc.item.image.size < ROWS * COLS / 4  # only the visible region is drawn
    voi = viewer.voi()
    for row, col in ((60, 20), (58, 18), (62, 23)):
        want = expected_grey(float(images["RCC"].pixels[row, col]), voi)
        assert rendered_at(rcc, row, col) == pytest.approx(want, abs=2)
    # Left-drag pans (image moves right, the view moves left): the crop follows.
    port = rcc.view.viewport()
    left = Qt.MouseButton.LeftButton
    before = rcc.view_box.viewRect().center()
    centre_col = rcc.to_original(before.x(), before.y())[1]
    start = viewport_point(rcc, COLS - 25.5, 60.5)
    end = viewport_point(rcc, COLS - 15.5, 60.5)  # drag original col 25 to where col 15 was
    send_mouse(port, QEvent.Type.MouseButtonPress, start, left, left)
    for step in range(1, 5):
        QTest.qWait(20)
        send_mouse(port, QEvent.Type.MouseMove, start + (end - start) * step / 4, Qt.MouseButton.NoButton, left)
    send_mouse(port, QEvent.Type.MouseButtonRelease, end, left, Qt.MouseButton.NoButton)
    settle(qtbot)
    centre = rcc.view_box.viewRect().center()
    assert rcc.to_original(centre.x(), centre.y())[1] == pytest.approx(centre_col + 10, abs=1)
    for row, col in ((60, 30), (57, 35)):
        want = expected_grey(float(images["RCC"].pixels[row, col]), voi)
        assert rendered_at(rcc, row, col) == pytest.approx(want, abs=2)


def test_a_long_panel_title_ends_in_an_ellipsis_with_the_whole_title_in_its_tooltip(viewer, qtbot):
    three_panels(viewer, qtbot)
    panel = viewer.panel("original")
    long_title = "Wavelet db4 · 4 levels · gain 2.0 · BayesShrink denoising · " * 3
    panel.title.setText(long_title)
    panel.title.resize(120, panel.title.height())
    assert panel.title.text() == long_title  # the report and the tests read the whole title
    assert panel.title.is_elided() and panel.title.toolTip() == long_title
    panel.title.setText("Original")
    assert not panel.title.is_elided() and panel.title.toolTip() == ""


def test_a_finer_grab_for_the_report_leaves_the_view_as_it_was(viewer, qtbot):
    big = np.kron(make_pixels(), np.ones((8, 8), np.uint16))  # 960 x 640: reduced on screen
    three_panels(viewer, qtbot, make_image(big))
    panel = viewer.panel("original")
    shown = panel.item.image.shape
    drawn = []
    set_image = panel.item.setImage
    panel.item.setImage = lambda image, **kw: (drawn.append(image.shape), set_image(image, **kw))
    plain = panel.grab_rgb()
    fine = panel.grab_rgb(3)
    assert fine.shape == (3 * plain.shape[0], 3 * plain.shape[1], 3)
    # Rendered from a finer reduction (not the screen's pixels blown up), then back.
    assert drawn[0][0] > shown[0] and drawn[-1] == shown == panel.item.image.shape
