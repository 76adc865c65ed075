"""Models > Manage…: the installed models of every task, which one is in use, and
activate / delete / export / import / view card.

The list comes from :mod:`mammoview.nets.registry` (JSON cards only: a few ms). Setting
the active model writes one small JSON file (fsync'ed, so on a worker thread); the window
then recomputes what it shows with the new model (:mod:`mammoview.gui.modelswitch`).
Export copies and re-hashes the weights on a worker thread. Import checks the file fully (the network the card
describes is built and loaded, which needs torch) in the window's process lane, never
in the window's process, then copies it on a worker thread; a refused file is named
with the reason in the dialog's message line.

Research use only, not for diagnosis.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from mammoview import RESEARCH_NOTICE
from mammoview.gui.workers import JobRunner

COLUMNS = ("Version", "In use", "Architecture", "Validation", "Origin", "Created", "Data")
ROLE = Qt.ItemDataRole.UserRole


class ManageModelsDialog(QDialog):
    """Per task, its installed models; buttons act on the selected model (or task).

    Signals
    -------
    finished_work(str)
        An activation, deletion, import or export ended; the argument is the message shown.
    """

    finished_work = Signal(str)
    _registry_changed = Signal()

    def __init__(self, window=None, *, root: Path | None = None) -> None:
        super().__init__(window)
        from mammoview.nets.registry import add_listener
        from mammoview.nets.store import user_models_dir

        self.window = window
        self.root = Path(root) if root is not None else user_models_dir()
        self.runner = JobRunner(self, max_threads=1)
        self.setWindowTitle("Manage models")
        self.resize(980, 460)
        layout = QVBoxLayout(self)
        intro = QLabel("The models MammoView can use, per task. The one in use is marked; "
                       "results on screen follow it. " + RESEARCH_NOTICE)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(lambda *_: self.show_card())
        layout.addWidget(self.tree, 1)
        self.message = QLabel("")
        self.message.setObjectName("manageModelsMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        self.btn_activate = QPushButton("Use this model")
        self.btn_card = QPushButton("View card…")
        self.btn_export = QPushButton("Export…")
        self.btn_delete = QPushButton("Delete…")
        self.btn_import = QPushButton("Import…")
        self.btn_close = QPushButton("Close")
        self.btn_activate.clicked.connect(lambda: self.activate_selected())
        self.btn_card.clicked.connect(lambda: self.show_card())
        self.btn_export.clicked.connect(self._choose_export)
        self.btn_delete.clicked.connect(lambda: self.delete_selected())
        self.btn_import.clicked.connect(self._choose_import)
        self.btn_close.clicked.connect(self.reject)
        for button in (self.btn_activate, self.btn_card, self.btn_export, self.btn_delete):
            row.addWidget(button)
        row.addStretch(1)
        for button in (self.btn_import, self.btn_close):
            row.addWidget(button)
        layout.addLayout(row)
        self._registry_changed.connect(self.refresh)
        add_listener(self._on_registry)  # held weakly
        self.refresh()

    # ------------------------------------------------------------------ the list
    def _on_registry(self, _event) -> None:
        try:
            self._registry_changed.emit()  # queued when it comes from a worker thread
        except RuntimeError:  # the dialog is gone
            pass

    def refresh(self) -> None:
        """Re-read the installed models, keeping the selection when it still exists."""
        from mammoview.nets.registry import TASK_TITLES, TASKS, list_models

        selected = self.selected()
        keep = (selected.task, selected.version) if selected is not None else None
        task_keep = self.selected_task()
        models = list_models(root=self.root)
        self.tree.clear()
        bold = QFont()
        bold.setBold(True)
        self.task_items: dict[str, QTreeWidgetItem] = {}
        for task in TASKS:
            group = QTreeWidgetItem([f"{TASK_TITLES.get(task, task)}: {task}"])
            group.setData(0, ROLE, ("task", task))
            self.tree.addTopLevelItem(group)
            group.setFirstColumnSpanned(True)
            self.task_items[task] = group
            mine = [m for m in models if m.task == task]
            if not mine:
                empty = QTreeWidgetItem(["no model installed"])
                empty.setData(0, ROLE, ("task", task))
                group.addChild(empty)
            for model in mine:
                item = QTreeWidgetItem(self._row(model))
                item.setData(0, ROLE, ("model", model))
                if model.active:
                    for col in range(len(COLUMNS)):
                        item.setFont(col, bold)
                if model.problem:
                    item.setToolTip(0, model.problem)
                group.addChild(item)
                if keep == (model.task, model.version):
                    item.setSelected(True)
            group.setExpanded(True)
        if keep is None and task_keep is not None:
            self.task_items[task_keep].setSelected(True)
        self._update_buttons()

    @staticmethod
    def _row(model) -> list[str]:
        if model.card is None:
            return [model.version, "", "?", f"unusable: {model.problem}", model.origin, "", ""]
        return [model.version, "● in use" if model.active else "", model.architecture,
                model.headline or "-", model.origin, (model.card.created or "-").replace("T", " "),
                model.data or "-"]

    def rows(self) -> list[tuple[str, ...]]:
        """(task, version, in use, origin) of every listed model (tests, screenshots)."""
        out = []
        for task, group in self.task_items.items():
            for i in range(group.childCount()):
                kind, value = group.child(i).data(0, ROLE)
                if kind == "model":
                    out.append((task, value.version, "yes" if value.active else "", value.origin))
        return out

    def select(self, task: str, version: str | None = None) -> None:
        """Select a task's row, or one of its models (tests; keyboard users use the tree)."""
        group = self.task_items[task]
        self.tree.clearSelection()
        target = group
        for i in range(group.childCount()):
            kind, value = group.child(i).data(0, ROLE)
            if kind == "model" and version is not None and value.version.startswith(version):
                target = group.child(i)
        target.setSelected(True)
        self.tree.setCurrentItem(target)

    def selected(self):
        """The selected InstalledModel, or None."""
        items = self.tree.selectedItems()
        if not items:
            return None
        kind, value = items[0].data(0, ROLE)
        return value if kind == "model" else None

    def selected_task(self) -> str | None:
        items = self.tree.selectedItems()
        if not items:
            return None
        kind, value = items[0].data(0, ROLE)
        return value.task if kind == "model" else value

    def _update_buttons(self) -> None:
        model = self.selected()
        usable = model is not None and model.card is not None
        self.btn_activate.setEnabled(usable and not model.active)
        self.btn_card.setEnabled(usable)
        self.btn_export.setEnabled(usable)
        self.btn_delete.setEnabled(model is not None and model.origin == "user")
        task = self.selected_task()
        self.btn_import.setEnabled(task is not None)
        self.btn_import.setText(f"Import into {task}…" if task else "Import…")

    def say(self, text: str) -> None:
        self.message.setText(text)

    # ------------------------------------------------------------------ actions
    def activate_selected(self) -> bool:
        """Make the selected model the one its task uses, on a worker (``active.json`` is
        fsync'ed); the window then recomputes. False when nothing usable is selected."""
        from mammoview.nets.registry import set_active

        model = self.selected()
        if model is None or model.card is None:
            return False
        root = self.root
        self.say(f"{model.task}: switching to model {model.version}…")
        self.runner.submit(
            lambda ctx: set_active(model.task, model.version, root=root),
            name="activate model", channels=("models",),
            on_done=lambda m: self._done(f"{m.task}: now using model {m.version}."),
            on_error=lambda f: self._done(f"Could not switch: {f.message}"))
        return True

    def delete_selected(self, *, ask: bool = True) -> bool:
        """Delete the selected user model (asks first) on a worker; the active one falls
        back to the shipped model. False when nothing was deleted."""
        from mammoview.nets.registry import delete_model

        model = self.selected()
        if model is None or model.origin != "user":
            return False
        if ask:
            extra = ("\nIt is in use: the shipped model takes over." if model.active else "")
            answer = QMessageBox.question(
                self, "Delete model", f"Delete the {model.task} model {model.version}?{extra}")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        root = self.root
        self.runner.submit(
            lambda ctx: delete_model(model.task, model.version, root=root),
            name="delete model", channels=("models",),
            on_done=lambda _: self._done(f"Deleted the {model.task} model {model.version}."),
            on_error=lambda f: self._done(f"Could not delete: {f.message}"))
        return True

    def show_card(self):
        """The selected model's card (the Model cards dialog, one tab)."""
        from mammoview.gui.dialogs.model_cards import ModelCardsDialog

        model = self.selected()
        if model is None or model.card is None:
            return None
        card = dataclasses.asdict(model.card)
        card["path"] = str(model.weights)
        card["origin"] = model.origin
        dialog = ModelCardsDialog([card], self)
        dialog.setWindowTitle(f"Model card: {model.task} {model.version}")
        dialog.open()
        return dialog

    def _choose_export(self) -> None:
        if self.selected() is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export the model to a folder", str(Path.home()))
        if folder:
            self.export_to(folder)

    def export_to(self, folder: str | Path) -> None:
        """Copy the selected model (weights + card) into ``folder``, on a worker."""
        from mammoview.nets.registry import export_model

        model = self.selected()
        if model is None:
            return
        root = self.root
        self.say(f"Exporting {model.task} {model.version}…")
        self.runner.submit(
            lambda ctx: export_model(model.task, model.version, folder, root=root),
            name="export model", channels=("models",),
            on_done=lambda path: self._done(f"Exported to {path} (and its .json card)."),
            on_error=lambda f: self._done(f"Export failed: {f.message}"))

    def _choose_import(self) -> None:
        task = self.selected_task()
        if task is None:
            return
        path, _ = QFileDialog.getOpenFileName(
            self, f"Import a {task} model", str(Path.home()),
            "MammoView models (*.safetensors *.json)")
        if path:
            self.import_file(path, task)

    def import_file(self, path: str | Path, task: str | None = None, *, activate: bool = False) -> None:
        """Check ``path`` in the process lane, then install it (worker); refusals are
        shown with the file and the reason."""
        task = task or self.selected_task()
        lane = getattr(self.window, "compute_lane", None)
        root = self.root
        self.say(f"Checking {Path(path).name}…")

        def job(ctx):
            from mammoview.gui.isolation import LaneUnavailable
            from mammoview.nets.registry import check_for_install, install_model

            verdict = None
            if lane is not None and lane.available:
                try:
                    verdict = lane.call(check_for_install, str(path), task, cancel=ctx.token)
                except LaneUnavailable:
                    verdict = None
            if verdict is None:  # no processes here: check in this worker thread
                verdict = check_for_install(str(path), task)
            if "error" in verdict:
                return verdict["error"]
            ctx.check()
            model = install_model(path, expected_task=task, activate=activate, root=root, checked=True)
            return (f"Installed {model.task} model {model.version}"
                    + (" and made it the one in use." if model.active else
                       " (not in use: select it and press 'Use this model')."))

        self.runner.submit(job, name="import model", channels=("models",),
                           on_done=self._imported,
                           on_error=lambda f: self._done(f"Import refused: {f.message}"))

    def _imported(self, text: str) -> None:
        if not text.startswith("Installed"):
            text = f"Import refused: {text}"
        self._done(text)

    def _done(self, text: str) -> None:
        self.say(text)
        self.refresh()
        self.finished_work.emit(text)

    def done(self, result: int) -> None:  # noqa: D401 (Qt's name)
        self.runner.cancel_all()
        super().done(result)

