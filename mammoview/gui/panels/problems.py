"""The problems list: every file that could not be opened and every failed job, with why.

A bad file in a batch must never interrupt the reader with a modal dialog; it lands
here, named, with the one-line reason from :class:`~mammoview.core.errors.ImageReadError`.
"""

from __future__ import annotations

from pathlib import PurePath

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem


class ProblemsList(QTreeWidget):
    """Two columns: the file (or job) and the reason.

    Signals
    -------
    countChanged(int)
        Number of problems listed, after each change.
    """

    countChanged = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("problemsList")
        self.setColumnCount(2)
        self.setHeaderLabels(["File", "Problem"])
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._seen: set[tuple[str, str]] = set()

    def add_problem(self, source: str, reason: str) -> None:
        """List one problem; an identical one already listed is not repeated.

        Parameters
        ----------
        source : str
            A file path (shown by name, full path in the tooltip) or a job's name.
        reason : str
            One line saying what is wrong.
        """
        key = (source, reason)
        if key in self._seen:
            return
        self._seen.add(key)
        name = PurePath(source).name or source
        item = QTreeWidgetItem([name, reason])
        item.setToolTip(0, source)
        item.setToolTip(1, reason)
        self.addTopLevelItem(item)
        self.resizeColumnToContents(0)
        self.countChanged.emit(self.topLevelItemCount())

    def add_error(self, error: BaseException, fallback_source: str = "") -> None:
        """List an exception: ImageReadError-like ones by their path and reason."""
        path = getattr(error, "path", None)
        reason = getattr(error, "reason", None)
        if path and reason:
            self.add_problem(str(path), str(reason))
        else:
            self.add_problem(fallback_source or type(error).__name__, str(error) or repr(error))

    def problems(self) -> list[tuple[str, str]]:
        """(file name, reason) for every row, in order."""
        return [
            (self.topLevelItem(i).text(0), self.topLevelItem(i).text(1))
            for i in range(self.topLevelItemCount())
        ]

    def clear_problems(self) -> None:
        self.clear()
        self._seen.clear()
        self.countChanged.emit(0)
