"""The application's look: Fusion with a calm dark palette and the resources/ stylesheet.

Reading rooms are dim; a bright window around a mammogram makes the eye adapt to the
chrome instead of the image. The palette keeps every surface dark grey and text mid-grey.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
STYLESHEET = RESOURCES / "style.qss"

_COLORS = {
    QPalette.ColorRole.Window: "#1b1d20",
    QPalette.ColorRole.WindowText: "#c9ccd1",
    QPalette.ColorRole.Base: "#17191b",
    QPalette.ColorRole.AlternateBase: "#1c1f22",
    QPalette.ColorRole.ToolTipBase: "#23262a",
    QPalette.ColorRole.ToolTipText: "#c9ccd1",
    QPalette.ColorRole.Text: "#c9ccd1",
    QPalette.ColorRole.Button: "#262a2e",
    QPalette.ColorRole.ButtonText: "#c9ccd1",
    QPalette.ColorRole.BrightText: "#e0b66a",
    QPalette.ColorRole.Highlight: "#2f4a63",
    QPalette.ColorRole.HighlightedText: "#e6e8eb",
    QPalette.ColorRole.Link: "#7fa8c9",
    QPalette.ColorRole.PlaceholderText: "#6b7078",
}


def dark_palette() -> QPalette:
    """The reading-room palette (disabled text dimmed further)."""
    palette = QPalette()
    for role, color in _COLORS.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#5d6269"))
    return palette


def apply_theme(app: QApplication) -> None:
    """Fusion style, the dark palette and the stylesheet (if the resource is present)."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    if STYLESHEET.is_file():
        app.setStyleSheet(STYLESHEET.read_text(encoding="utf-8"))
