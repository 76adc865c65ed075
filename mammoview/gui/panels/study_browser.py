"""The study browser: one row per study, its images underneath.

Study rows show the patient, date, views, the ground-truth class where the source gives
one, and a SYNTHETIC marker for demo data so that a phantom is never mistaken for a
patient. Selecting a row asks the window to show that image; the browser holds no state
of its own beyond the rows it displays.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem

from mammoview.core.image import ImageRef
from mammoview.core.study import Study

COLUMNS = ("Study / image", "Patient", "Date", "Views", "Ground truth")
_ROLE = Qt.ItemDataRole.UserRole
_GT_COLORS = {"malignant": "#d98c7a", "benign": "#d9c27a", "normal": "#8fb58f"}


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


class StudyBrowser(QTreeWidget):
    """Tree of studies and images.

    Signals
    -------
    imageActivated(int, int)
        (study index, image index) the user selected; a study row selects its first image.
    """

    imageActivated = Signal(int, int)

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
        self.currentItemChanged.connect(self._on_current_changed)
        self._studies: list[Study] = []
        self._silent = False

    # -- content ---------------------------------------------------------------------
    def set_studies(self, studies: list[Study]) -> None:
        self._silent = True
        try:
            self.clear()
            self._studies = []
        finally:
            self._silent = False
        self.add_studies(studies)

    def add_studies(self, studies: list[Study]) -> None:
        self._silent = True
        try:
            for study in studies:
                index = len(self._studies)
                self._studies.append(study)
                self.addTopLevelItem(self._study_item(study, index))
        finally:
            self._silent = False
        for col in range(1, len(COLUMNS)):
            self.resizeColumnToContents(col)
        self.resizeColumnToContents(0)

    def studies(self) -> list[Study]:
        return list(self._studies)

    def row_texts(self) -> list[str]:
        """First-column text of every study row (for tests and accessibility)."""
        return [self.topLevelItem(i).text(0) for i in range(self.topLevelItemCount())]

    def _study_item(self, study: Study, index: int) -> QTreeWidgetItem:
        gt = study.ground_truth or ""
        patient = study.patient_id or study.patient_name or ""
        item = QTreeWidgetItem(
            [study_title(study), patient, format_date(study.date), " ".join(study.views), gt]
        )
        item.setData(0, _ROLE, (index, -1))
        bold = QFont()
        bold.setBold(True)
        item.setFont(0, bold)
        if study.synthetic:
            item.setForeground(0, QBrush(QColor("#e0b66a")))
            item.setToolTip(0, "Synthetic demo data: not a patient")
        if gt in _GT_COLORS:
            item.setForeground(4, QBrush(QColor(_GT_COLORS[gt])))
        for j, ref in enumerate(study.images):
            child = QTreeWidgetItem(
                [image_title(ref), "", "", ref.slot or ref.view or "", ref.ground_truth or ""]
            )
            child.setData(0, _ROLE, (index, j))
            child.setToolTip(0, ref.path)
            if ref.ground_truth in _GT_COLORS:
                child.setForeground(4, QBrush(QColor(_GT_COLORS[ref.ground_truth])))
            item.addChild(child)
        item.setExpanded(True)
        return item

    # -- selection ---------------------------------------------------------------------
    def select_image(self, study_index: int, image_index: int) -> None:
        """Highlight a row without emitting :attr:`imageActivated` (the window drives)."""
        top = self.topLevelItem(study_index)
        if top is None:
            return
        item = top.child(image_index) if 0 <= image_index < top.childCount() else top
        self._silent = True
        try:
            self.setCurrentItem(item)
            self.scrollToItem(item)
        finally:
            self._silent = False

    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous) -> None:
        if self._silent or current is None:
            return
        study_index, image_index = current.data(0, _ROLE)
        self.imageActivated.emit(study_index, max(0, image_index))
