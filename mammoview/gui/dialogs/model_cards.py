"""Models > Model cards…: the active model of every task with its card, readable.

The cards are the JSON files beside the weights (:mod:`mammoview.nets.store`), read
without loading any network. Each task's tab shows the card as
:mod:`mammoview.nets.card_summary` orders it (the model, then its evaluation on patients
never trained on, image level before patch level, then the papers' figures and why ours
differ), and the whole card as JSON on a second tab, nothing cut.
"""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
)

from mammoview import RESEARCH_NOTICE
from mammoview.nets.card_summary import card_html, card_json

__all__ = ["ModelCardsDialog", "card_html"]  # card_html: the training results show a card the same way


class ModelCardsDialog(QDialog):
    """One tab per task (its active model's card), each with a summary and the raw JSON."""

    def __init__(self, cards: list[dict], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model cards")
        self.resize(900, 700)
        layout = QVBoxLayout(self)
        # Above the tabs, so it stays in view whichever card and however far it is scrolled.
        notice = QLabel(f"<b>{RESEARCH_NOTICE}</b> Figures are from small validation sets; "
                        "read them with their intervals.")
        notice.setObjectName("modelCardsNotice")
        notice.setWordWrap(True)
        layout.addWidget(notice)
        self.tabs = QTabWidget()
        self.cards = cards
        self.summaries: list[QTextBrowser] = []
        self.raw_views: list[QPlainTextEdit] = []
        for card in cards:
            self.tabs.addTab(self._card_tabs(card), card.get("task", "?"))
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _card_tabs(self, card: dict) -> QTabWidget:
        summary = QTextBrowser()
        summary.setOpenLinks(False)
        summary.setHtml(card_html(card))
        raw = QPlainTextEdit()
        raw.setReadOnly(True)
        raw.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        raw.setPlainText(card_json(card))
        inner = QTabWidget()
        inner.setDocumentMode(True)
        inner.addTab(summary, "Summary")
        inner.addTab(raw, "Raw JSON")
        self.summaries.append(summary)
        self.raw_views.append(raw)
        return inner

    def tab_text(self, index: int) -> str:
        """The summary of card ``index`` as plain text."""
        return self.summaries[index].toPlainText()

    def raw_text(self, index: int) -> str:
        """The whole card ``index`` as the JSON shown on its second tab."""
        return self.raw_views[index].toPlainText()
