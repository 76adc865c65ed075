"""Help > About: what MammoView is, its version, and that it is not for diagnosis."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from mammoview import __version__

RUO_NOTICE = "Research use only, not for diagnosis"


class AboutDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About MammoView")
        layout = QVBoxLayout(self)
        text = QLabel(
            f"<h3>MammoView {__version__}</h3>"
            "<p>A review workstation for mammograms with image enhancement and "
            "AI assistance.</p>"
            f"<p><b>{RUO_NOTICE}.</b> Results have not been validated for clinical use "
            "and must not guide patient care.</p>"
            "<p>Demo studies marked SYNTHETIC are generated phantoms, not patients.</p>"
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
