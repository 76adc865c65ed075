"""Opening by drag-and-drop and from the recent-files menu, as a reader does it."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from mammoview.gui.main_window import MainWindow

SETTLE_MS = 60_000




@pytest.fixture
def mias_pair(mias_dir, tmp_path):
    folder = tmp_path / "dropped"
    folder.mkdir()
    for name in ("mdb001.png", "mdb002.png", "Info.txt"):
        shutil.copy(mias_dir / name, folder / name)
    return folder


def _mime(*paths) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_dropping_a_folder_opens_its_study(qtbot, window, mias_pair):
    mime = _mime(mias_pair)
    pos = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()

    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.viewsSettled, timeout=SETTLE_MS):
        window.dropEvent(drop)
    assert len(window.studies) == 1
    assert [ref.display_name for ref in window.studies[0].images] == ["mdb001.png", "mdb002.png"]
    assert window.image is not None and window.image.ref.display_name == "mdb001.png"


def test_drag_without_local_files_is_refused(window):
    mime = QMimeData()
    mime.setText("not a file")
    enter = QDragEnterEvent(window.rect().center(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert not enter.isAccepted()


def test_recent_menu_reopens_a_folder_in_a_new_window(qtbot, window, mias_pair):
    with qtbot.waitSignal(window.viewsSettled, timeout=SETTLE_MS):
        window.open_paths([mias_pair])
    window.save_settings()

    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    actions = [a for a in again.recent_menu.actions() if a.text() == str(mias_pair)]
    assert actions, [a.text() for a in again.recent_menu.actions()]
    with qtbot.waitSignal(again.viewsSettled, timeout=SETTLE_MS):
        actions[0].trigger()
    assert len(again.studies) == 1
    again.close()
