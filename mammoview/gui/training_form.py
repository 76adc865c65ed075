"""The training dialog's left side: what to train, on what, from where, and how.

:class:`SetupForm` binds the widgets to a :class:`~mammoview.gui.trainjobs.TrainRequest`
(it never holds state of its own beyond the widgets); the choices that depend on torch
(architectures, devices, ImageNet files, the model in use) come from the child process's
probe through :meth:`SetupForm.set_probe`. :class:`PlanView` shows what the run will use:
images per class and per split, the patients, what is left out, and a refusal in red.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mammoview.gui.trainjobs import AUGMENTATIONS, TASK_TITLES, TrainRequest, studies_payload

MUTED = "color: #8a9099;"
WARN = "color: #e0b66a;"
ERROR = "color: #e57373;"
CLASSIFIERS = ("classifier-stage1", "classifier-stage2")
SCALES = (0.25, 0.5, 1.0)


def _muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(MUTED)
    return label


class _PathRow(QWidget):
    """A path field with a Browse… button (a folder or a CSV file)."""

    edited = Signal()

    def __init__(self, placeholder: str, pick: Callable[[QWidget], str]) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(18, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        self.browse = QPushButton("Browse…")
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)
        self.edit.textChanged.connect(self.edited)
        self.browse.clicked.connect(lambda: self._pick(pick))

    def _pick(self, pick) -> None:
        path = pick(self)
        if path:
            self.edit.setText(path)

    @property
    def text(self) -> str:
        return self.edit.text().strip()


def _pick_folder(parent) -> str:
    return QFileDialog.getExistingDirectory(parent, "MIAS folder (images and Info.txt)")


def _pick_csv(parent) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Labels CSV", "", "Labels CSV (*.csv);;All files (*)")
    return path


class SetupForm(QWidget):
    """Task, data, start, architecture, epochs, batch, learning rate, augmentations, device.

    Signals
    -------
    changed()
        Something that changes the run's data or split (re-plan).
    """

    changed = Signal()

    def __init__(self, studies: Callable[[], list] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._studies = studies or (lambda: [])
        self.probe: dict[str, Any] | None = None
        self._filling = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_task())
        layout.addWidget(self._build_data())
        layout.addWidget(self._build_start())
        layout.addWidget(self._build_settings())
        layout.addStretch(1)
        self.task_combo.currentIndexChanged.connect(self._on_task)
        self._set_waiting()

    # ---------------------------------------------------------------- construction
    def _build_task(self) -> QGroupBox:
        box = QGroupBox("What to train")
        lay = QVBoxLayout(box)
        self.task_combo = QComboBox()
        self.task_combo.setObjectName("trainTask")
        for task, title in TASK_TITLES.items():
            self.task_combo.addItem(title, task)
        lay.addWidget(self.task_combo)
        self.active_label = _muted("Model in use: checking…")
        self.active_label.setObjectName("trainActiveModel")
        lay.addWidget(self.active_label)
        return box

    def _build_data(self) -> QGroupBox:
        box = QGroupBox("Data")
        lay = QVBoxLayout(box)
        lay.setSpacing(3)
        self.data_group = QButtonGroup(self)
        self.radio_mias = QRadioButton("MIAS folder (images with Info.txt)")
        self.mias_row = _PathRow("folder with mdbNNN images and Info.txt", _pick_folder)
        self.radio_csv = QRadioButton("Images with a labels CSV (image, mask, patient, class)")
        self.csv_row = _PathRow("labels.csv (paths relative to its folder)", _pick_csv)
        self.radio_studies = QRadioButton("Studies open in the browser that have ground truth")
        self.studies_label = _muted()
        self.studies_label.setContentsMargins(18, 0, 0, 0)
        for n, (radio, row) in enumerate(((self.radio_mias, self.mias_row), (self.radio_csv, self.csv_row),
                                          (self.radio_studies, self.studies_label))):
            self.data_group.addButton(radio, n)
            lay.addWidget(radio)
            lay.addWidget(row)
        self.radio_mias.setChecked(True)
        self.data_group.idToggled.connect(lambda *_: self._data_kind_changed())
        self.mias_row.edited.connect(self._emit)
        self.csv_row.edited.connect(self._emit)
        return box

    def _build_start(self) -> QGroupBox:
        box = QGroupBox("Start from")
        lay = QVBoxLayout(box)
        lay.setSpacing(3)
        self.start_group = QButtonGroup(self)
        self.radio_finetune = QRadioButton("Fine-tune the model in use")
        self.radio_scratch = QRadioButton("Scratch (random weights, seeded)")
        self.radio_imagenet = QRadioButton("ImageNet weights")
        self.imagenet_note = _muted()
        self.imagenet_note.setContentsMargins(18, 0, 0, 0)
        for n, radio in enumerate((self.radio_finetune, self.radio_scratch, self.radio_imagenet)):
            self.start_group.addButton(radio, n)
            lay.addWidget(radio)
        lay.addWidget(self.imagenet_note)
        self.radio_scratch.setChecked(True)
        self.start_group.idToggled.connect(lambda _id, on: on and self._start_changed())
        return box

    def _build_settings(self) -> QGroupBox:
        box = QGroupBox("Training")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(10)
        self.arch_combo = QComboBox()
        self.arch_combo.setObjectName("trainArch")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.batch = QSpinBox()
        self.batch.setRange(1, 1024)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(0.00001, 1.0)
        self.lr.setSingleStep(0.0001)
        self.device_combo = QComboBox()
        self.device_combo.setObjectName("trainDevice")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.val_share = QSpinBox()
        self.val_share.setRange(0, 90)
        self.val_share.setSuffix(" % of patients")
        self.val_share.setValue(20)
        self.patch = QSpinBox()
        self.patch.setRange(16, 512)
        self.patch.setSuffix(" px")
        self.scale = QComboBox()
        for s in SCALES:
            self.scale.addItem(f"x{s:g}", s)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(64, 2048)
        self.size_spin.setSuffix(" px")
        self.arch_note = _muted()
        self.arch_note.setObjectName("trainArchNote")
        form = QFormLayout()
        form.setHorizontalSpacing(8)  # the style's default let "Learning rate" touch its field
        form.addRow("Architecture", self.arch_combo)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.lr)
        form2 = QFormLayout()
        form2.setHorizontalSpacing(8)
        form2.addRow("Seed", self.seed)
        form2.addRow("Validation", self.val_share)
        self.patch_label, self.scale_label, self.size_label = QLabel("Patch"), QLabel("Image scale"), QLabel("Working size")
        form2.addRow(self.patch_label, self.patch)
        form2.addRow(self.scale_label, self.scale)
        form2.addRow(self.size_label, self.size_spin)
        grid.addLayout(form, 0, 0)
        grid.addLayout(form2, 0, 1)
        grid.addWidget(self.arch_note, 3, 0, 1, 2)
        aug = QHBoxLayout()
        aug.addWidget(QLabel("Augment"))
        self.aug_boxes = {}
        for name in AUGMENTATIONS:
            check = QCheckBox(name)
            self.aug_boxes[name] = check
            aug.addWidget(check)
        aug.addStretch(1)
        grid.addLayout(aug, 1, 0, 1, 2)
        device = QHBoxLayout()
        device.addWidget(QLabel("Device"))
        device.addWidget(self.device_combo, 1)
        grid.addLayout(device, 2, 0, 1, 2)
        for widget in (self.seed, self.val_share):
            widget.valueChanged.connect(self._emit)
        for widget in (self.patch, self.size_spin):
            widget.valueChanged.connect(self._emit)
        self.scale.currentIndexChanged.connect(self._emit)
        self.arch_combo.currentIndexChanged.connect(lambda *_: (self._show_imagenet(), self._emit()))
        return box

    # ---------------------------------------------------------------- probe
    def _set_waiting(self) -> None:
        for w in (self.arch_combo, self.device_combo, self.radio_finetune, self.radio_imagenet):
            w.setEnabled(False)
        self.imagenet_note.setText("checking the local torch cache…")

    def set_probe(self, info: dict[str, Any]) -> None:
        """Fill what the child process found: devices, architectures, models, ImageNet.

        The first probe also sets the task's defaults; a later one (the dialog shown
        again, a model activated) keeps what the user set."""
        first = self.probe is None
        self.probe = info
        keep = self.device_combo.currentData()
        self.device_combo.clear()
        gpu = ", ".join(info.get("cuda") or []) or ("Apple MPS" if info.get("mps") else "")
        self.device_combo.addItem(f"Automatic ({gpu or 'CPU: no GPU found'})", "auto")
        n = info.get("threads", 1)
        self.device_combo.addItem(f"CPU ({n} thread{'s' if n != 1 else ''}: one core stays with the window)", "cpu")
        if info.get("cuda"):
            self.device_combo.addItem(f"CUDA: {info['cuda'][0]}", "cuda")
        if info.get("mps"):
            self.device_combo.addItem("Apple MPS", "mps")
        self.device_combo.setEnabled(True)
        index = self.device_combo.findData(keep)
        self.device_combo.setCurrentIndex(max(0, index))
        self._on_task(reset=first)

    def task_info(self) -> dict[str, Any]:
        return (self.probe or {}).get("tasks", {}).get(self.task, {})

    @property
    def task(self) -> str:
        return self.task_combo.currentData()

    @property
    def active(self) -> dict[str, Any] | None:
        info = self.task_info().get("active")
        return info if info and not info.get("error") else None

    def _on_task(self, *_args, reset: bool = True) -> None:
        """A task's architectures, model in use and ImageNet availability; with ``reset``
        also its default settings."""
        info = self.task_info()
        self._filling = True
        try:
            keep = self.arch_combo.currentData()
            self.arch_combo.clear()
            notes = info.get("arch_notes", {})
            for arch in info.get("archs", []):
                self.arch_combo.addItem(arch, arch)
                if arch in notes:
                    self.arch_combo.setItemData(self.arch_combo.count() - 1, notes[arch]["label"],
                                                Qt.ItemDataRole.ToolTipRole)
            chosen = info.get("default_arch") if reset or self.arch_combo.findData(keep) < 0 else keep
            self.arch_combo.setCurrentIndex(max(0, self.arch_combo.findData(chosen)))
            self.arch_combo.setEnabled(bool(info))
            if reset:
                self._set_defaults(info.get("defaults", {}))
            self._show_active(info)
            self._show_sizes()
            self.radio_finetune.setEnabled(self.active is not None and bool(self.active.get("preset")))
            if self.radio_finetune.isChecked() and not self.radio_finetune.isEnabled():
                self.radio_scratch.setChecked(True)
            self._start_changed()
        finally:
            self._filling = False
        self._emit()

    def _set_defaults(self, d: dict[str, Any]) -> None:
        if not d:
            return
        self.epochs.setValue(int(d.get("epochs", 1)))
        self.batch.setValue(int(d.get("batch_size", 16)))
        self.lr.setValue(float(d.get("lr", 1e-3)))
        for name, box in self.aug_boxes.items():
            box.setChecked(name in (d.get("augment") or ()))
        if "patch" in d:
            self.patch.setValue(int(d["patch"]))
        if "size" in d:
            self.size_spin.setValue(int(d["size"]))
        if "scale" in d:
            self.scale.setCurrentIndex(max(0, self.scale.findData(float(d["scale"]))))

    def _show_active(self, info: dict[str, Any]) -> None:
        active = info.get("active")
        if not info:
            self.active_label.setText("Model in use: checking…")
        elif active is None:
            self.active_label.setText("Model in use: none installed (fine-tuning is not possible)")
        elif active.get("error"):
            self.active_label.setText(f"Model in use: unusable ({active['error']})")
        else:
            metric = f", {active['metrics']}" if active.get("metrics") else ""
            self.active_label.setText(f"Model in use: {active.get('preset') or active.get('architecture')}, "
                                      f"version {active.get('version')}{metric}")
        self.active_label.setToolTip(active.get("path", "") if active else "")

    def _show_sizes(self) -> None:
        task = self.task
        classifier = task in CLASSIFIERS
        for w in (self.patch, self.patch_label):
            w.setVisible(classifier or task == "superres")
        for w in (self.scale, self.scale_label):
            w.setVisible(classifier)
        for w in (self.size_spin, self.size_label):
            w.setVisible(task == "segmentation")

    def _start_changed(self) -> None:
        """Fine-tuning trains the model's own architecture on its own input sizes."""
        info = self.task_info()
        finetune = self.radio_finetune.isChecked() and self.active is not None
        if finetune:
            self._take_model_settings(self.active)
        self.arch_combo.setEnabled(bool(info) and not finetune)
        for w in (self.patch, self.scale, self.size_spin):
            w.setEnabled(not finetune)
        self._show_imagenet()
        self._emit()

    def _show_imagenet(self) -> None:
        """Whether ImageNet weights for the chosen architecture are in the local torch cache;
        and what the architecture is."""
        info = self.task_info()
        arch = self.arch_combo.currentData()
        note = info.get("arch_notes", {}).get(arch)
        self.arch_note.setText("" if note is None else
                               note["label"].split(" - ", 1)[-1] + (f"; paper: {note['paper']}" if note["paper"] else "")
                               + (f"; patches of at least {note['min_input']} px" if note["min_input"] > 1 else ""))
        self.arch_note.setVisible(note is not None)
        files = info.get("imagenet", {})
        name = info.get("imagenet_names", {}).get(arch)
        cached = files.get(arch)
        if not info:
            note = "checking the local torch cache…"
        elif name is None:
            note = f"no ImageNet weights exist for {arch or 'this network'}"
        elif cached:
            note = f"{Path(cached).name} found in the local torch cache ({Path(cached).parent})"
        else:
            note = (f"{name}: not in the local torch cache ({(self.probe or {}).get('imagenet_cache', '')}); "
                    "nothing is downloaded")
        self.imagenet_note.setText(note)
        self.radio_imagenet.setEnabled(bool(cached))
        if self.radio_imagenet.isChecked() and not cached:
            self.radio_scratch.setChecked(True)

    def _take_model_settings(self, active: dict[str, Any]) -> None:
        index = self.arch_combo.findData(active.get("preset"))
        if index >= 0:
            self.arch_combo.setCurrentIndex(index)
        prep = active.get("preprocessing") or {}
        if self.task in CLASSIFIERS:
            if prep.get("patch"):
                self.patch.setValue(int(prep["patch"]))
            if prep.get("scale"):
                i = self.scale.findData(float(prep["scale"]))
                if i < 0:
                    self.scale.addItem(f"x{float(prep['scale']):g}", float(prep["scale"]))
                    i = self.scale.count() - 1
                self.scale.setCurrentIndex(i)
        elif self.task == "segmentation" and prep.get("working_size"):
            self.size_spin.setValue(int(prep["working_size"]))
        elif self.task == "superres" and prep.get("patch_hr"):
            self.patch.setValue(int(prep["patch_hr"]))

    def _data_kind_changed(self) -> None:
        self.mias_row.setEnabled(self.radio_mias.isChecked())
        self.csv_row.setEnabled(self.radio_csv.isChecked())
        self.refresh_studies()
        self._emit()

    def refresh_studies(self) -> None:
        rows, skipped = self.studies_rows()
        extra = "; ".join(f"{n} {why}" for why, n in skipped.items())
        text = f"{len(rows)} image(s) with ground truth" + (f" ({extra} left out)" if extra else "")
        self.studies_label.setText(text if rows or skipped else "no study is open")
        self.radio_studies.setEnabled(bool(rows) or self.radio_studies.isChecked())

    def studies_rows(self) -> tuple[list[dict], dict[str, int]]:
        return studies_payload(self._studies())

    def _emit(self, *_args) -> None:
        if not self._filling:
            self.changed.emit()

    # ---------------------------------------------------------------- the request
    @property
    def data_kind(self) -> str:
        return {0: "mias", 1: "csv", 2: "studies"}[self.data_group.checkedId()]

    @property
    def start(self) -> str:
        return {0: "finetune", 1: "scratch", 2: "imagenet"}[self.start_group.checkedId()]

    def request(self) -> TrainRequest:
        """What the widgets say, as a request (data of "studies" is filled by the plan)."""
        kind = self.data_kind
        data = {"mias": self.mias_row.text, "csv": self.csv_row.text, "studies": ""}[kind]
        extra: dict[str, Any] = {}
        if self.task in CLASSIFIERS:
            extra.update(patch=self.patch.value(), scale=float(self.scale.currentData()))
        elif self.task == "superres":
            extra["patch"] = self.patch.value()
        else:
            extra["size"] = self.size_spin.value()
        active = self.active
        if self.start == "finetune" and active and self.task in CLASSIFIERS:
            # The model's own input: the same enhancement, stride and top-k as it was trained with.
            prep = active.get("preprocessing") or {}
            extra.update({k: prep[k] for k in ("stride", "enhance", "topk") if k in prep})
        return TrainRequest(
            task=self.task, data=data, data_kind=kind, epochs=self.epochs.value(),
            arch=self.arch_combo.currentData() or "", batch_size=self.batch.value(), lr=self.lr.value(),
            augment=[n for n, b in self.aug_boxes.items() if b.isChecked()],
            device=self.device_combo.currentData() or "auto", seed=self.seed.value(),
            val_fraction=self.val_share.value() / 100.0, start=self.start,
            init_from=active["path"] if self.start == "finetune" and active else None,
            compare_with=active["path"] if active else None, extra=extra)

    def set_request(self, req: TrainRequest) -> None:
        """Show a stored run's request (a run to resume)."""
        self._filling = True
        try:
            self.task_combo.setCurrentIndex(max(0, self.task_combo.findData(req.task)))
            {"mias": self.radio_mias, "csv": self.radio_csv, "studies": self.radio_studies}[req.data_kind].setChecked(True)
            (self.csv_row if req.data_kind == "csv" else self.mias_row).edit.setText(
                req.data if req.data_kind != "studies" else "")
            {"finetune": self.radio_finetune, "scratch": self.radio_scratch,
             "imagenet": self.radio_imagenet}[req.start].setChecked(True)
            if self.arch_combo.findData(req.arch) < 0:
                self.arch_combo.addItem(req.arch, req.arch)
            self.arch_combo.setCurrentIndex(self.arch_combo.findData(req.arch))
            self.epochs.setValue(req.epochs)
            self.batch.setValue(req.batch_size)
            self.lr.setValue(req.lr)
            for name, box in self.aug_boxes.items():
                box.setChecked(name in req.augment)
            self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(req.device)))
            self.seed.setValue(req.seed)
            self.val_share.setValue(int(round(req.val_fraction * 100)))
            if "patch" in req.extra:
                self.patch.setValue(int(req.extra["patch"]))
            if "size" in req.extra:
                self.size_spin.setValue(int(req.extra["size"]))
        finally:
            self._filling = False

    def set_locked(self, locked: bool) -> None:
        """No edits while a run goes on (or while a stored run is shown for resuming)."""
        for child in self.findChildren(QGroupBox):
            child.setEnabled(not locked)


