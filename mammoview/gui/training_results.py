"""The training dialog's end of a run: the new model beside the one in use, its card, and
the button that makes it the model in use.

Both models were scored on the same validation patients in the training process
(:mod:`mammoview.training.compare`): the task's metric with its 95 % bootstrap interval,
and for the classifiers the confusion matrix at each model's own threshold. The card is
shown as the Model cards dialog shows it. Research use only, not for diagnosis.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mammoview import RESEARCH_NOTICE
from mammoview.gui.dialogs.model_cards import card_html

COLUMNS = ("Model", "Version", "Architecture", "Metric", "95% interval", "Images")
ROW_TITLES = {"new": "New model", "in use": "Model in use"}
ACTIVATE, ACTIVATE_WORSE = "Make active", "Make active anyway"
ACTIVATE_TIP = ("Use the new model in the window from now on (the model in use stays installed and can be "
                "chosen again)")


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _interval(ci) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return "– (too few images)"
    return f"{ci[0]:.3f} – {ci[1]:.3f}"


class ConfusionView(QGroupBox):
    """A 2 x 2 confusion matrix (rows: truth, columns: call) with sensitivity and specificity."""

    def __init__(self, title: str, row: dict[str, Any]) -> None:
        super().__init__(title)
        grid = QGridLayout(self)
        neg, pos = (row.get("classes") or ["negative", "positive"])[:2]
        cm = row.get("confusion") or {}
        cells = [["", f"called {neg}", f"called {pos}"],
                 [f"{neg}", cm.get("tn", 0), cm.get("fp", 0)],
                 [f"{pos}", cm.get("fn", 0), cm.get("tp", 0)]]
        for r, line in enumerate(cells):
            for c, value in enumerate(line):
                label = QLabel(str(value))
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                if r and c:
                    good = (r == c)
                    label.setStyleSheet("padding: 4px; border-radius: 3px; background: %s;"
                                        % ("#2e4a36" if good else "#4a2e2e"))
                else:
                    label.setStyleSheet("color: #8a9099;")
                grid.addWidget(label, r, c)
        note = QLabel(f"threshold {_fmt(row.get('threshold'))} · sensitivity {_fmt(row.get('sensitivity'), 2)} · "
                      f"specificity {_fmt(row.get('specificity'), 2)}")
        note.setStyleSheet("color: #8a9099;")
        grid.addWidget(note, 3, 0, 1, 3)
        self.values = {k: cm.get(k, 0) for k in ("tp", "fp", "tn", "fn")}


class ResultsView(QWidget):
    """Comparison table, confusion matrices, the new card and "Make active".

    Signals
    -------
    activateRequested()
    """

    activateRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        self.summary = QLabel("The comparison appears here when a run finishes.")
        self.summary.setObjectName("trainResultSummary")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("trainCompareTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(120)
        self.confusions = QHBoxLayout()
        self.card = QTextBrowser()
        self.card.setObjectName("trainNewCard")
        self.activate = QPushButton(ACTIVATE)
        self.activate.setObjectName("trainMakeActive")
        self.activate.setEnabled(False)
        self.activate.setToolTip(ACTIVATE_TIP)
        self.activate.clicked.connect(self.activateRequested)
        self.activation = QLabel("")
        self.activation.setObjectName("trainActivation")
        self.activation.setWordWrap(True)
        notice = QLabel(RESEARCH_NOTICE)
        notice.setStyleSheet("color: #e0b66a;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.activation, 1)
        buttons.addWidget(self.activate)
        lay.addWidget(self.summary)
        lay.addWidget(self.table)
        lay.addLayout(self.confusions)
        lay.addWidget(QLabel("New model card"))
        lay.addWidget(self.card, 1)
        lay.addWidget(notice)
        lay.addLayout(buttons)
        self.result: dict[str, Any] | None = None

    def clear(self, text: str) -> None:
        self.result = None
        self.summary.setText(text)
        self.table.setRowCount(0)
        self._clear_confusions()
        self.card.clear()
        self.activate.setEnabled(False)
        self.activate.setText(ACTIVATE)
        self.activation.setText("")

    def _clear_confusions(self) -> None:
        while self.confusions.count():
            item = self.confusions.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()

    def show_comparison(self, result: dict[str, Any]) -> None:
        self.result = result
        if result.get("error"):
            self.summary.setText(f"The models could not be compared: {result['error']}")
        else:
            rows = [r for r in result.get("rows", [])]
            self._fill_table(rows, result)
            self.table.horizontalHeaderItem(3).setText(result.get("metric_short") or "Metric")
            self._clear_confusions()
            for row in rows:
                if row.get("confusion"):
                    title = ROW_TITLES.get(row["label"], row["label"])
                    self.confusions.addWidget(ConfusionView(f"{title} ({row.get('version', '')})", row))
            self.summary.setText(self._summary(result))
        card = result.get("card")
        if card:
            # The card is the longest document to lay out (it lists every validation
            # score): on the next turn of the event loop, so the table and matrices paint first.
            QTimer.singleShot(0, lambda html=card_html(card): self.card.setHtml(html))
        self.activate.setEnabled(bool(card))
        self._warn_if_worse(result)

    def _warn_if_worse(self, result: dict[str, Any]) -> None:
        """A new model that scores below the one in use may still be made active (a reader
        may want it), but not by a button that reads the same as for a better one."""
        rows = {r["label"]: r for r in result.get("rows", [])}
        new, old = (rows.get(k, {}).get("value") for k in ("new", "in use"))
        worse = new is not None and old is not None and new < old
        self.activate.setText(ACTIVATE_WORSE if worse else ACTIVATE)
        self.activate.setToolTip(
            (f"The new model scores lower than the model in use ({_fmt(new)} against {_fmt(old)}, "
             f"{result.get('metric_short') or 'metric'}). " if worse else "") + ACTIVATE_TIP)

    def _fill_table(self, rows: list[dict[str, Any]], result: dict[str, Any]) -> None:
        self.table.setRowCount(len(rows))
        best = max((r.get("value") for r in rows if r.get("value") is not None), default=None)
        for r, row in enumerate(rows):
            values = [ROW_TITLES.get(row["label"], row["label"]), row.get("version", ""), row.get("architecture", ""),
                      row.get("error") or _fmt(row.get("value")), "" if row.get("error") else _interval(row.get("ci95")),
                      str(row.get("n", ""))]
            for c, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                if c == 3 and best is not None and row.get("value") == best and len(rows) > 1:
                    item.setForeground(Qt.GlobalColor.green)
                if c == 0 and row.get("start"):
                    item.setToolTip(f"start: {row['start']}")
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()

    @staticmethod
    def _summary(result: dict[str, Any]) -> str:
        rows = {r["label"]: r for r in result.get("rows", [])}
        new, old = rows.get("new"), rows.get("in use")
        head = (f"{result.get('metric', '')} on the same {result.get('images', 0)} validation images "
                f"({result.get('patients', 0)} patients), each model with its own preprocessing.")
        if not new or new.get("value") is None:
            return head + " The new model could not be scored on them."
        if not old:
            return head + " There was no model in use to compare with."
        if old.get("value") is None:
            return head + f" The model in use could not be scored: {old.get('error') or 'no value'}."
        diff = new["value"] - old["value"]
        ci_new, ci_old = new.get("ci95") or [None, None], old.get("ci95") or [None, None]
        overlap = None not in ci_new + ci_old and not (ci_new[0] > ci_old[1] or ci_old[0] > ci_new[1])
        caution = (" The intervals overlap: on this many images the difference may be chance."
                   if overlap else "")
        if diff == 0:
            return head + " Both models score the same." + caution
        verdict = "higher" if diff > 0 else "lower"
        return head + f" The new model scores {abs(diff):.3f} {verdict} than the model in use.{caution}"

    def set_activated(self, text: str, *, ok: bool = True) -> None:
        self.activation.setText(text)
        self.activation.setStyleSheet("" if ok else "color: #e57373;")
        if ok:
            self.activate.setEnabled(False)

    def table_rows(self) -> list[list[str]]:
        return [[self.table.item(r, c).text() if self.table.item(r, c) else "" for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]
