"""GUI tests: no trained super-resolution model unless a test asks for it.

On a CPU the shipped EDSR takes about half a second per 256-pixel tile, seconds per
image: the window tests check the window; tests/enhance/test_superres_model.py checks the
model path on small images.
"""

from __future__ import annotations

import shutil

import pytest

from mammoview.gui.main_window import MainWindow


@pytest.fixture(autouse=True)
def _no_sr_model(monkeypatch):
    monkeypatch.setenv("MAMMOVIEW_SR_MODEL", "off")


def show_widget(qtbot, widget, width: int, height: int):
    """``widget`` at ``width`` x ``height``, shown and exposed (qtbot closes it after the test)."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def shown_window(qtbot) -> MainWindow:
    """A new main window, shown and active (the caller closes it)."""
    win = show_widget(qtbot, MainWindow(), 1400, 900)
    win.activateWindow()
    return win


@pytest.fixture
def window(qtbot):
    """A shown, active main window; closed and its workers drained afterwards."""
    win = shown_window(qtbot)
    yield win
    win.close()
    win.runner.wait_for_done(10_000)


@pytest.fixture
def mias_files(mias_dir, tmp_path):
    """Two MIAS patients (four images, 200 micron pixels): mdb001/002 (patient 1) and
    mdb005/006 (patient 3), so two studies."""
    folder = tmp_path / "mias"
    folder.mkdir()
    for name in ("mdb001.png", "mdb002.png", "mdb005.png", "mdb006.png", "Info.txt"):
        shutil.copy(mias_dir / name, folder / name)
    return folder