class PlanView(QGroupBox):
    """Images per class and split, patients, left-out images; or why the run is refused."""

    COLUMNS = ("", "Training", "Validation", "Total")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("What the run will use", parent)
        lay = QVBoxLayout(self)
        self.status = QLabel("Choose the data.")
        self.status.setObjectName("trainPlanStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("trainPlanTable")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.details = _muted()
        self.details.setObjectName("trainPlanDetails")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.status)
        lay.addWidget(self.table)
        lay.addWidget(self.details)
        self.plan: dict[str, Any] | None = None
        self.refusal: str | None = None
        self.table.hide()

    def show_checking(self) -> None:
        self.status.setStyleSheet(MUTED)
        self.status.setText("Checking the data…")

    def show_message(self, text: str) -> None:
        self.plan, self.refusal = None, None
        self.status.setStyleSheet(MUTED)
        self.status.setText(text)
        self.table.hide()
        self.details.setText("")

    def show_refused(self, message: str) -> None:
        """A refusal (the engine's own message: bad CSV rows listed, counts)."""
        self.plan, self.refusal = None, message
        self.status.setStyleSheet(ERROR)
        self.status.setText(f"Refused: {message}")
        self.table.hide()
        self.details.setText("")

    def show_plan(self, plan: dict[str, Any]) -> None:
        self.plan, self.refusal = plan, None
        rows = [(c, plan["counts"][c]) for c in plan["classes"]]
        rows += [(f"not used: {why}", n) for why, n in plan.get("unused", {}).items()]
        rows.append(("patients", plan["patients"]))
        self.table.setRowCount(len(rows))
        for r, (name, counts) in enumerate(rows):
            values = [name, counts.get("train", 0), counts.get("val", 0), counts.get("train", 0) + counts.get("val", 0)]
            for c, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
        # As tall as its rows: the counts are the point, never behind a scroll bar.
        height = self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
        self.table.setFixedHeight(height + sum(self.table.rowHeight(r) for r in range(len(rows))))
        self.table.show()
        warnings = plan.get("warnings", [])
        self.status.setStyleSheet(WARN if warnings else "")
        used = sum(sum(v.values()) for v in plan["counts"].values())
        self.status.setText(f"Ready: {used} images, split by patient (both breasts of a patient on one side)."
                            + "".join(f"\nNote: {w}" for w in warnings))
        self.details.setText(self._details(plan))
        self.details.setToolTip("\n".join(f"{why}: {', '.join(ids)}" for why, ids in plan.get("left_out", {}).items()))

    @staticmethod
    def _details(plan: dict[str, Any]) -> str:
        val = plan.get("val_patients", [])
        shown = ", ".join(map(str, val[:6])) + (f" and {len(val) - 6} more" if len(val) > 6 else "")
        parts = [f"Validation patients: {shown}" if val else "No validation patients."]
        for why, ids in plan.get("left_out", {}).items():
            parts.append(f"Left out: {len(ids)} ({why})")
        return "\n".join(parts)

    def cell(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return item.text() if item is not None else ""

    def rows(self) -> list[list[str]]:
        return [[self.cell(r, c) for c in range(self.table.columnCount())] for r in range(self.table.rowCount())]
