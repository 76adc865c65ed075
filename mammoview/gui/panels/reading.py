"""The Reading dock: the reader's findings, BI-RADS, density, impression and study state.

A view of a :class:`~mammoview.reading.model.Reading`, never its owner: the
controller (:mod:`mammoview.gui.readingcontrol`) repaints it with :meth:`ReadingPanel.show_reading`
after every change and turns its signals into session edits. Typing in the impression
is sent after :data:`IMPRESSION_IDLE_MS` of quiet, when the box loses focus, and on
:meth:`ReadingPanel.flush` (the controller calls it before changing study or closing),
so nothing typed is lost; a finding's note is sent when its field is left (Enter,
focus out) and on flush too.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mammoview.reading.model import DENSITIES, FINDING_TYPES, Reading

IMPRESSION_IDLE_MS = 600
BIRADS_TEXT = {
    0: "0 – incomplete, needs imaging",
    1: "1 – negative",
    2: "2 – benign",
    3: "3 – probably benign",
    4: "4 – suspicious",
    5: "5 – highly suggestive of malignancy",
    6: "6 – known biopsy-proven malignancy",
}
DENSITY_TEXT = {
    "A": "A – almost entirely fatty",
    "B": "B – scattered fibroglandular",
    "C": "C – heterogeneously dense",
    "D": "D – extremely dense",
}
STATE_TEXT = {"unread": "Unread", "in progress": "In progress", "read": "Read"}
_ID = Qt.ItemDataRole.UserRole
COLUMNS = ("#", "Finding", "Size", "Note")
NONE_TEXT = "—"


@dataclass(frozen=True)
class MarkRow:
    """One line of the findings list (the controller numbers and names them)."""

    id: str
    number: str
    kind: str
    where: str
    size: str
    note: str
    tooltip: str = ""
    is_ruler: bool = False


class _ImpressionEdit(QPlainTextEdit):
    """A text box that says when it loses focus."""

    focusLost = Signal()

    def focusOutEvent(self, event):  # noqa: N802 (Qt naming)
        super().focusOutEvent(event)
        self.focusLost.emit()


class ReadingPanel(QWidget):
    """The dock's contents (see the module docstring).

    Signals
    -------
    markSelected(str)
        A row of the findings list was clicked (a finding's or ruler's id).
    typeChanged(str, str)
        (finding id, new type).
    noteChanged(str, str)
        (finding or ruler id, new note).
    deleteRequested(str)
    biradsChanged(str, object)
        ("right" | "left" | "overall", 0-6 or None).
    densityChanged(object)
        "A"-"D" or None.
    impressionChanged(str)
        The impression text, after a pause in typing, on focus out or on flush.
    markReadRequested(), reopenRequested()
    """

    markSelected = Signal(str)
    typeChanged = Signal(str, str)
    noteChanged = Signal(str, str)
    deleteRequested = Signal(str)
    biradsChanged = Signal(str, object)
    densityChanged = Signal(object)
    impressionChanged = Signal(str)
    markReadRequested = Signal()
    reopenRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("readingPanel")
        self._selected: str | None = None
        self._rows: dict[str, MarkRow] = {}
        self._notes: dict[str, str] = {}  # saved note of each mark (to spot an edit)
        self._impression_saved = ""
        self._editable = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)

        self.study_label = QLabel("No study open")
        self.study_label.setObjectName("readingStudy")
        self.study_label.setWordWrap(True)
        self.study_label.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.study_label)

        self.banner = QLabel()
        self.banner.setObjectName("readingBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #5a3b12; color: #f2d39b; padding: 4px; border-radius: 3px;")
        self.banner.hide()
        layout.addWidget(self.banner)

        state_row = QHBoxLayout()
        self.state_label = QLabel("State: —")
        self.state_label.setObjectName("readingState")
        self.state_label.setWordWrap(True)
        self.mark_read_button = QPushButton("Mark read")
        self.mark_read_button.setObjectName("markReadButton")
        self.mark_read_button.clicked.connect(self._on_state_button)
        state_row.addWidget(self.state_label, 1)
        state_row.addWidget(self.mark_read_button)
        layout.addLayout(state_row)

        # --- findings ---------------------------------------------------------------
        findings_box = QGroupBox("Findings and rulers")
        fl = QVBoxLayout(findings_box)
        new_row = QHBoxLayout()
        new_row.addWidget(QLabel("New marks are"))
        self.new_type = QComboBox()
        self.new_type.setObjectName("newFindingType")
        self.new_type.addItems(list(FINDING_TYPES))
        self.new_type.setToolTip("The type the next finding you draw gets (change it after in Type below)")
        new_row.addWidget(self.new_type, 1)
        fl.addLayout(new_row)
        self.findings = QTreeWidget()
        self.findings.setObjectName("readingFindings")
        self.findings.setColumnCount(len(COLUMNS))
        self.findings.setHeaderLabels(list(COLUMNS))
        self.findings.setRootIsDecorated(False)
        self.findings.setAlternatingRowColors(True)
        self.findings.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.findings.setMinimumHeight(110)
        self.findings.itemClicked.connect(self._on_row_clicked)
        self.findings.currentItemChanged.connect(lambda cur, _prev: self._on_row_clicked(cur))
        fl.addWidget(self.findings)
        self.spacing_note = QLabel()
        self.spacing_note.setWordWrap(True)
        self.spacing_note.setStyleSheet("color: #e0b66a;")
        self.spacing_note.hide()
        fl.addWidget(self.spacing_note)

        editor = QFormLayout()
        self.type_combo = QComboBox()
        self.type_combo.setObjectName("findingType")
        self.type_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.type_combo.setMinimumContentsLength(12)
        self.type_combo.addItems(list(FINDING_TYPES))
        self.type_combo.activated.connect(self._on_type)
        self.note_edit = QLineEdit()
        self.note_edit.setObjectName("findingNote")
        self.note_edit.setPlaceholderText("note on the selected finding")
        self.note_edit.editingFinished.connect(self._send_note)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteFinding")
        self.delete_button.clicked.connect(self._on_delete)
        type_row = QHBoxLayout()
        type_row.addWidget(self.type_combo, 1)
        type_row.addWidget(self.delete_button)
        editor.addRow("Type", type_row)
        editor.addRow("Note", self.note_edit)
        fl.addLayout(editor)
        layout.addWidget(findings_box, 1)

        # --- assessment ---------------------------------------------------------------
        assess_box = QGroupBox("Assessment")
        form = QFormLayout(assess_box)
        self.birads: dict[str, QComboBox] = {}
        short = QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        for side, title in (("right", "BI-RADS right"), ("left", "BI-RADS left"), ("overall", "BI-RADS overall")):
            combo = QComboBox()
            combo.setObjectName(f"birads_{side}")
            combo.setSizeAdjustPolicy(short)
            combo.setMinimumContentsLength(10)
            combo.addItem(NONE_TEXT, None)
            for value, text in BIRADS_TEXT.items():
                combo.addItem(text, value)
            combo.activated.connect(lambda _i, s=side, c=combo: self.biradsChanged.emit(s, c.currentData()))
            self.birads[side] = combo
            form.addRow(title, combo)
        self.density = QComboBox()
        self.density.setObjectName("density")
        self.density.setSizeAdjustPolicy(short)
        self.density.setMinimumContentsLength(10)
        self.density.addItem(NONE_TEXT, None)
        for value in DENSITIES:
            self.density.addItem(DENSITY_TEXT[value], value)
        self.density.activated.connect(lambda _i: self.densityChanged.emit(self.density.currentData()))
        form.addRow("Density", self.density)
        layout.addWidget(assess_box)

        imp_box = QGroupBox("Impression")
        il = QVBoxLayout(imp_box)
        self.impression = _ImpressionEdit()
        self.impression.setObjectName("impression")
        self.impression.setPlaceholderText("Impression (saved as you type)")
        self.impression.setMinimumHeight(70)
        self.impression.textChanged.connect(self._on_impression_typed)
        self.impression.focusLost.connect(self.flush_impression)
        il.addWidget(self.impression)
        layout.addWidget(imp_box, 1)

        self._impression_timer = QTimer(self)
        self._impression_timer.setSingleShot(True)
        self._impression_timer.setInterval(IMPRESSION_IDLE_MS)
        self._impression_timer.timeout.connect(self.flush_impression)
        self.set_unavailable("Open a study to record a reading")

    # ------------------------------------------------------------------ painting

    def set_unavailable(self, text: str, *, study: str = "") -> None:
        """No reading to show (no study, opening, or the database is unusable)."""
        self._impression_timer.stop()
        self.study_label.setText(study or "No study open")
        self.state_label.setText(text)
        self.banner.hide()
        self._rows, self._notes, self._selected = {}, {}, None
        self.findings.clear()
        self.spacing_note.hide()
        self._set_impression_text("")
        self._impression_saved = ""
        for combo in (*self.birads.values(), self.density):
            combo.setCurrentIndex(0)
        self._set_editable(False)
        self.mark_read_button.setEnabled(False)
        self._show_selection()

    def show_reading(self, reading: Reading, rows: list[MarkRow], *, study: str, read_only: bool,
                     banner: str = "", spacing_note: str = "") -> None:
        """Paint ``reading`` (see the module docstring for what is kept while typing)."""
        self.study_label.setText(study)
        self.banner.setText(banner)
        self.banner.setVisible(bool(banner))
        self.state_label.setText(f"State: {STATE_TEXT.get(reading.state, reading.state)}"
                                 + (f" · by {reading.reader}" if reading.state == "read" and reading.reader else ""))
        self.mark_read_button.setText("Reopen" if reading.state == "read" else "Mark read")
        self.mark_read_button.setEnabled(not read_only)
        self.mark_read_button.setToolTip(
            "" if reading.birads_overall is not None or reading.state == "read"
            else "Set the overall BI-RADS assessment first")
        for side, combo in self.birads.items():
            _select_data(combo, getattr(reading, f"birads_{side}"))
        _select_data(self.density, reading.density)
        self._show_rows(rows)
        self.spacing_note.setText(spacing_note)
        self.spacing_note.setVisible(bool(spacing_note))
        self._show_impression(reading.impression)
        self._set_editable(not read_only)
        self._show_selection()

    def _show_rows(self, rows: list[MarkRow]) -> None:
        self.findings.blockSignals(True)
        try:
            self.findings.clear()
            self._rows = {row.id: row for row in rows}
            self._notes = {row.id: row.note for row in rows}
            for row in rows:
                item = QTreeWidgetItem([row.number, f"{row.kind} · {row.where}", row.size, row.note])
                item.setData(0, _ID, row.id)
                for column in range(len(COLUMNS)):
                    item.setToolTip(column, row.tooltip)
                self.findings.addTopLevelItem(item)
            for column in range(len(COLUMNS) - 1):
                self.findings.resizeColumnToContents(column)
        finally:
            self.findings.blockSignals(False)
        if self._selected not in self._rows:
            self._selected = None

    def _show_impression(self, text: str) -> None:
        """Show the saved impression unless the reader is typing something newer."""
        self._impression_saved = text
        if self._impression_timer.isActive() or self.impression.toPlainText() == text:
            return
        self._set_impression_text(text)

    def _set_impression_text(self, text: str) -> None:
        self.impression.blockSignals(True)
        try:
            self.impression.setPlainText(text)
        finally:
            self.impression.blockSignals(False)

    def _set_editable(self, on: bool) -> None:
        self._editable = on
        for widget in (*self.birads.values(), self.density):
            widget.setEnabled(on)
        self.impression.setReadOnly(not on)

    # ------------------------------------------------------------------ selection

    def select(self, mark_id: str | None) -> None:
        """Show ``mark_id`` as selected (None: nothing) without emitting markSelected."""
        if mark_id is not None and mark_id not in self._rows:
            mark_id = None
        if mark_id != self._selected:
            self._send_note()  # a note being typed belongs to the old selection
        self._selected = mark_id
        self._show_selection()

    def selected(self) -> str | None:
        return self._selected

    def _show_selection(self) -> None:
        self.findings.blockSignals(True)
        try:
            self.findings.clearSelection()
            for i in range(self.findings.topLevelItemCount()):
                item = self.findings.topLevelItem(i)
                if item.data(0, _ID) == self._selected:
                    self.findings.setCurrentItem(item)
                    item.setSelected(True)
                    self.findings.scrollToItem(item)
        finally:
            self.findings.blockSignals(False)
        row = self._rows.get(self._selected) if self._selected else None
        has = row is not None and self._editable
        self.type_combo.setEnabled(has and not row.is_ruler)
        self.note_edit.setEnabled(has)
        self.delete_button.setEnabled(has)
        self.type_combo.blockSignals(True)
        if row is not None and not row.is_ruler:
            self.type_combo.setCurrentIndex(max(0, self.type_combo.findText(row.kind)))
        self.type_combo.blockSignals(False)
        if not self.note_edit.hasFocus() or row is None:
            self.note_edit.setText(row.note if row is not None else "")

    def _on_row_clicked(self, item) -> None:
        if item is None:
            return
        mark_id = item.data(0, _ID)
        if mark_id != self._selected:
            self._send_note()
            self._selected = mark_id
            self._show_selection()
        self.markSelected.emit(mark_id)

    # ------------------------------------------------------------------ edits out

    def _on_type(self, _index: int) -> None:
        if self._selected and self._editable:
            self.typeChanged.emit(self._selected, self.type_combo.currentText())

    def _send_note(self) -> None:
        mark_id = self._selected
        if not mark_id or not self._editable or mark_id not in self._notes:
            return
        text = self.note_edit.text()
        if text != self._notes[mark_id]:
            self._notes[mark_id] = text  # sent once, even if editingFinished fires twice
            self.noteChanged.emit(mark_id, text)

    def _on_delete(self) -> None:
        if self._selected and self._editable:
            self.deleteRequested.emit(self._selected)

    def _on_state_button(self) -> None:
        if self.mark_read_button.text() == "Reopen":
            self.reopenRequested.emit()
        else:
            self.markReadRequested.emit()

    def _on_impression_typed(self) -> None:
        if self._editable:
            self._impression_timer.start()

    def flush_impression(self) -> None:
        """Send the impression now if it differs from what was saved."""
        self._impression_timer.stop()
        if not self._editable:
            return
        text = self.impression.toPlainText()
        if text != self._impression_saved:
            self._impression_saved = text
            self.impressionChanged.emit(text)

    def flush(self) -> None:
        """Send every pending edit (the note being typed, the impression)."""
        self._send_note()
        self.flush_impression()

    def has_pending_edits(self) -> bool:
        return self._impression_timer.isActive()


def _select_data(combo: QComboBox, value) -> None:
    index = combo.findData(value)
    combo.blockSignals(True)
    combo.setCurrentIndex(index if index >= 0 else 0)
    combo.blockSignals(False)
