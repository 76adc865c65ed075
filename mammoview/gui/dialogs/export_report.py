"""File > Export report: ask for the reader's impression, then the target file.

The dialog only collects text; building the report content and writing the PDF happen
in the window (the content) and on a worker (the rendering), so the dialog itself is
cheap to test and never blocks.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
)


class ImpressionDialog(QDialog):
    """A small dialog with one text box for the impression printed in the report."""

    def __init__(self, study_text: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.resize(480, 300)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Report for: {study_text}"))
        layout.addWidget(QLabel("Impression (printed as typed):"))
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("e.g. No suspicious findings. BI-RADS 1.")
        layout.addWidget(self.editor)
        note = QLabel("The report shows the views as displayed. Research use only, not for diagnosis.")
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Choose file…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def impression(self) -> str:
        return self.editor.toPlainText().strip()
