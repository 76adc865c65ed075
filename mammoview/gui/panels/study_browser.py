"""The study browser: the worklist of studies, their images underneath.

Study rows show the patient, date, views, the ground-truth class where the source gives
one (MIAS Info.txt, CBIS-DDSM labels.csv, the demo phantoms), the reading state (unread,
in progress, read), the reader's overall BI-RADS and breast density as saved, and the AI's study suspicion
once the classifier has one; a SYNTHETIC marker keeps a phantom from being mistaken for
a patient. Any column sorts (click its header: ascending, descending, back to the opened
order; rows without a value go last), and the filter bar above keeps the studies of one
state, assessment or ground truth.

The browser binds to the core :class:`mammoview.reading.Worklist` (built off the UI
thread by :class:`mammoview.gui.worklistcontrol.WorklistController`) and holds no
reading truth of its own: :meth:`StudyBrowser.refresh_states` re-reads every state from
the database (one query, a few ms for 1,000 studies) and :meth:`StudyBrowser.poll`
does so only when another connection wrote since (one PRAGMA).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mammoview.core.image import ImageRef
from mammoview.core.study import GROUND_TRUTH_RANK, Study
from mammoview.reading.errors import ReadingError
from mammoview.reading.worklist import STATE_ORDER, Worklist, WorklistRow, filter_rows

# The worklist's columns first: a narrow dock still shows state and assessment.
COLUMNS = ("Study / image", "State", "BI-RADS", "Density", "Ground truth", "AI", "Patient", "Date", "Views")
COL_STUDY, COL_STATE, COL_BIRADS, COL_DENSITY, COL_TRUTH, COL_AI, COL_PATIENT, COL_DATE, COL_VIEWS = range(9)
# Pixels around a cell's text (margins and the sort arrow's room).
AI_COLUMN_PADDING = 16
_ROLE = Qt.ItemDataRole.UserRole
_GT_COLORS = {"malignant": "#d98c7a", "benign": "#d9c27a", "normal": "#8fb58f"}
_STATE_COLORS = {"unread": "#8a9099", "in progress": "#e0b66a", "read": "#8fb58f", "": "#4a4f57"}
#: How often the browser asks the database whether another window saved something.
POLL_MS = 2000
#: Rows looked at to size a column (all 5,000 rows of a big worklist take 30 ms).
RESIZE_PRECISION = 200
_LOADING = ""  # a row's state while the worklist is still being built
#: Lists of at most this many studies open with their images shown.
EXPAND_UP_TO = 20
#: Rows created per event-loop turn when listing (about 20 ms each on a busy machine).
BATCH = 150


def format_date(date: str) -> str:
    """YYYYMMDD -> YYYY-MM-DD; anything else unchanged."""
    if len(date) == 8 and date.isdigit():
        return f"{date[:4]}-{date[4:6]}-{date[6:]}"
    return date


def study_title(study: Study) -> str:
    """The text of a study row's first column, with the SYNTHETIC marker when it applies."""
    label = study.label or study.patient_id or study.uid
    if study.synthetic and not label.upper().startswith("SYNTHETIC"):
        return f"SYNTHETIC · {label}"
    return label


def image_title(ref: ImageRef) -> str:
    slot = ref.slot or ref.view or ""
    name = ref.display_name
    return f"{slot}  {name}" if slot and slot not in name else name


def _cells(values: dict[int, str]) -> list[str]:
    """A row's texts in column order (columns not given are empty)."""
    return [values.get(col, "") for col in range(len(COLUMNS))]


def _dot(color: str) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawEllipse(1, 1, 8, 8)
    painter.end()
    return QIcon(pixmap)


