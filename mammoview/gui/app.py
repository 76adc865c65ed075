"""Start the application: QApplication, theme, main window, and the screenshot mode.

``run(paths, demo=..., screenshot=...)`` is what ``mammoview`` and ``python -m mammoview``
call. With ``screenshot`` set, the app waits until the first study's views are computed
and painted, grabs the screen (or the window where the platform cannot grab the screen),
saves a PNG and exits: the project's own tool for the README picture and the real-window
test.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

#: Time after the last view arrives before grabbing, so the final paint has happened.
SCREENSHOT_SETTLE_MS = 600
#: Give up on a screenshot that never settles (a broken study) after this long.
SCREENSHOT_TIMEOUT_MS = 120_000


def create_application(argv: Sequence[str] | None = None):
    """The QApplication (an existing one is reused), themed for reading rooms."""
    from PySide6.QtWidgets import QApplication

    from mammoview.gui.style import apply_theme

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
    app.setApplicationName("MammoView")
    app.setOrganizationName("MammoView")
    apply_theme(app)
    return app


def grab_screen_or_window(window):
    """The whole screen as a QPixmap, else the window (offscreen platforms, Wayland)."""
    screen = window.screen() or _primary_screen()
    pixmap = screen.grabWindow(0) if screen is not None else None
    if pixmap is None or pixmap.isNull() or _is_uniform(pixmap):
        pixmap = window.grab()
    return pixmap


def _primary_screen():
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.primaryScreen()


def _is_uniform(pixmap) -> bool:
    image = pixmap.toImage().scaled(64, 64)
    first = image.pixel(0, 0)
    return all(image.pixel(x, y) == first for x in range(0, 64, 4) for y in range(0, 64, 4))


def screenshot_timeout_ms() -> int:
    """How long ``--screenshot`` waits for the first study: :data:`SCREENSHOT_TIMEOUT_MS`,
    or ``MAMMOVIEW_SCREENSHOT_TIMEOUT_S`` seconds (the trained super-resolution of a
    full-field image takes minutes on a slow CPU)."""
    value = os.environ.get("MAMMOVIEW_SCREENSHOT_TIMEOUT_S", "").strip()
    try:
        return max(0, int(float(value) * 1000)) if value else SCREENSHOT_TIMEOUT_MS
    except ValueError:
        log.warning("MAMMOVIEW_SCREENSHOT_TIMEOUT_S=%r is not a number of seconds; using %d s",
                    value, SCREENSHOT_TIMEOUT_MS // 1000)
        return SCREENSHOT_TIMEOUT_MS


def save_screenshot(window, path: str | Path) -> bool:
    """Grab and save a PNG; True when written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    window.repaint()
    return bool(grab_screen_or_window(window).save(str(path), "PNG"))


def run(paths: Sequence[str | Path] = (), demo: bool = False,
        screenshot: str | Path | None = None) -> int:
    """Run the GUI until the user quits; return the exit status.

    Parameters
    ----------
    paths : sequence of path-like
        Files and folders to open.
    demo : bool
        Open the synthetic demo studies when no paths are given. Without paths and
        without ``demo`` the window opens on an empty state that offers the demo.
    screenshot : path-like, optional
        Save a PNG of the screen once the first study is fully shown, then exit 0; if it
        has not settled after :func:`screenshot_timeout_ms`, save what is shown and exit 1
        (1 also when it cannot be written).
    """
    from PySide6.QtCore import QTimer

    from mammoview.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow()
    if screenshot is not None:
        window.fill_screen(1.0)  # the picture shows the application, not the desktop
    window.show()
    status = {"code": 0}

    if screenshot is not None:
        target = Path(screenshot)

        def grab() -> None:
            app.processEvents()
            if not save_screenshot(window, target):
                log.error("could not write screenshot %s", target)
                status["code"] = 1
            window.close()
            app.quit()

        def on_settled() -> None:
            window.viewsSettled.disconnect(on_settled)
            wait_for_ai()

        def wait_for_ai() -> None:
            # The AI panel and layers of the shown images finish too (LIME included).
            if window.ai.is_idle():
                QTimer.singleShot(SCREENSHOT_SETTLE_MS, grab)
            else:
                QTimer.singleShot(200, wait_for_ai)

        def on_timeout() -> None:
            # What is on screen is still worth having (a slow super-resolution on a CPU
            # should not cost the whole picture); exit 1 says it is not the finished view.
            app.processEvents()
            saved = save_screenshot(window, target)
            log.error("screenshot: the first study had not finished computing after %.0f s (%s)%s",
                      screenshot_timeout_ms() / 1000, window.work_label.text(),
                      f"; saved what was shown to {target}" if saved else "")
            status["code"] = 1
            window.close()
            app.quit()

        def on_opened(count: int) -> None:
            window.studiesOpened.disconnect(on_opened)
            if count == 0:  # nothing to wait for: picture the empty state and problems
                QTimer.singleShot(SCREENSHOT_SETTLE_MS, grab)

        window.viewsSettled.connect(on_settled)
        window.studiesOpened.connect(on_opened)
        QTimer.singleShot(screenshot_timeout_ms(), on_timeout)

    if paths:
        window.open_paths([str(p) for p in paths])
    elif demo:
        window.open_demo()
    code = app.exec()
    return status["code"] if screenshot is not None else int(code)
