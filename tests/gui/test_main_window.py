"""The main window: opening studies, stepping with the keys, panels, hanging, report, errors.

Real data only (MIAS PNGs, real DICOM samples, the demo phantoms); offscreen Qt.
"""

from __future__ import annotations

import dataclasses
import shutil
import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

import mammoview.gui.main_window as mw
from mammoview.enhance.params import ClaheParams
from mammoview.gui.main_window import MainWindow
from mammoview.gui.settings import AppSettings
from tests.gui.conftest import shown_window

SETTLE_MS = 60_000


def open_and_settle(qtbot, window, opener):
    with qtbot.waitSignal(window.viewsSettled, timeout=SETTLE_MS):
        opener()


def press(qtbot, window, key, settle=True):
    if settle:
        with qtbot.waitSignal(window.viewsSettled, timeout=SETTLE_MS):
            qtbot.keyClick(window, key)
    else:
        qtbot.keyClick(window, key)


def position(window):
    return (window.position.study, window.position.image)


def test_demo_studies_open_marked_synthetic_with_four_panels(qtbot, window):
    open_and_settle(qtbot, window, window.open_demo)
    rows = window.browser.row_texts()
    assert len(rows) == 2 and all(r.startswith("SYNTHETIC") for r in rows)
    assert window.viewer.mode() == "panels"
    assert window.viewer.panel_names() == ["original", "wavelet", "clahe", "superres"]
    assert all(not window.viewer.panel(n).content.pending for n in window.viewer.panel_names())
    assert "SYNTHETIC" in window.banner_text()
    assert window.ruo_label.isVisible()
    assert window.ruo_label.text() == "Research use only, not for diagnosis"
    assert window.image_label.text() == "synthetic RCC"


def test_mias_keys_step_images_and_studies(qtbot, window, mias_files):
    open_and_settle(qtbot, window, lambda: window.open_paths([mias_files]))
    assert len(window.studies) == 2
    assert position(window) == (0, 0)
    assert window.image_label.text() == "mdb001.png"
    assert window.browser.topLevelItem(0).text(4) in ("normal", "benign", "malignant")

    press(qtbot, window, Qt.Key.Key_Right)
    assert position(window) == (0, 1) and window.image_label.text() == "mdb002.png"
    press(qtbot, window, Qt.Key.Key_PageDown)  # crosses into the next study
    assert position(window) == (1, 0) and window.image_label.text() == "mdb005.png"
    press(qtbot, window, Qt.Key.Key_Left)
    assert position(window) == (0, 1)
    press(qtbot, window, Qt.Key.Key_Down)
    assert position(window) == (1, 0)
    press(qtbot, window, Qt.Key.Key_P)
    assert position(window) == (0, 0)
    press(qtbot, window, Qt.Key.Key_N)
    assert window.image.ref.display_name == "mdb005.png"
    # The viewer shows the image the window selected, at its real size.
    assert window.viewer.panel("original").image.uid == window.image.uid
    assert window.viewer.panel("original").image.shape == (1024, 1024)


def test_cursor_readout_in_status_bar(qtbot, window, mias_files):
    open_and_settle(qtbot, window, lambda: window.open_paths([mias_files]))
    window.viewer.cursorMoved.emit(100, 200, 37.0)
    assert window.cursor_label.text() == "(100, 200) = 37"


def test_panel_keys_toggle_panels(qtbot, window, mias_files):
    open_and_settle(qtbot, window, lambda: window.open_paths([mias_files]))
    qtbot.keyClick(window, Qt.Key.Key_2)
    assert window.viewer.panel("wavelet").isHidden()
    assert not window.enhancement.panel_boxes["wavelet"].isChecked()
    assert "wavelet" not in window.visible_panels()
    qtbot.keyClick(window, Qt.Key.Key_2)
    assert not window.viewer.panel("wavelet").isHidden()
    qtbot.keyClick(window, Qt.Key.Key_4)
    assert window.viewer.panel("superres").isHidden()