# Sort keys of the columns, the rule of :func:`mammoview.reading.worklist.sort_rows`
# (ties in opened order, rows without a value last either way), one small key per column
# so sorting 1,000 studies stays a few milliseconds.
_SORT_KEYS = {
    COL_STUDY: lambda row: study_title(row.study).lower(),
    COL_PATIENT: lambda row: (row.study.patient_id or row.study.patient_name or "").lower() or None,
    COL_DATE: lambda row: row.study.date or None,
    COL_VIEWS: lambda row: " ".join(row.study.views) or None,
    COL_TRUTH: lambda row: GROUND_TRUTH_RANK.get(row.study.ground_truth) if row.study.ground_truth else None,
    COL_STATE: lambda row: STATE_ORDER.get(row.state),
    COL_BIRADS: lambda row: row.birads_overall,
    COL_DENSITY: lambda row: row.density,
    COL_AI: lambda row: row.ai_score,
}


def sort_worklist_rows(rows: Iterable[WorklistRow], column: int | None, *,
                       descending: bool = False) -> list[WorklistRow]:
    """Rows in the order a column sorts them (None: as opened); no value goes last."""
    rows = list(rows)
    if column is None:
        return sorted(rows, key=lambda r: r.order)
    key = _SORT_KEYS[column]
    keyed = [(key(r), r) for r in rows]
    present = sorted(((k, r.order, r) for k, r in keyed if k is not None), reverse=descending)
    return [r for _, _, r in present] + [r for k, r in keyed if k is None]


