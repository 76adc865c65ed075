"""Models > Model cards…: the active model of every task with its card's fields.

The cards are the JSON files beside the weights (:mod:`mammoview.nets.store`), read
without loading any network. Shown per task: architecture, version, data and split,
metrics, the command that reproduces the model, and its intended use.
"""

from __future__ import annotations

import json
from html import escape

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QTextBrowser, QVBoxLayout

#: The card fields shown, in order, with their titles.
CARD_FIELDS = (
    ("task", "Task"),
    ("architecture", "Architecture"),
    ("version", "Version"),
    ("data", "Data"),
    ("split", "Split"),
    ("metrics", "Metrics"),
    ("command", "Command"),
    ("intended_use", "Intended use"),
    ("preprocessing", "Preprocessing"),
    ("classes", "Classes"),
    ("seed", "Seed"),
    ("epochs", "Epochs"),
    ("start", "Start"),
    ("created", "Created"),
    ("path", "File"),
)


def summarise(value, limit: int = 1200) -> str:
    """A card value as short text: dicts and lists as compact JSON."""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, default=str)
    else:
        text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card_html(card: dict) -> str:
    rows = []
    if card.get("error"):
        rows.append(f"<tr><td><b>Status</b></td><td>{escape(card['error'])}</td></tr>")
    for key, title in CARD_FIELDS:
        if key in card:
            rows.append(f"<tr><td valign='top'><b>{title}</b></td>"
                        f"<td>{escape(summarise(card[key]))}</td></tr>")
    return "<table cellspacing='4'>" + "".join(rows) + "</table>"


class ModelCardsDialog(QDialog):
    """One tab per task (its active model's card)."""

    def __init__(self, cards: list[dict], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model cards")
        self.resize(720, 520)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.cards = cards
        for card in cards:
            view = QTextBrowser()
            view.setHtml(card_html(card))
            self.tabs.addTab(view, card.get("task", "?"))
        layout.addWidget(self.tabs)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def tab_text(self, index: int) -> str:
        return self.tabs.widget(index).toPlainText()
