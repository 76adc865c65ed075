"""The "AI (research)" dock: the cascade's answer for the shown image, its breast and study.

Per image: stage 1's p(abnormal), stage 2's p(malignant), the call (Normal / Benign /
Malignant), the 1-10 suspicion score, the ground truth beside it when known, and the
model versions; "not classified: <reason>" for an image the cascade cannot handle. Per
breast and per study: the most suspicious image's result (the cascade's aggregate).
A missing or corrupt model disables the panel with the store's message. The panel holds
only what the window hands it (:meth:`show_result`, :meth:`show_study`): the window
decides what is current, so a result can never be shown beside the wrong image.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mammoview import RESEARCH_NOTICE
from mammoview.report.content import models_text

_SIDES = {"R": "Right breast", "L": "Left breast", "?": "Breast (side unknown)"}


def _pct(value) -> str:
    return "-" if value is None else f"{value:.3f}"


class AiPanel(QWidget):
    """Shows classification results; emits :attr:`cardsRequested` for the model cards.

    Attributes
    ----------
    shown_uid : str or None
        The image whose result the per-image fields show now (None: none shown).
    """

    cardsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shown_uid: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.notice = QLabel(RESEARCH_NOTICE)
        self.notice.setObjectName("aiNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #1b1d20; background: #e0b66a; font-weight: bold; "
                                  "padding: 3px; border-radius: 3px;")
        layout.addWidget(self.notice)
        self.status = QLabel("AI: checking for classifier models…")
        self.status.setObjectName("aiStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #9aa; font-size: 9pt;")
        layout.addWidget(self.status)

        box = QGroupBox("This image")
        form = QFormLayout(box)
        form.setContentsMargins(6, 4, 6, 4)
        self.image_name = QLabel("-")
        self.call = QLabel("-")
        self.call.setObjectName("aiCall")
        self.call.setStyleSheet("font-weight: bold;")
        self.call.setWordWrap(True)
        self.suspicion = QLabel("-")
        self.p_abnormal = QLabel("-")
        self.p_malignant = QLabel("-")
        self.truth = QLabel("-")
        self.truth.setObjectName("aiTruth")
        self.versions = QLabel("-")
        self.versions.setObjectName("aiVersions")
        self.versions.setWordWrap(True)
        self.versions.setStyleSheet("color: #9aa; font-size: 9pt;")
        for title, widget in (("Image", self.image_name), ("Call", self.call),
                              ("Suspicion (1-10)", self.suspicion),
                              ("Stage 1 p(abnormal)", self.p_abnormal),
                              ("Stage 2 p(malignant)", self.p_malignant),
                              ("Ground truth", self.truth), ("Models", self.versions)):
            form.addRow(title, widget)
        layout.addWidget(box)

        self.tree = QTreeWidget()
        self.tree.setObjectName("aiStudyTree")
        self.tree.setHeaderLabels(["Study / breast / image", "Call", "Susp.", "Truth"])
        self.tree.setRootIsDecorated(True)
        self.tree.setMinimumHeight(120)
        # The numbers and the truth always show; the name column takes what is left (and
        # elides), so a narrow dock does not hide the ground truth past a scroll bar.
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree, 1)
        self.cards_button = QPushButton("Model cards…")
        self.cards_button.clicked.connect(self.cardsRequested.emit)
        layout.addWidget(self.cards_button)
        self.setEnabled(True)

    # -- state the window sets -------------------------------------------------------------
    def set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)

    def set_disabled_reason(self, reason: str | None) -> None:
        """Disable the per-image fields with the store's message (None: enable)."""
        if reason:
            self.set_status(f"AI disabled: {reason}")
            self.clear_result(None, "-")
            self.tree.clear()
        for widget in (self.call, self.suspicion, self.p_abnormal, self.p_malignant, self.tree):
            widget.setEnabled(not reason)

    def clear_result(self, uid: str | None, name: str, truth: str | None = None,
                     message: str = "-") -> None:
        """No result (yet) for image ``uid``: the fields say ``message``."""
        self.shown_uid = None
        self.image_name.setText(name)
        self.call.setText(message)
        for label in (self.suspicion, self.p_abnormal, self.p_malignant):
            label.setText("-")
        self.truth.setText(truth or "not known")
        self.versions.setText("-")

    def show_result(self, result, name: str, truth: str | None) -> None:
        """Show one image's :class:`~mammoview.gui.aijobs.Classification`."""
        self.shown_uid = result.uid
        self.image_name.setText(name)
        self.call.setText(result.call())
        self.suspicion.setText("-" if result.suspicion is None else f"{result.suspicion}/10")
        self.p_abnormal.setText(_pct(result.p_abnormal))
        self.p_malignant.setText(_pct(result.p_malignant))
        self.truth.setText(f"ground truth: {truth}" if truth else "not known")
        # The threshold beside the version: the same weights can ship with another one.
        self.versions.setText(models_text(result.versions, result.thresholds, sep="\n"))

    def show_study(self, title: str, rows: list[tuple[str, str, object, str | None]],
                   aggregate=None) -> None:
        """The study tree: rows are (image name, laterality, Classification or a text, truth)."""
        self.tree.clear()
        top = QTreeWidgetItem([title, *self._cells(aggregate.study if aggregate else None, None)])
        self.tree.addTopLevelItem(top)
        sides: dict[str, QTreeWidgetItem] = {}
        for name, side, result, truth in rows:
            side = (side or "?").upper()[:1] or "?"
            if side not in sides:
                breast = aggregate.breasts.get(side) if aggregate else None
                sides[side] = QTreeWidgetItem([_SIDES.get(side, side), *self._cells(breast, None)])
                top.addChild(sides[side])
            sides[side].addChild(QTreeWidgetItem([name, *self._cells(result, truth)]))
        self.tree.expandAll()

    @staticmethod
    def _cells(result, truth) -> list[str]:
        if result is None:
            return ["…", "", truth or ""]
        if isinstance(result, str):
            return [result, "", truth or ""]
        if not result.classified:
            return [result.call(), "", truth or ""]
        return [result.call(), str(result.suspicion), truth or ""]

    # -- reading back (tests, report) ---------------------------------------------------------
    def fields(self) -> dict[str, str]:
        return {"image": self.image_name.text(), "call": self.call.text(),
                "suspicion": self.suspicion.text(), "p_abnormal": self.p_abnormal.text(),
                "p_malignant": self.p_malignant.text(), "truth": self.truth.text(),
                "versions": self.versions.text(), "status": self.status.text()}

    def study_rows(self) -> list[list[str]]:
        out = []

        def walk(item, depth):
            out.append([("  " * depth) + item.text(0)] + [item.text(c) for c in (1, 2, 3)])
            for i in range(item.childCount()):
                walk(item.child(i), depth + 1)

        for i in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(i), 0)
        return out