class StudyBrowser(QTreeWidget):
    """Tree of studies (the worklist) and their images.

    Signals
    -------
    imageActivated(int, int)
        (study index, image index) the user selected; a study row selects its first image.
    statesChanged()
        The reading states or the rows shown changed (counts, filter, sort).
    """

    imageActivated = Signal(int, int)
    statesChanged = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("studyBrowser")
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(list(COLUMNS))
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # Arrow keys belong to the window (image/study stepping), not to the tree.
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        header = self.header()
        header.setResizeContentsPrecision(RESIZE_PRECISION)
        header.setSectionsClickable(True)
        header.sectionClicked.connect(self._on_header_clicked)
        header.setSortIndicatorShown(False)
        self.currentItemChanged.connect(self._on_current_changed)
        self._studies: list[Study] = []
        self._items: list[QTreeWidgetItem] = []  # by study index
        self._rows: list[WorklistRow] = []  # by study index (placeholders until set_worklist)
        self._worklist: Worklist | None = None
        self._filters: dict = {}
        self._sort: tuple[int | None, bool] = (None, False)
        self._shown: list[int] = []  # study indices in display order
        self._last_study = -1
        self._problem = ""
        self._silent = False
        self._fill_generation = 0
        self._icons = {state: _dot(color) for state, color in _STATE_COLORS.items()}
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.poll)

    # -- content ---------------------------------------------------------------------
    def set_studies(self, studies: list[Study]) -> None:
        """Show ``studies`` (states "…" until :meth:`set_worklist` brings them).

        The first :data:`BATCH` rows are listed at once, the rest in batches from the
        event loop, so listing 1,000 studies never holds the UI thread for long.
        """
        self._silent = True
        try:
            self.clear()
            self._studies, self._items, self._rows, self._shown = [], [], [], []
            self._worklist = None
            self._poll.stop()
            self._last_study = -1
            self._problem = ""
        finally:
            self._silent = False
        self.add_studies(studies)

    def add_studies(self, studies: list[Study]) -> None:
        for study in studies:
            index = len(self._studies)
            self._studies.append(study)
            self._rows.append(WorklistRow(order=index, study=study, key="", identity=None, state=_LOADING))
        self._fill_generation += 1
        self._fill(self._fill_generation)

    @property
    def listing(self) -> bool:
        """True while rows are still being added (batches from the event loop)."""
        return len(self._items) < len(self._studies)

    def _fill(self, generation: int) -> None:
        if generation == self._fill_generation and self.list_more():
            QTimer.singleShot(0, lambda: self._fill(generation))

    def list_more(self) -> bool:
        """List the next :data:`BATCH` studies; True while more remain (the event loop
        calls this by itself after :meth:`set_studies`)."""
        first = not self._items
        self._create_items(len(self._items) + BATCH)
        if first or not self.listing:
            for col in range(len(COLUMNS)):
                self.resizeColumnToContents(col)
        if not self.listing:
            self._apply_view()
        return self.listing

    def _create_items(self, up_to: int) -> None:
        """Create the rows of studies up to index ``up_to`` (exclusive)."""
        start, end = len(self._items), min(up_to, len(self._studies))
        if start >= end:
            return
        # A long worklist reads better one line per study; a few studies show their images.
        expand = len(self._studies) <= EXPAND_UP_TO
        self._silent = True
        try:
            new = [self._study_item(self._studies[i], i) for i in range(start, end)]
            self._items += new
            self.addTopLevelItems(new)
            for item in new:
                item.setExpanded(expand)
                self._paint_row(self._rows[self._index_of(item)])
            self._shown += list(range(start, end))
        finally:
            self._silent = False

    def studies(self) -> list[Study]:
        return list(self._studies)

    def row_texts(self) -> list[str]:
        """First-column text of every study row shown, in display order."""
        return [self._items[i].text(COL_STUDY) for i in self._shown]

    def cell_text(self, study_index: int, column: int) -> str:
        self._create_items(study_index + 1)
        return self._items[study_index].text(column)

    def _study_item(self, study: Study, index: int) -> QTreeWidgetItem:
        gt = study.ground_truth or ""
        patient = study.patient_id or study.patient_name or ""
        item = QTreeWidgetItem(_cells({COL_STUDY: study_title(study), COL_STATE: "…", COL_TRUTH: gt,
                                       COL_PATIENT: patient, COL_DATE: format_date(study.date),
                                       COL_VIEWS: " ".join(study.views)}))
        item.setData(0, _ROLE, (index, -1))
        bold = QFont()
        bold.setBold(True)
        item.setFont(0, bold)
        if study.synthetic:
            item.setForeground(0, QBrush(QColor("#e0b66a")))
            item.setToolTip(0, "Synthetic demo data: not a patient")
        if gt in _GT_COLORS:
            item.setForeground(COL_TRUTH, QBrush(QColor(_GT_COLORS[gt])))
        for j, ref in enumerate(study.images):
            child = QTreeWidgetItem(_cells({COL_STUDY: image_title(ref), COL_TRUTH: ref.ground_truth or "",
                                            COL_VIEWS: ref.slot or ref.view or ""}))
            child.setData(0, _ROLE, (index, j))
            child.setToolTip(0, ref.path)
            if ref.ground_truth in _GT_COLORS:
                child.setForeground(COL_TRUTH, QBrush(QColor(_GT_COLORS[ref.ground_truth])))
            item.addChild(child)
        return item

    @staticmethod
    def _index_of(item: QTreeWidgetItem) -> int:
        return item.data(0, _ROLE)[0]

    # -- worklist ----------------------------------------------------------------------
    @property
    def worklist(self) -> Worklist | None:
        """The core worklist the rows show (None while it is being built)."""
        return self._worklist

    def set_worklist(self, worklist: Worklist) -> None:
        """Bind to ``worklist``: its rows are the studies given to :meth:`set_studies`, in order."""
        if len(worklist.rows) != len(self._studies):
            raise ValueError("the worklist is for other studies")
        ai = {row.order: row.ai_score for row in self._rows if row.ai_score is not None}
        self._worklist = worklist
        self._rows = list(worklist.rows)
        for index, score in ai.items():  # scores that arrived while the worklist was built
            self._rows[index].ai_score = score
        self._problem = ""
        for row in self._rows:
            self._paint_row(row)
        self._apply_view()
        for col in (COL_STATE, COL_BIRADS, COL_DENSITY):
            self.resizeColumnToContents(col)
        self._poll.start()
        self.statesChanged.emit()

    def set_worklist_problem(self, message: str) -> None:
        """The reading states cannot be shown (the database cannot be opened): say why."""
        self._problem = message
        for row in self._rows:
            self._paint_row(row)
        self.statesChanged.emit()

    @property
    def problem(self) -> str:
        return self._problem

    def identity_of(self, study_index: int):
        """The study's :class:`~mammoview.reading.StudyIdentity` (None until known), so a
        reading session can open without hashing the files again."""
        if 0 <= study_index < len(self._rows):
            return self._rows[study_index].identity
        return None

    def row(self, study_index: int) -> WorklistRow:
        return self._rows[study_index]

    def refresh_states(self) -> int:
        """Re-read every reading state from the database and repaint what changed.

        Call after an edit to the reading (the window's reading dock does); returns the
        number of studies whose state or assessment changed.
        """
        if self._worklist is None:
            return 0
        try:
            changed = self._worklist.refresh()
        except ReadingError as err:  # the database went away: keep the rows, say why
            self.set_worklist_problem(f"reading states not refreshed: {err}")
            return 0
        for row in changed:
            self._paint_row(row)
        if changed:
            self._apply_view()
        self.statesChanged.emit()
        return len(changed)

    def poll(self) -> bool:
        """Refresh when another connection saved since the last refresh (one PRAGMA)."""
        if self._worklist is None:
            return False
        try:
            if not self._worklist.changed_elsewhere():
                return False
        except ReadingError:
            return False
        self.refresh_states()
        return True

    def set_ai_score(self, study_index: int, score: float | None, text: str = "", tip: str = "") -> None:
        """The AI's study score to show (``text``) and sort by (``score``)."""
        row = self._rows[study_index]
        self._create_items(study_index + 1)
        item = self._items[study_index]
        if row.ai_score == score and item.text(COL_AI) == text:
            return
        row.ai_score = score
        item.setText(COL_AI, text)
        item.setToolTip(COL_AI, tip)
        # The column was sized while empty; it grows to fit a score (never shrinks under
        # the reader, who may have widened it).
        wanted = self.fontMetrics().horizontalAdvance(text) + AI_COLUMN_PADDING
        if wanted > self.columnWidth(COL_AI):
            self.setColumnWidth(COL_AI, wanted)
        if self._sort[0] == COL_AI:
            self._apply_view()

    def _paint_row(self, row: WorklistRow) -> None:
        if row.order >= len(self._items):
            return  # painted when its item is created
        item = self._items[row.order]
        state = row.state if row.key or row.state == _LOADING else ""
        item.setIcon(COL_STUDY, self._icons.get(state, self._icons[""]))
        if row.problem or (self._problem and not row.key):
            item.setText(COL_STATE, "?")
            item.setToolTip(COL_STATE, row.problem or self._problem)
        else:
            item.setText(COL_STATE, row.state or "…")
            item.setToolTip(COL_STATE, f"{row.finding_count} finding(s) marked" if row.key else "")
        item.setForeground(COL_STATE, QBrush(QColor(_STATE_COLORS.get(row.state, _STATE_COLORS[""]))))
        item.setText(COL_BIRADS, "" if row.birads_overall is None else str(row.birads_overall))
        sides = [f"{name} {value}" for name, value in (("right", row.birads_right), ("left", row.birads_left))
                 if value is not None]
        item.setToolTip(COL_BIRADS, "BI-RADS " + ", ".join(sides) if sides else "")
        item.setText(COL_DENSITY, row.density or "")

    # -- filter and sort -----------------------------------------------------------------
    def set_filter(self, *, states: Iterable[str] | None = None, birads: Iterable[int | None] | None = None,
                   ground_truth: Iterable[str] | None = None, text: str = "") -> None:
        """Show only the studies that pass (see :func:`mammoview.reading.worklist.filter_rows`);
        an argument left out does not filter."""
        self._filters = {
            "states": None if states is None else tuple(states),
            "birads": None if birads is None else tuple(birads),
            "ground_truth": None if ground_truth is None else tuple(ground_truth),
            "text": text,
        }
        self._apply_view()

    def sort_by(self, column: int | None, descending: bool = False) -> None:
        """Sort by a column (None: the opened order)."""
        if column is not None and column not in _SORT_KEYS:
            raise ValueError(f"no sort for column {column}")
        self._sort = (column, descending)
        header = self.header()
        header.setSortIndicatorShown(column is not None)
        if column is not None:
            order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
            header.setSortIndicator(column, order)
        self._apply_view()

    def sort_column(self) -> tuple[int | None, bool]:
        return self._sort

    def _on_header_clicked(self, column: int) -> None:
        current, descending = self._sort
        if current != column:
            self.sort_by(column, False)
        elif not descending:
            self.sort_by(column, True)
        else:
            self.sort_by(None)

    def visible_studies(self) -> list[int]:
        """Study indices shown, in display order."""
        return list(self._shown)

    def _apply_view(self) -> None:
        """Filter, sort and re-order the top-level items (a few ms for 1,000 studies);
        while rows are still being listed, once the last batch is in."""
        if self.listing:
            return
        kept = filter_rows(self._rows, **self._filters) if self._filters else list(self._rows)
        shown = [row.order for row in sort_worklist_rows(kept, self._sort[0], descending=self._sort[1])]
        if shown != self._shown or len(shown) != self.topLevelItemCount():
            self._reorder(shown)
        self._shown = shown
        self.statesChanged.emit()

    def _reorder(self, shown: list[int]) -> None:
        current = self.currentItem()
        position = current.data(0, _ROLE) if current is not None else None
        expanded = [item.isExpanded() for item in self._items]
        self._silent = True
        try:
            root = self.invisibleRootItem()
            root.takeChildren()
            keep = set(shown)
            order = shown + [i for i in range(len(self._items)) if i not in keep]
            root.addChildren([self._items[i] for i in order])
            for i, item in enumerate(self._items):
                item.setHidden(i not in keep)
                item.setExpanded(expanded[i])
            if position is not None and position[0] in keep:
                self._select(*position)
        finally:
            self._silent = False

    def counts(self) -> dict[str, int]:
        """Studies per state (all studies, whatever the filter)."""
        counts = dict.fromkeys(STATE_ORDER, 0)
        for row in self._rows:
            if row.state in counts:
                counts[row.state] += 1
        return counts

    def next_unread(self, after_study: int | None) -> int | None:
        """The study index of the next unread study after ``after_study`` in display order
        (wrapping round), or None when none is shown."""
        if self._worklist is None:
            return None
        rows = [self._rows[i] for i in self._shown]
        after = self._rows[after_study].key if after_study is not None and 0 <= after_study < len(self._rows) else None
        row = self._worklist.next_unread(after=after or None, rows=rows)
        return None if row is None else row.order

    # -- selection ---------------------------------------------------------------------
    def select_image(self, study_index: int, image_index: int) -> None:
        """Highlight a row without emitting :attr:`imageActivated` (the window drives).

        Moving to another study also polls the database for edits from elsewhere.
        """
        if not 0 <= study_index < len(self._studies):
            return
        self._create_items(study_index + 1)
        self._silent = True
        try:
            self._select(study_index, image_index)
        finally:
            self._silent = False
        if study_index != self._last_study:
            self._last_study = study_index
            self.poll()

    def _select(self, study_index: int, image_index: int) -> None:
        top = self._items[study_index]
        item = top.child(image_index) if 0 <= image_index < top.childCount() else top
        self.setCurrentItem(item)
        self.scrollToItem(item)

    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous) -> None:
        if self._silent or current is None:
            return
        study_index, image_index = current.data(0, _ROLE)
        self.imageActivated.emit(study_index, max(0, image_index))


