"""Preparing content for display off the UI thread, and what the UI thread then does.

The viewer's pixel work (float -> uint16 quantisation, reductions, value range,
default VOI, chest-wall side) runs on workers via mammoview.gui.viewer.prepare; the
UI thread only hands the prepared arrays to pyqtgraph. These tests check that the
prepared path draws exactly what the inline path draws, that the UI-side calls do no
pixel work, and that results for an image no longer shown never reach the viewer.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import mammoview.gui.main_window as mw
import mammoview.gui.viewer.hanging as hanging_mod
import mammoview.gui.viewer.prepare as prep
from mammoview.core import Image
from mammoview.core.errors import ImageReadError
from mammoview.core.image import ImageRef
from mammoview.gui.isolation import ProcessLane
from mammoview.gui.viewer import ViewContent
from mammoview.gui.viewer.prepare import (
    PreparedContent,
    PreparedImage,
    load_prepared,
    prepare_content,
    prepare_image,
)
from mammoview.imaging.display import default_voi
from tests.gui.test_main_window import SETTLE_MS
from tests.gui.test_viewer import make_image, normalized, settle, superres, viewer  # noqa: F401


def _views(px):
    return {
        "copy": ViewContent(normalized(px), "Normalized copy", caption="PSNR inf"),
        "superres": ViewContent(superres(px), "Super-resolved"),
    }


# --- pure preparation ---------------------------------------------------------------------


def test_prepare_content_quantises_floats_and_leaves_the_input_alone():
    array = np.array([[0.25, np.nan, 1.0], [0.5, np.inf, 0.25]], np.float32)
    before = array.copy()
    prepared = prepare_content(ViewContent(array, "x"))
    np.testing.assert_array_equal(array, before)  # not modified
    assert prepared.array is array and prepared.label == "x" and not prepared.pending
    drawn = prepared.levels[0]
    assert drawn.dtype == np.uint16
    offset, scale = prepared.quant
    # NaN and inf drawn as 0, the smallest finite value; the range spans 0..65535.
    assert offset == 0.0 and drawn[0, 1] == drawn[1, 1] == 0
    assert drawn[0, 2] == 65535 and drawn[1, 0] == round(0.5 * scale)


def test_prepare_content_builds_every_reduction_of_integer_arrays_without_copying():
    pixels = make_image().pixels
    prepared = prepare_content(ViewContent(pixels, "Original", normalized=False))
    assert prepared.levels[0] is pixels and prepared.quant is None
    assert [lv.shape for lv in prepared.levels] == [(120, 80), (60, 40), (30, 20), (15, 10), (7, 5), (3, 2)]
    # Level 1 is the 2x2 block mean (rounded down), dtype kept.
    expected = pixels.reshape(60, 2, 40, 2).astype(np.uint32).sum(axis=(1, 3)) // 4
    np.testing.assert_array_equal(prepared.levels[1], expected)
    assert prepared.levels[1].dtype == np.uint16
    assert prepared.nbytes == sum(lv.nbytes for lv in prepared.levels[1:])


def test_pending_content_gets_no_arrays():
    placeholder = np.broadcast_to(np.float32(0.0), (120, 80))
    prepared = prepare_content(ViewContent(placeholder, "CLAHE", pending=True))
    assert prepared.pending and prepared.levels == ()


def test_prepare_image_knows_range_voi_and_chest_wall():
    image = make_image()  # tissue against the LEFT edge, no VOI in the "header"
    prepared = prepare_image(image)
    assert prepared.value_range == image.value_range()
    assert prepared.default_voi == default_voi(image)
    assert prepared.chest_wall == "left"
    assert prepared.original.array is image.pixels
    mirrored = prepare_image(make_image(image.pixels[:, ::-1].copy(), slot="LCC"))
    assert mirrored.chest_wall == "right"


# --- the UI side does no pixel work ----------------------------------------------------------


def test_prepared_content_renders_exactly_like_inline_content(viewer, qtbot):
    image = make_image()
    viewer.show_panels(image, _views(image.pixels))
    settle(qtbot)
    inline = {name: viewer.panel(name).grab_rgb() for name in ("original", "copy", "superres")}

    prepared_views = {n: prepare_content(c) for n, c in _views(image.pixels).items()}
    # Without its breast box, so both fit the whole image (the box is tested below).
    viewer.show_panels(prepare_image(make_image(uid="other"), chest_wall=False), prepared_views)
    settle(qtbot)
    for name, rgb in inline.items():
        np.testing.assert_array_equal(viewer.panel(name).grab_rgb(), rgb, err_msg=name)


def test_showing_prepared_content_computes_no_pixels(viewer, qtbot, monkeypatch):
    images = {slot: make_image(slot=slot) for slot in ("RCC", "LCC", "RMLO", "LMLO")}
    prepared = {slot: prepare_image(img) for slot, img in images.items()}
    views = {n: prepare_content(c) for n, c in _views(images["RCC"].pixels).items()}

    def forbidden(*args, **kwargs):
        raise AssertionError("pixel work on the UI thread")

    monkeypatch.setattr(prep, "quantize", forbidden)
    monkeypatch.setattr(prep, "build_levels", forbidden)
    monkeypatch.setattr(hanging_mod, "chest_wall_side", forbidden)
    monkeypatch.setattr(Image, "value_range", forbidden)

    viewer.show_panels(prepared["RCC"], views)
    viewer.update_view("copy", views["copy"])
    viewer.set_voi(None)
    settle(qtbot)
    viewer.show_hanging(prepared)
    settle(qtbot)
    # Tissue on the left: mirrored in the right breast's column only.
    assert viewer.panel("RCC").flipped and not viewer.panel("LCC").flipped
    assert viewer.voi() == prepared["RCC"].default_voi
    viewer._on_window_drag(viewer.panel("RCC"), 10.0, 5.0)  # window/level drag uses the range
    viewer._flush_window_level()


def test_panels_are_reused_and_forget_their_old_content(viewer, qtbot):
    image = make_image()
    viewer.show_panels(image, _views(image.pixels))
    settle(qtbot)
    old = {viewer.panel(n) for n in viewer.panel_names()}
    viewer.show_hanging({"RCC": image})  # three slots empty
    settle(qtbot)
    assert {viewer.panel(n) for n in viewer.panel_names()} & old  # reused, not rebuilt
    assert viewer.panel("LCC").image is None and viewer.panel("LCC").content is None
    assert viewer.panel("RCC").flipped and viewer.panel("RCC").content.label == "R CC"


# --- the window: results for an image no longer shown are dropped --------------------------------


def test_prepared_image_for_an_image_no_longer_shown_is_dropped(qtbot, window, mias_files, monkeypatch):
    real = mw.prepare_image

    def slow(image, **kwargs):
        time.sleep(0.4)  # the user moves on meanwhile
        return real(image, **kwargs)

    monkeypatch.setattr(mw, "prepare_image", slow)
    window.set_panel_visible("superres", False)
    shown = []
    real_show = window.viewer.show_panels
    monkeypatch.setattr(window.viewer, "show_panels",
                        lambda image, views: (shown.append(image), real_show(image, views)))
    dropped = []
    window.runner.dropped.connect(dropped.append)
    with qtbot.waitSignal(window.studiesOpened, timeout=SETTLE_MS):
        window.open_paths([mias_files])
    window.next_image()  # before mdb001 finished preparing
    with qtbot.waitSignal(window.imageShown, timeout=SETTLE_MS) as signal:
        pass
    assert signal.args == [window.image.uid]
    qtbot.waitUntil(lambda: window.runner.outstanding == 0, timeout=SETTLE_MS)
    assert window.image.ref.display_name == "mdb002.png"
    assert "load mdb001.png" in dropped
    assert all(isinstance(p, PreparedImage) for p in shown)
    assert [p.image.ref.display_name for p in shown] == ["mdb002.png"]


def test_computed_views_arrive_prepared(qtbot, window, mias_files):
    delivered = []
    real_update = window.viewer.update_view
    window.viewer.update_view = lambda name, content: (delivered.append(content),
                                                       real_update(name, content))
    with qtbot.waitSignal(window.viewsSettled, timeout=SETTLE_MS):
        window.open_paths([mias_files])
    finished = [c for c in delivered if not c.pending]
    assert finished and all(isinstance(c, PreparedContent) and c.levels for c in finished)


# --- decoding in a process -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def lane():
    pool = ProcessLane(processes=1)
    yield pool
    pool.shutdown()


def test_a_process_decodes_dicom_like_the_thread_does(lane, dicom_samples):
    from mammoview.io.loader import read_header

    ref = read_header(dicom_samples / "mammo" / "wg04_MG1_J2KI.dcm")  # JPEG 2000
    here = load_prepared(ref)
    there = lane.call(load_prepared, ref, True)
    np.testing.assert_array_equal(there.image.pixels, here.image.pixels)
    assert there.value_range == here.value_range and there.chest_wall == here.chest_wall
    assert there.original.levels[0] is there.image.pixels  # one copy after the transfer


def test_a_read_error_in_the_process_keeps_its_path_and_reason(lane, tmp_path):
    missing = tmp_path / "gone.dcm"
    ref = ImageRef(path=str(missing), kind="dicom", uid="u", study_uid="s")
    with pytest.raises(ImageReadError) as caught:
        lane.call(load_prepared, ref, True)
    assert caught.value.path == str(missing) and caught.value.reason
    assert str(caught.value).startswith("gone.dcm: ")


def test_panels_fit_the_breast_not_the_film(viewer, qtbot):
    """A MIAS film is mostly background: the panels fit the breast's box (reset too), the
    hanging still fits whole images."""
    from mammoview.io.loader import load_image, read_header
    from tests.conftest import require_data

    image = load_image(read_header(require_data("mias", "mdb001.png")))
    prepared = prepare_image(image)
    r0, c0, r1, c1 = prepared.tissue
    assert c0 > 200 and c1 > 700 and (c1 - c0) < 0.7 * image.shape[1]  # mdb001: breast on the right

    def x_range(panel="original"):
        (x0, x1), _ = viewer.panel(panel).view_box.viewRange()
        return x0, x1

    viewer.resize(400, 800)  # tall panels, as beside the docks: the width decides the fit
    viewer.show_panels(prepared, {})
    settle(qtbot)
    x0, x1 = x_range()
    assert x0 == pytest.approx(c0, abs=40) and x1 == pytest.approx(c1, abs=40)
    viewer.panel("original").view_box.scaleBy((0.5, 0.5))  # the reader zooms in ...
    viewer.reset_view()  # ... and back: the breast again
    assert x_range() == pytest.approx((x0, x1), abs=1)

    viewer.show_hanging({"RMLO": prepared})
    settle(qtbot)
    x0, x1 = x_range("RMLO")
    assert x0 <= 0 and x1 >= image.shape[1]