def test_param_change_recomputes_only_that_panel_and_caches(qtbot, window, mias_files, monkeypatch):
    computed = []
    real = mw._compute

    def spy(name, image, params, ctx):
        computed.append((name, params))
        return real(name, image, params, ctx)

    monkeypatch.setattr(mw, "_compute", spy)
    window.compute_lane = None  # the spy sees thread jobs only
    open_and_settle(qtbot, window, lambda: window.open_paths([mias_files]))
    assert sorted(n for n, _ in computed) == ["clahe", "superres", "wavelet"]
    computed.clear()

    with qtbot.waitSignal(window.viewsSettled, timeout=SETTLE_MS):
        window.enhancement.clahe_tiles.setValue(4)
        window.enhancement.clahe_denoise.setCurrentText("median")
        # Debounced: nothing starts before the timer fires.
        assert computed == [] and window.viewer.panel("clahe").content.pending is False
    assert computed == [("clahe", ClaheParams(clip_limit=0.01, tiles=4, denoise="median"))]
    assert "4×4" in window.viewer.panel("clahe").content.label

    computed.clear()
    window.enhancement.clahe_tiles.setValue(8)
    window.enhancement.clahe_denoise.setCurrentText("none")
    qtbot.waitUntil(lambda: not window._debounce.isActive(), timeout=2000)
    # Back to the first parameters: shown straight from the cache, nothing computed.
    assert computed == []
    assert window.viewer.panel("clahe").content.pending is False
    assert "8×8" in window.viewer.panel("clahe").content.label

    window.enhancement.wavelet_levels.setValue(2)
    qtbot.waitUntil(lambda: any(n == "wavelet" for n, _ in computed), timeout=5000)
    assert {n for n, _ in computed} == {"wavelet"}


def test_hanging_key_switches_modes_for_four_view_study(qtbot, window):
    open_and_settle(qtbot, window, window.open_demo)
    press(qtbot, window, Qt.Key.Key_H)
    assert window.viewer.mode() == "hanging" and window.mode() == "hanging"
    assert sorted(window.viewer.panel_names()) == sorted(["RCC", "LCC", "RMLO", "LMLO"])
    assert window.banner_text().count("synthetic image") == 1  # once, not once per view
    assert {window.viewer.panel(s).image.ref.slot for s in ("RCC", "LCC", "RMLO", "LMLO")} == {
        "RCC", "LCC", "RMLO", "LMLO"}
    press(qtbot, window, Qt.Key.Key_Down)  # next study stays in the hanging
    assert window.viewer.mode() == "hanging"
    assert window.current_study() is window.studies[1]
    press(qtbot, window, Qt.Key.Key_H)
    assert window.viewer.mode() == "panels"
    assert window.viewer.panel_names()[0] == "original"


def test_remembered_hanging_shows_a_study_that_cannot_be_hung_in_the_panels(qtbot, mias_dir, tmp_path):
    """The hanging choice is saved; a study without all four views (MIAS mdb001/mdb002: one
    patient's right and left MLO) must still show its image, never a blank viewer, with the
    toggle saying what is on screen and the status bar why. 4-view studies hang again."""
    saved = AppSettings()
    saved.set_flag("hanging", True)
    saved.sync()
    folder = tmp_path / "mias"
    folder.mkdir()
    for name in ("mdb001.png", "mdb002.png"):
        shutil.copy(mias_dir / name, folder / name)
    window = shown_window(qtbot)  # after the setting: it is read at start
    button = window.findChild(QToolBar, "mainToolbar").widgetForAction(window.act_hanging)

    def shows_panels_of(name):
        assert window.mode() == "panels" and window.viewer.mode() == "panels"
        assert window.viewer.panel("original").image.ref.display_name == name
        assert not window.act_hanging.isChecked() and not button.isChecked()
        assert window.hanging_note.isVisible() and "no RCC, LCC" in window.hanging_note.text()

    try:
        assert window.act_hanging.isChecked()  # restored, nothing open yet
        open_and_settle(qtbot, window, lambda: window.open_paths(
            [folder / "mdb001.png", folder / "mdb002.png"]))
        assert len(window.studies) == 1 and not window.studies[0].is_four_view
        shows_panels_of("mdb001.png")

        qtbot.keyClick(window, Qt.Key.Key_H)  # asks for the hanging again: explained
        shows_panels_of("mdb001.png")
        assert "needs RCC, LCC, RMLO and LMLO" in window.work_label.text()
        press(qtbot, window, Qt.Key.Key_Right)  # stepping within it keeps the choice
        shows_panels_of("mdb002.png")

        with qtbot.waitSignal(window.hangingShown, timeout=SETTLE_MS):
            window.open_demo()  # the choice still holds for a 4-view study
        assert window.viewer.mode() == "hanging" and window.act_hanging.isChecked()
        assert button.isChecked() and not window.hanging_note.isVisible()

        open_and_settle(qtbot, window, lambda: window.open_paths([folder]))  # from the hanging
        shows_panels_of("mdb001.png")
        window.close()
        assert AppSettings().flag("hanging", False) is True
    finally:
        window.close()
        window.runner.wait_for_done(10_000)