# --------------------------------------------------------------------------- filter bar

STATE_FILTERS = {
    "Any state": None,
    "Not read yet": ("unread", "in progress"),
    "Unread": ("unread",),
    "In progress": ("in progress",),
    "Read": ("read",),
}
BIRADS_FILTERS = {
    "Any BI-RADS": None,
    "Not assessed": (None,),
    "BI-RADS 4-6": (4, 5, 6),
    **{f"BI-RADS {n}": (n,) for n in range(7)},
}
TRUTH_FILTERS = {
    "Any ground truth": None,
    "Normal": ("normal",),
    "Abnormal": ("benign", "malignant"),
    "Benign": ("benign",),
    "Malignant": ("malignant",),
    "Not known": ("unknown",),
}

class WorklistFilterBar(QWidget):
    """State, BI-RADS, ground-truth and text filters over a :class:`StudyBrowser`, and
    the counts of unread / in progress / read studies."""

    def __init__(self, browser: StudyBrowser, parent=None) -> None:
        super().__init__(parent)
        self.browser = browser
        self.state = self._combo(STATE_FILTERS, "Reading state")
        self.birads = self._combo(BIRADS_FILTERS, "Reader's overall BI-RADS")
        self.truth = self._combo(TRUTH_FILTERS, "Ground truth where the data gives it (MIAS Info.txt, CBIS-DDSM labels.csv, demo)")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name or ID")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply)
        self.counts = QLabel("")
        self.counts.setObjectName("worklistCounts")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        combos = QHBoxLayout()
        combos.setSpacing(2)
        for combo in (self.state, self.birads, self.truth):
            combos.addWidget(combo, 1)
        layout.addLayout(combos)
        second = QHBoxLayout()
        second.setSpacing(6)
        second.addWidget(self.search, 1)
        second.addWidget(self.counts, 2)
        layout.addLayout(second)
        browser.statesChanged.connect(self.show_counts)

    def _combo(self, choices: dict, tip: str) -> QComboBox:
        combo = QComboBox()
        combo.addItems(list(choices))
        combo.setToolTip(tip)
        combo.setMinimumContentsLength(6)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.currentIndexChanged.connect(self.apply)
        return combo

    def choose(self, *, state: str | None = None, birads: str | None = None, truth: str | None = None) -> None:
        """Pick filter entries by their text (tests, saved layouts)."""
        for combo, text in ((self.state, state), (self.birads, birads), (self.truth, truth)):
            if text is not None:
                index = combo.findText(text)
                if index < 0:
                    raise ValueError(f"no filter entry {text!r}")
                combo.setCurrentIndex(index)

    def apply(self, *_args) -> None:
        self.browser.set_filter(
            states=STATE_FILTERS[self.state.currentText()],
            birads=BIRADS_FILTERS[self.birads.currentText()],
            ground_truth=TRUTH_FILTERS[self.truth.currentText()],
            text=self.search.text(),
        )

    def show_counts(self) -> None:
        browser = self.browser
        if browser.problem:
            self.counts.setText(browser.problem)
            self.counts.setToolTip(browser.problem)
            return
        if browser.worklist is None:
            self.counts.setText("Reading states: loading…" if browser.studies() else "")
            return
        counts = browser.counts()
        shown, total = len(browser.visible_studies()), len(browser.studies())
        text = f"{counts['unread']} unread · {counts['in progress']} in progress · {counts['read']} read"
        if shown != total:
            text += f" — {shown} of {total} shown"
        self.counts.setText(text)
        self.counts.setToolTip("")


class StudyBrowserPanel(QWidget):
    """The Studies dock's widget: the filter bar above the browser."""

    def __init__(self, browser: StudyBrowser, parent=None) -> None:
        super().__init__(parent)
        self.browser = browser
        self.filters = WorklistFilterBar(browser)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.filters)
        layout.addWidget(browser, 1)