def test_linked_zoom_across_panels(qtbot, window, mias_files):
    open_and_settle(qtbot, window, lambda: window.open_paths([mias_files]))
    boxes = [window.viewer.panel(n).view_box for n in window.viewer.panel_names()]
    boxes[0].setRange(xRange=(100, 300), yRange=(400, 600), padding=0)
    qtbot.wait(50)
    centre = lambda box: [np.mean(r) for r in box.viewRange()]  # noqa: E731
    for box in boxes[1:]:
        np.testing.assert_allclose(centre(box), centre(boxes[0]), atol=2.0)
        assert box.viewRange()[0][1] - box.viewRange()[0][0] < 1024 / 2  # zoomed in too
    press(qtbot, window, Qt.Key.Key_R, settle=False)
    qtbot.wait(50)
    # Reset fits the whole breast again (its box: the panels fit tissue, not film).
    _, c0, _, c1 = next(iter(window.viewer.prepared_images().values())).tissue
    (x0, x1), _ = boxes[0].viewRange()
    assert x0 <= c0 + 2 and x1 >= c1 - 2 and c1 - c0 > 400


def test_export_report_contains_impression(qtbot, window, mias_files, tmp_path):
    from pypdf import PdfReader

    open_and_settle(qtbot, window, lambda: window.open_paths([mias_files]))
    target = tmp_path / "report.pdf"
    impression = "Well circumscribed mass left breast, likely benign"
    with qtbot.waitSignal(window.reportWritten, timeout=SETTLE_MS):
        assert window.export_report_to(target, impression) is not None
    text = " ".join(page.extract_text() for page in PdfReader(str(target)).pages)
    assert impression in " ".join(text.split())
    assert "mdb001" in text
    assert "CLAHE" in text


def test_bad_files_listed_good_ones_shown(qtbot, window, dicom_samples, mias_dir, tmp_path):
    batch = tmp_path / "batch"
    shutil.copytree(dicom_samples / "other", batch / "other")
    shutil.copy(mias_dir / "mdb001.png", batch / "mdb001.png")
    shutil.copy(dicom_samples / "mammo" / "wg04_MG1_JPLY.dcm", batch / "wg04_MG1_JPLY.dcm")
    with qtbot.waitSignal(window.studiesOpened, timeout=SETTLE_MS):
        window.open_paths([batch])
    names = [name for name, _ in window.problems.problems()]
    for bad in ("DICOMDIR", "pydicom_CT_small.dcm", "pydicom_MR_truncated.dcm",
                "pydicom_test-SR.dcm", "pydicom_no_meta.dcm"):
        assert bad in names
    assert all(reason for _, reason in window.problems.problems())
    assert window.problems_dock.isVisibleTo(window)
    shown = [ref.display_name for st in window.studies for ref in st.images]
    assert "mdb001.png" in shown
    # Step to the image that cannot be decoded: listed, no crash, the others still open.
    jply = next((s, i) for s, st in enumerate(window.studies) for i, ref in enumerate(st.images)
                if ref.display_name == "wg04_MG1_JPLY.dcm")
    before = len(window.problems.problems())
    window.show_image(*jply)
    qtbot.waitUntil(lambda: len(window.problems.problems()) > before, timeout=SETTLE_MS)
    assert window.problems.problems()[-1][0] == "wg04_MG1_JPLY.dcm"
    assert "wg04_MG1_JPLY.dcm" in window.work_label.text()
    mdb = next((s, i) for s, st in enumerate(window.studies) for i, ref in enumerate(st.images)
               if ref.display_name == "mdb001.png")
    with qtbot.waitSignal(window.viewsSettled, timeout=SETTLE_MS):
        window.show_image(*mdb)
    assert window.viewer.panel("original").image.ref.display_name == "mdb001.png"


def test_settings_persist_across_windows(qtbot, mias_files):
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.enhancement.clahe_tiles.setValue(6)
    first.enhancement.wavelet_family.setCurrentText("db2")
    first.set_panel_visible("superres", False)
    first.act_invert.setChecked(True)
    first.open_paths([mias_files])
    qtbot.waitUntil(lambda: first.runner.outstanding == 0, timeout=SETTLE_MS)
    # (The offscreen screen is 800 px square: only the height is free to choose, above
    # the window's minimum height, which the docks set.)
    height = first.minimumSizeHint().height() + 41
    assert height != first.height() and height < 780
    first.resize(first.width(), height)
    qtbot.waitUntil(lambda: first.height() == height, timeout=2000)
    first.close()

    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    assert second.enhancement.clahe_params().tiles == 6
    assert second.enhancement.wavelet_params().wavelet == "db2"
    assert second.visible_panels() == ["original", "wavelet", "clahe"]
    assert second.act_invert.isChecked()
    assert second.height() == height
    assert str(mias_files) in AppSettings().recent_files()
    assert [a.text() for a in second.recent_menu.actions()][0] == str(mias_files)
    second.close()


def test_stale_results_dropped_when_image_changes_fast(qtbot, window, mias_files, monkeypatch):
    real = mw._compute

    def slow(name, image, params, ctx):
        time.sleep(0.3)  # long enough for the user to move on
        result = real(name, image, params, ctx)
        # The image it was computed for travels in the caption ("for <uid>").
        return dataclasses.replace(result, metrics={**result.metrics, "for": image.uid})

    monkeypatch.setattr(mw, "_compute", slow)
    window.compute_lane = None  # the spy sees thread jobs only
    window.set_panel_visible("superres", False)
    open_and_settle(qtbot, window, lambda: window.open_paths([mias_files]))

    shown = []
    real_update = window.viewer.update_view

    def record(name, content):
        made_for = content.caption.split("for ", 1)[1] if "for " in content.caption else None
        shown.append((window.image.uid, made_for, content.pending))
        real_update(name, content)

    monkeypatch.setattr(window.viewer, "update_view", record)
    dropped = []
    window.runner.dropped.connect(dropped.append)
    with qtbot.waitSignal(window.viewsSettled, timeout=SETTLE_MS):
        qtbot.keyClick(window, Qt.Key.Key_Right)
        qtbot.wait(100)  # mdb002's enhancements are now running
        qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.runner.outstanding == 0, timeout=SETTLE_MS)
    assert window.image.ref.display_name == "mdb005.png"
    # mdb002's enhancements were cancelled or their late results discarded.
    assert any(name.endswith("of mdb002.png") for name in dropped), dropped
    finished = [(uid, arr) for uid, arr, pending in shown if not pending]
    assert finished, "the final image's views were never shown"
    for uid, made_for in finished:
        assert made_for == uid == window.image.uid


def test_shortcuts_dialog_lists_the_keys(qtbot, window):
    from mammoview.gui.dialogs.shortcuts import describe_shortcuts

    rows = dict((what, keys) for keys, what in describe_shortcuts(window.shortcut_actions()))
    assert rows["Next image"] == "Right or PgDown"
    assert rows["Previous study"] == "Up or P"
    assert rows["4-view hanging"] == "H"
    assert rows["Show CLAHE panel"] == "3"
    assert rows["Ground-truth findings"] == "G"
