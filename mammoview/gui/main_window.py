"""The main window: study browser, image area, enhancement side panel and problems list.

The window owns no image truth of its own: studies come from discovery, pixels from the
loader, views from :func:`mammoview.enhance.views.compute_view`. It only decides *what*
to show and asks :mod:`mammoview.gui.workers` to compute it off the UI thread. Every
result is keyed ``(image uid, view name, params)`` in a byte-bounded cache and dropped on
arrival when the image or the parameters it was computed for are no longer the ones shown.

The UI thread never touches pixels: a loading job returns a
:class:`~mammoview.gui.viewer.prepare.PreparedImage` (decoded, value range, drawable
reductions, chest-wall side) and a view job an enhanced view with its
:class:`~mammoview.gui.viewer.prepare.PreparedContent`, both cached as they are, so
showing them only hands arrays to pyqtgraph. DICOM files are decoded in a separate
process (:mod:`mammoview.gui.isolation`): their JPEG 2000 decoders hold the GIL.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from mammoview.core.image import Image, ImageRef
from mammoview.core.progress import Progress
from mammoview.core.study import SLOT_ORDER, Study
from mammoview.gui.cache import ViewCache
from mammoview.gui.dialogs.about import RUO_NOTICE, AboutDialog
from mammoview.gui.dialogs.export_report import ReportExport
from mammoview.gui.dialogs.shortcuts import ShortcutsDialog
from mammoview.gui.aicontrol import AiController
from mammoview.gui.readingcontrol import ReadingController
from mammoview.gui.modelswitch import ModelSwitch
from mammoview.gui.aijobs import AI_LAYERS, ALL_LAYERS
from mammoview.gui.overlayjobs import LAYERS, PARAMS_VERSION, MaskDisplay, run_layer, unet_status
from mammoview.gui.panels.enhancement import PANELS, EnhancementPanel
from mammoview.gui.panels.layers import DEFAULT_STYLES, LayersPanel
from mammoview.gui.panels.problems import ProblemsList
from mammoview.gui.panels.study_browser import StudyBrowser, StudyBrowserPanel, format_date, study_title
from mammoview.gui.settings import AppSettings
from mammoview.gui.isolation import LaneUnavailable, decode_lane, shared_lane
from mammoview.gui.viewer import ViewContent, ViewerArea
from mammoview.gui.viewer.hanging import image_warnings
from mammoview.gui.viewer.prepare import (
    PreparedContent,
    PreparedImage,
    blank_content,
    load_prepared,
    prepare_content,
    prepare_image,
)
from mammoview.gui.viewjobs import (
    ViewMeta,
    compute_prepared,
    metrics_caption,
    run_view,
    short_label,
    strip_float,
)
from mammoview.gui.workers import JobFailure, JobRunner
from mammoview.gui.worklistcontrol import WorklistController

log = logging.getLogger(__name__)

DEBOUNCE_MS = 250
VIEW_CACHE_BYTES = 512 * 1024 * 1024
IMAGE_CACHE_BYTES = 512 * 1024 * 1024
# Layer masks are uint8 codes of at most 2048 pixels a side (4 MB): 64 MB keeps the five
# layers of the four views of a full-field hanging.
OVERLAY_CACHE_BYTES = 64 * 1024 * 1024
# The report's view pictures are rendered at this many times the panels' screen pixels:
# side-by-side panels are narrow, and a plain grab was soft with crowded labels in the PDF.
REPORT_GRAB_SCALE = 3
ENHANCED = ("wavelet", "clahe", "superres")


@dataclass(frozen=True)
class _Position:
    study: int
    image: int


class MainWindow(QMainWindow):
    """The MammoView main window.

    Signals
    -------
    viewsSettled()
        Everything the image area should show for the current selection has been
        computed and handed to the viewer (no panel is "computing…").
    studiesOpened(int)
        Discovery finished and this many studies are listed.
    reportWritten(str)
        A report was written to this path.
    imageShown(str)
        Panels mode: the viewer has the original of the image with this uid (it is
        painted with the next frame).
    hangingShown()
        Hanging mode: the viewer has all four views of the current study.
    """

    viewsSettled = Signal()
    studiesOpened = Signal(int)
    reportWritten = Signal(str)
    imageShown = Signal(str)
    hangingShown = Signal()

    def __init__(self, settings: AppSettings | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("MammoView")
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        self.runner = JobRunner(self)
        # Bounds (see gui/cache.py): a view entry holds only its drawn uint16 levels
        # (MIAS: 2.7 MB; full-field 4084 x 3328: 36 MB; its x2 super-resolution: 145 MB),
        # so 512 MB keeps every panel of the current and the previous full-field image.
        self.view_cache = ViewCache(max_bytes=VIEW_CACHE_BYTES)
        self.image_cache = ViewCache(max_bytes=IMAGE_CACHE_BYTES)
        self.studies: list[Study] = []
        self.position: _Position | None = None
        self.image: Image | None = None  # the image shown in panels mode
        self._prepared: PreparedImage | None = None  # ... and what the viewer draws of it
        self.decoder = decode_lane()  # DICOM decoding, off this process's GIL
        # Enhancements, layers and AI run in a second, lower-priority pool (they hold the
        # GIL in long stretches); None runs them on worker threads (tests that spy on
        # _compute, or no processes).
        self.compute_lane = shared_lane()
        # Use the trained super-resolution model when one is installed (else bicubic).
        # MAMMOVIEW_SR_MODEL=off skips it: on a CPU it takes about 2 s per 256-pixel
        # tile, minutes for a full-field image (tests and benchmarks of other things).
        self.use_sr_model = os.environ.get("MAMMOVIEW_SR_MODEL", "on").lower() != "off"
        self._sr_version_cache: tuple | None = None
        # The reader's choice (H, persisted) and what the image area shows: a study that
        # cannot be hung shows its image in the panels while the choice waits for the next
        # 4-view study.
        self._hanging_wanted = False
        self._mode = "panels"
        self._pending_views: set[str] = set()
        self._pending_layers: set[tuple[str, str]] = set()  # (uid, layer) computing
        self.overlay_cache = ViewCache(max_bytes=OVERLAY_CACHE_BYTES)
        self._unet_probe: str = "not yet"  # "not yet", "running", "done"
        self._unet_version: str | None = None
        self._dirty_views: set[str] = set()
        self._settled = False

        self._build_central()
        self._build_docks()
        self._build_status()
        self._build_actions()
        # Classification and explanations (its dock, status label and layer rows).
        self.ai = AiController(self)
        # The reader's findings, assessment and window presets (Reading dock, tools, undo).
        self.reading = ReadingController(self)
        # Switching the active model of a task recomputes what is shown (gui/modelswitch.py).
        self.model_switch = ModelSwitch(self)
        # Reading states, AI scores and next-unread in the study browser; the report export.
        self.worklist = WorklistController(self)
        self.reports = ReportExport(self)
        self._build_menus_and_toolbar()
        self._restore_settings()

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._apply_param_changes)

        self.enhancement.paramsEdited.connect(self._on_params_edited)
        self.enhancement.panelToggled.connect(self._on_panel_toggled)
        self.browser.imageActivated.connect(lambda s, i: self.show_image(s, i))
        self.viewer.cursorMoved.connect(self._on_cursor)
        self.runner.busyChanged.connect(self._on_busy)
        self.layers.styleChanged.connect(self._on_layer_style)
        self.viewsSettled.connect(self._probe_unet)
        # Start the processes now, while the user picks a file.
        self.decoder.warm_up()
        if self.compute_lane is not None:
            self.compute_lane.warm_up()

    # ================================================================ construction
    def _build_central(self) -> None:
        self.viewer = ViewerArea()
        self.banner = QLabel()
        self.banner.setObjectName("studyBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.empty_state = QLabel(
            "No study open.\n\nFile > Open files… or Open folder…, drop files here,\n"
            "or File > Open demo studies (synthetic)."
        )
        self.empty_state.setObjectName("emptyState")
        self.empty_state.setAlignment(Qt.AlignmentFlag.AlignCenter)
        image_page = QWidget()
        layout = QVBoxLayout(image_page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.banner)
        layout.addWidget(self.viewer, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_state)
        self.stack.addWidget(image_page)
        self.setCentralWidget(self.stack)

    def _build_docks(self) -> None:
        self.browser = StudyBrowser()
        self.browser_dock = self._dock("Studies", "studiesDock", StudyBrowserPanel(self.browser),
                                       Qt.DockWidgetArea.LeftDockWidgetArea)
        self.enhancement = EnhancementPanel()
        self.enhancement_dock = self._dock("Enhancement", "enhancementDock", self.enhancement,
                                           Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems = ProblemsList()
        self.problems_dock = self._dock("Problems", "problemsDock", self.problems,
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
        self.problems_dock.hide()
        self.problems.countChanged.connect(self._on_problem_count)
        self.layers = LayersPanel()
        # Under the study list: the enhancement side is already as tall as a laptop screen.
        self.layers_dock = self._dock("Layers", "layersDock", self.layers,
                                      Qt.DockWidgetArea.LeftDockWidgetArea)
        self.browser.setMinimumWidth(260)
        self.enhancement.setMinimumWidth(220)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_status(self) -> None:
        bar = self.statusBar()
        self.cursor_label = QLabel("(row, col) = value")
        self.cursor_label.setObjectName("cursorLabel")
        self.work_label = QLabel("Ready")
        self.work_label.setObjectName("workLabel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(140)
        self.progress_bar.hide()
        self.image_label = QLabel("")
        self.image_label.setObjectName("imageLabel")
        self.ruo_label = QLabel(RUO_NOTICE)
        self.ruo_label.setObjectName("ruoNotice")
        # Why the hanging the reader asked for is not shown; it outlives the transient
        # "Working…"/"Ready" texts of work_label.
        self.hanging_note = QLabel("")
        self.hanging_note.setObjectName("hangingNote")
        self.hanging_note.hide()
        bar.addWidget(self.cursor_label)
        bar.addWidget(self.work_label)
        bar.addWidget(self.progress_bar)
        bar.addPermanentWidget(self.hanging_note)
        bar.addPermanentWidget(self.image_label)
        bar.addPermanentWidget(self.ruo_label)

    def _action(self, text: str, keys=(), slot=None, *, checkable=False, checked=False,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if checkable:
            action.setCheckable(True)
            action.setChecked(checked)
        if slot is not None:
            (action.toggled if checkable else action.triggered).connect(slot)
        if tip:
            action.setToolTip(tip)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_open_files = a("&Open files…", [QKeySequence.StandardKey.Open], self.choose_files)
        self.act_open_folder = a("Open &folder…", ["Ctrl+Shift+O"], self.choose_folder)
        self.act_open_demo = a("Open &demo studies", [], self.open_demo)
        self.act_export = a("&Export report…", ["Ctrl+E"], self.choose_export)
        self.act_quit = a("&Quit", [QKeySequence.StandardKey.Quit], self.close)

        self.act_next_image = a("Next image", ["Right", "PgDown"], self.next_image)
        self.act_prev_image = a("Previous image", ["Left", "PgUp"], self.previous_image)
        self.act_next_study = a("Next study", ["Down", "N"], self.next_study)
        self.act_prev_study = a("Previous study", ["Up", "P"], self.previous_study)
        self.act_next_unread = a("Next &unread study", ["U"], lambda: self.worklist.next_unread())
        self.act_hanging = a("4-view &hanging", ["H"], self.set_hanging, checkable=True,
                             tip="Switch between the 4-view hanging and the enhancement panels (H); "
                                 "remembered, used for every study with all four views")
        self.act_reset = a("&Reset view", ["R", "Home"], self.reset_view)
        self.act_invert = a("&Invert", ["I"], self.set_invert, checkable=True)
        self.act_findings = a("Ground-truth &findings", ["G"], self.set_findings_visible,
                              checkable=True, checked=True)
        self.act_magnifier = a("&Magnifier", ["M"], self.set_magnifier, checkable=True)
        self.act_panels: dict[str, QAction] = {}
        for i, (name, title) in enumerate(PANELS.items(), start=1):
            self.act_panels[name] = a(
                f"Show {title} panel", [str(i)],
                lambda on, n=name: self.set_panel_visible(n, on), checkable=True, checked=True)
        self.act_shortcuts = a("&Keyboard shortcuts", ["F1"], self.show_shortcuts)
        self.act_about = a("&About MammoView", [], lambda: AboutDialog(self).exec())

    def _build_menus_and_toolbar(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.act_open_files)
        file_menu.addAction(self.act_open_folder)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addAction(self.act_open_demo)
        file_menu.addSeparator()
        file_menu.addAction(self.act_export)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        self.reading.fill_edit_menu(menu.addMenu("&Edit"))

        nav = menu.addMenu("&Navigate")
        for act in (self.act_next_image, self.act_prev_image, self.act_next_study,
                    self.act_prev_study, self.act_next_unread):
            nav.addAction(act)

        view = menu.addMenu("&View")
        view.addAction(self.act_hanging)
        view.addSeparator()
        for act in self.act_panels.values():
            view.addAction(act)
        view.addSeparator()
        for act in (self.act_reset, self.act_invert, self.act_findings, self.act_magnifier):
            view.addAction(act)
        view.addSeparator()
        for dock in (self.browser_dock, self.enhancement_dock, self.layers_dock,
                     self.ai.dock, self.problems_dock):
            view.addAction(dock.toggleViewAction())
        view.addMenu(self.reading.presets.menu)
        self.reading.fill_reading_menu(menu.addMenu("&Reading"))

        # Other features add their entries to self.models_menu.
        self.models_menu = models = menu.addMenu("&Models")
        models.addAction(self.ai.triage.action)  # "Classify all studies" (gui/aitriage.py)
        models.addSeparator()
        self.act_model_cards = self._action("Model &cards…", [], self.ai.show_model_cards)
        models.addAction(self.act_model_cards)
        self.act_manage_models = self._action("&Manage…", [], self.model_switch.show_manage_dialog)
        models.addAction(self.act_manage_models)
        self.act_train = self._action("&Train or fine-tune…", [], self.open_training)
        models.addAction(self.act_train)

        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.act_shortcuts)
        help_menu.addAction(self.act_about)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        for act in (self.act_open_files, self.act_open_folder, self.act_export):
            toolbar.addAction(act)
        toolbar.addSeparator()
        for act in (self.act_prev_study, self.act_prev_image, self.act_next_image,
                    self.act_next_study):
            toolbar.addAction(act)
        toolbar.addSeparator()
        for act in (self.act_hanging, self.act_reset, self.act_invert, self.act_findings,
                    self.act_magnifier):
            toolbar.addAction(act)
        self.addToolBar(toolbar)
        self.reading.add_toolbar(toolbar)
        self._rebuild_recent_menu()

    def fill_screen(self, fraction: float = 1.0) -> None:
        """Size the window to ``fraction`` of the screen's available area (centred)."""
        screen = self.screen()
        if screen is None:
            self.resize(1600, 950)
            return
        area = screen.availableGeometry()
        width, height = int(area.width() * fraction), int(area.height() * fraction)
        self.setGeometry(area.x() + (area.width() - width) // 2,
                         area.y() + (area.height() - height) // 2, width, height)

    def shortcut_actions(self) -> list[QAction]:
        """Every action with a key, in the order the shortcuts dialog lists them."""
        return [
            self.act_next_image, self.act_prev_image, self.act_next_study, self.act_prev_study,
            self.act_next_unread, self.act_hanging, *self.act_panels.values(), self.act_reset, self.act_invert,
            self.act_findings, self.act_magnifier, self.act_open_files, self.act_open_folder,
            self.act_export, self.act_shortcuts, self.act_quit, *self.reading.shortcut_actions(),
        ]

    # ================================================================ settings
    def _restore_settings(self) -> None:
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.fill_screen(0.9)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        from mammoview.enhance.params import ClaheParams, WaveletParams

        self.enhancement.set_params(self.settings.params("wavelet", WaveletParams()),
                                    self.settings.params("clahe", ClaheParams()))
        visible = set(self.settings.visible_panels(list(PANELS)))
        for name in PANELS:
            on = name in visible
            self.enhancement.set_panel_checked(name, on, emit=False)
            self.act_panels[name].blockSignals(True)
            self.act_panels[name].setChecked(on)
            self.act_panels[name].blockSignals(False)
        for action, key, default in ((self.act_findings, "findings", True),
                                     (self.act_invert, "invert", False)):
            action.blockSignals(True)
            action.setChecked(self.settings.flag(key, default))
            action.blockSignals(False)
        self._hanging_wanted = self.settings.flag("hanging", False)
        self._apply_hanging_mode(None)
        self.viewer.set_findings_visible(self.act_findings.isChecked())
        self.viewer.set_invert(self.act_invert.isChecked())
        preset = {n.strip() for n in os.environ.get("MAMMOVIEW_LAYERS", "").split(",") if n.strip()}
        for name in ALL_LAYERS:
            style = self.settings.params(f"layer_{name}", DEFAULT_STYLES[name])
            if name == "truth":  # the findings key (G) and this row are one switch
                style = replace(style, visible=self.act_findings.isChecked())
            if name in preset:
                style = replace(style, visible=True)
            self.layers.set_style(name, style, emit=False)
            self.viewer.set_layer_style(name, style)
        if "truth" in preset and not self.act_findings.isChecked():
            self.act_findings.setChecked(True)

    def save_settings(self) -> None:
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_window_state(self.saveState())
        self.settings.set_params("wavelet", self.enhancement.wavelet_params())
        self.settings.set_params("clahe", self.enhancement.clahe_params())
        self.settings.set_visible_panels(self.visible_panels())
        self.settings.set_flag("findings", self.act_findings.isChecked())
        self.settings.set_flag("invert", self.act_invert.isChecked())
        self.settings.set_flag("hanging", self._hanging_wanted)
        for name, style in self.layers.styles().items():
            self.settings.set_params(f"layer_{name}", style)
        self.settings.sync()

    def closeEvent(self, event) -> None:
        training = getattr(self, "training_dialog", None)
        if training is not None and not training.confirm_stop(quitting=True):
            event.ignore()  # a run goes on: the user chose to keep it
            return
        if training is not None:
            training.shutdown()
        self.save_settings()
        self.worklist.shutdown()
        self.ai.shutdown()
        self.reading.shutdown()
        self.runner.cancel_all()
        # Finished-but-undelivered jobs hold no locks; waiting briefly lets numerical
        # code reach its next cancel check so the process does not exit mid-job.
        self.runner.wait_for_done(3000)
        super().closeEvent(event)

    # ================================================================ opening
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open files", self.settings.last_folder(),
            "Images (*.dcm *.dicom *.png *.pgm *.tif *.tiff *.jpg *.jpeg);;All files (*)")
        if paths:
            self.settings.set_last_folder(str(Path(paths[0]).parent))
            self.open_paths(paths)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder", self.settings.last_folder())
        if folder:
            self.settings.set_last_folder(folder)
            self.open_paths([folder])

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files()
        for path in recent:
            act = self.recent_menu.addAction(path)
            act.triggered.connect(lambda _=False, p=path: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(recent))
        if recent:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear list")
            clear.triggered.connect(lambda: (self.settings.clear_recent(),
                                             self._rebuild_recent_menu()))

    def open_paths(self, paths, *, remember: bool = True):
        """Discover studies in files and folders on a worker, then show the first one.

        Bad files are listed in the problems dock; the good ones open regardless.
        """
        from mammoview.io.discovery import discover

        paths = [str(p) for p in paths]
        if remember:
            self.settings.add_recent(paths)
            self._rebuild_recent_menu()
        self._set_work("Finding images…")
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        return self.runner.submit(
            lambda ctx: discover(paths, progress=_progress_sink(ctx), cancel=ctx.token),
            name="discovery", channels=("discovery",),
            on_done=self._on_discovered, on_error=self._on_discovery_failed,
            on_progress=self._on_discovery_progress)

    def open_demo(self):
        """Open the synthetic demo studies (generated, marked SYNTHETIC)."""
        from mammoview.io.phantom import demo_studies

        self._set_work("Preparing demo studies…")
        return self.runner.submit(
            lambda ctx: (demo_studies(), []), name="demo studies", channels=("discovery",),
            on_done=self._on_discovered, on_error=self._on_discovery_failed)

    def _on_discovery_progress(self, progress: Progress) -> None:
        if progress.total > 0:
            self.progress_bar.setRange(0, progress.total)
            self.progress_bar.setValue(progress.done)
        if progress.message:
            self._set_work(progress.message)

    def _on_discovered(self, discovery) -> None:
        self.progress_bar.hide()
        studies, errors = _unpack_discovery(discovery)
        for error in errors:
            if isinstance(error, BaseException):
                self.problems.add_error(error)
            elif isinstance(error, (tuple, list)) and len(error) == 2:
                self.problems.add_problem(str(error[0]), str(error[1]))
            else:
                self.problems.add_problem("discovery", str(error))
        self.set_studies(list(studies))
        noun = "study" if len(studies) == 1 else "studies"
        text = f"Opened {len(studies)} {noun}"
        if errors:
            text += f"; {len(errors)} file(s) could not be opened (see Problems)"
        self._set_work(text)
        self.studiesOpened.emit(len(studies))

    def _on_discovery_failed(self, failure: JobFailure) -> None:
        self.progress_bar.hide()
        self.problems.add_error(failure.error, "discovery")
        self._set_work(f"Could not open: {failure.message}")

    def set_studies(self, studies: list[Study]) -> None:
        """Replace the listed studies and show the first image of the first one."""
        self.runner.bump("image", "prefetch", *(f"view:{v}" for v in ENHANCED))
        self.studies = studies
        self.position = None
        self.image = None
        self._prepared = None
        self.ai.triage.studies_changed()  # triage of the old list is stale
        self.browser.set_studies(studies)
        self.worklist.set_studies(studies)
        if studies:
            self.stack.setCurrentIndex(1)
            self.show_image(0, 0)
        else:
            self.stack.setCurrentIndex(0)
            self.image_label.setText("")
            self._apply_hanging_mode(None)

    # drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # ================================================================ navigation
    def current_study(self) -> Study | None:
        return self.studies[self.position.study] if self.position else None

    def current_ref(self) -> ImageRef | None:
        if not self.position:
            return None
        return self.studies[self.position.study].images[self.position.image]

    def mode(self) -> str:
        """"panels" or "hanging": what the image area shows."""
        return self._mode

    def show_image(self, study_index: int, image_index: int = 0) -> None:
        """Select an image: the panels show it; the hanging (when wanted and the study has
        all four views) shows its study."""
        if not (0 <= study_index < len(self.studies)):
            return
        study = self.studies[study_index]
        if not study.images:
            return
        image_index = min(max(0, image_index), len(study.images) - 1)
        self.position = _Position(study_index, image_index)
        self.browser.select_image(study_index, image_index)
        self.reading.study_selected()
        self.runner.bump("image", "prefetch", *(f"view:{v}" for v in ENHANCED))
        self._settled = False
        self._pending_views.clear()
        self._pending_layers.clear()
        ref = study.images[image_index]
        self.image_label.setText(ref.display_name)
        self.stack.setCurrentIndex(1)
        self._apply_hanging_mode(study)
        if self._mode == "hanging":
            self._show_hanging_study(study)
        else:
            self._show_banner(study, ref, None)
            cached = self.image_cache.get(("image", ref.uid))
            if isinstance(cached, PreparedImage):
                self._show_loaded(cached)
            else:
                self._set_work(f"Loading {ref.display_name}…")
                self._submit_load(ref, cached, channels=("image",), on_done=self._on_image_loaded)

    def _submit_load(self, ref: ImageRef, image: Image | None, *, channels, on_done,
                     on_error=None, name=None, priority: int = 0):
        """Load (unless ``image`` is already decoded) and prepare ``ref`` on a worker."""
        if on_error is None:
            on_error = lambda f, r=ref: self._on_load_failed(r, f)  # noqa: E731
        lane = self.decoder
        if image is not None:
            job = lambda ctx, im=image: prepare_image(im)  # noqa: E731
        else:
            job = lambda ctx, r=ref: _load_prepared(r, ctx, lane)  # noqa: E731
        return self.runner.submit(
            job, name=name or f"load {ref.display_name}", channels=channels,
            on_done=on_done, on_error=on_error, priority=priority)

    def next_image(self) -> None:
        self._step_image(+1)

    def previous_image(self) -> None:
        self._step_image(-1)

    def _step_image(self, delta: int) -> None:
        """Step through every image of every study in order (crossing study borders)."""
        order = [(s, i) for s, st in enumerate(self.studies) for i in range(len(st.images))]
        if not order:
            return
        if self.position is None:
            target = order[0]
        else:
            here = order.index((self.position.study, self.position.image))
            target = order[min(max(0, here + delta), len(order) - 1)]
            if target == (self.position.study, self.position.image):
                return
        if self._hanging_wanted and (self._mode == "hanging"
                                     or self.studies[target[0]].is_four_view):
            # Stepping images is a per-image activity: it ends the hanging rather than
            # landing in one. Stepping between studies that cannot be hung keeps the choice.
            self._set_hanging_wanted(False)
        self.show_image(*target)

    def next_study(self) -> None:
        self._step_study(+1)

    def previous_study(self) -> None:
        self._step_study(-1)

    def _step_study(self, delta: int) -> None:
        if not self.studies:
            return
        here = self.position.study if self.position else -delta
        target = min(max(0, here + delta), len(self.studies) - 1)
        if self.position is None or target != self.position.study:
            self.show_image(target, 0)

    def _neighbour(self) -> ImageRef | None:
        """The image after the current one (what the reader most likely opens next)."""
        order = [ref for st in self.studies for ref in st.images]
        ref = self.current_ref()
        if ref is None or ref not in order:
            return None
        i = order.index(ref)
        return order[i + 1] if i + 1 < len(order) else None

    # ================================================================ panels mode
    def _on_image_loaded(self, prepared: PreparedImage) -> None:
        self.image_cache.put(("image", prepared.uid), prepared)
        ref = self.current_ref()
        if ref is None or ref.uid != prepared.uid or self._mode != "panels":
            return
        self._show_loaded(prepared)

    def _on_load_failed(self, ref: ImageRef, failure: JobFailure) -> None:
        self.problems.add_error(failure.error, ref.path)
        self._set_work(f"Could not open {ref.display_name}: {failure.message}")
        self.banner.setText(f"Could not open {ref.display_name}: "
                            f"{getattr(failure.error, 'reason', failure.message)}")
        self.banner.show()

    def _show_loaded(self, prepared: PreparedImage) -> None:
        image = prepared.image
        self.image = image
        self._prepared = prepared
        study = self.current_study()
        self._show_banner(study, image.ref, image)
        visible = self.visible_panels()
        views: dict[str, ViewContent | PreparedContent] = {
            "original": self._original_content(prepared)}
        self._pending_views = set()
        for name in ENHANCED:
            if name not in visible:
                continue
            content = self._cached_view(image, name)
            if content is None:
                content = self._pending_content(image, name)
                self._pending_views.add(name)
            views[name] = content
        self.viewer.show_panels(prepared, views)
        # Panels are built visible; touching the visible ones would re-lay them out.
        for name in PANELS:
            if name not in visible:
                self.viewer.set_panel_visible(name, False)
        self.imageShown.emit(image.uid)
        for name in sorted(self._pending_views):
            self._submit_view(image, name)
        self._request_layers()
        self.ai.images_shown()
        self._prefetch()
        self._maybe_settled()

    @staticmethod
    def _original_content(prepared: PreparedImage) -> PreparedContent:
        return prepared.original.relabel("Original", _image_caption(prepared.image))

    def _pending_content(self, image: Image, name: str) -> ViewContent:
        # A read-only zero view of the right shape: no allocation on the UI thread.
        placeholder = np.broadcast_to(np.float32(0.0), image.shape)
        return ViewContent(array=placeholder, label=PANELS[name],
                           caption="computing…", pending=True)

    def view_params(self, name: str):
        from mammoview.enhance.params import SuperresParams

        if name == "superres":
            return SuperresParams()
        return self.enhancement.params(name)

    def view_key(self, image: Image, name: str) -> tuple:
        """(uid, view, params, model version): the cache key of one enhanced view."""
        version = self.sr_model_version() if name == "superres" else None
        return (image.uid, name, self.view_params(name), version)

    def sr_model_version(self) -> str | None:
        """Version of the installed super-resolution model (from its card; no torch),
        None when there is none or it is not used."""
        if not self.use_sr_model:
            return None
        if self._sr_version_cache is None:
            version = None
            try:
                from mammoview.nets.store import find_model, read_card

                path = find_model("superres")
                if path is not None:
                    version = read_card(path).version or None
            except Exception:  # noqa: BLE001 (an unreadable card: the job says why)
                version = None
            self._sr_version_cache = (version,)
        return self._sr_version_cache[0]

    def _cached_view(self, image: Image, name: str) -> PreparedContent | None:
        cached = self.view_cache.get(self.view_key(image, name))
        return None if cached is None else cached[1]

    def _submit_view(self, image: Image, name: str) -> None:
        key = self.view_key(image, name)
        params = key[2]
        lane, use_model = self.compute_lane, self.use_sr_model
        self.runner.submit(
            lambda ctx: _compute_prepared(name, image, params, ctx, lane, use_model),
            name=f"{PANELS[name]} of {image.ref.display_name}",
            channels=("image", f"view:{name}"),
            on_done=lambda result: self._on_view_computed(key, result),
            on_error=lambda f: self._on_view_failed(name, f),
            on_progress=lambda p: self._on_view_progress(name, p))

    def _on_view_progress(self, name: str, progress: Progress) -> None:
        """Tile progress of the super-resolution model: panel caption and status bar."""
        if self.image is None or self._mode != "panels" or progress.total <= 0:
            return
        version = self.sr_model_version() if name == "superres" else None
        what = f"EDSR x{self.view_params(name).factor} (model {version})" if version else PANELS[name]
        text = f"{what} {int(round(100 * progress.fraction))}%"
        if name in self.viewer.panel_names():
            self.viewer.panel(name).caption.setText(text)
        self._set_work(text)

    def _on_view_computed(self, key: tuple, computed: tuple) -> None:
        """``computed`` is (view meta, its PreparedContent), made on the worker."""
        self.view_cache.put(key, computed)
        uid, name, params, _version = key
        if self.image is None or self.image.uid != uid or self._mode != "panels":
            return
        if self.view_key(self.image, name) != key:
            return
        self._pending_views.discard(name)
        self.viewer.update_view(name, computed[1])
        self._maybe_settled()

    def _on_view_failed(self, name: str, failure: JobFailure) -> None:
        self._pending_views.discard(name)
        source = self.image.ref.display_name if self.image else "image"
        self.problems.add_problem(source, f"{PANELS[name]} failed: {failure.message}")
        self._set_work(f"{PANELS[name]} failed: {failure.message}")
        if self.image is not None:
            self.viewer.update_view(name, blank_content(
                self.image.shape, PANELS[name], f"failed: {failure.message}"))
        self._maybe_settled()

    def _prefetch(self) -> None:
        ref = self._neighbour()
        if ref is None:
            return
        cached = self.image_cache.get(("image", ref.uid))
        if isinstance(cached, PreparedImage):
            return
        self._submit_load(
            ref, cached, name=f"prefetch {ref.display_name}", channels=("prefetch",),
            on_done=lambda prepared: self.image_cache.put(("image", prepared.uid), prepared),
            on_error=lambda f: None, priority=-1)  # an error shows when it is opened

    def _maybe_settled(self) -> None:
        if not self._pending_views and not self._pending_layers and not self._settled:
            self._settled = True
            self.viewsSettled.emit()

    # ================================================================ params and panels
    def visible_panels(self) -> list[str]:
        return self.enhancement.visible_panels()

    def _on_params_edited(self, view: str) -> None:
        self._dirty_views.add(view)
        self._set_work(f"{PANELS[view]}: waiting for edits to settle…")
        self._debounce.start()

    def _apply_param_changes(self) -> None:
        dirty, self._dirty_views = self._dirty_views, set()
        for name in sorted(dirty):
            self.settings.set_params(name, self.view_params(name))
            self.runner.bump(f"view:{name}")
            self._refresh_view(name)
        self._set_work("Ready" if not self.runner.outstanding else self.work_label.text())

    def _refresh_view(self, name: str) -> None:
        """Show ``name`` for the current image from the cache, or compute it."""
        image = self.image
        if image is None or self._mode != "panels" or name not in self.visible_panels():
            return
        content = self._cached_view(image, name)
        if content is not None:
            self._pending_views.discard(name)
            self.viewer.update_view(name, content)
            self._maybe_settled()
            return
        self._settled = False
        self._pending_views.add(name)
        self.viewer.update_view(name, self._pending_content(image, name))
        self._submit_view(image, name)

    def set_panel_visible(self, name: str, on: bool) -> None:
        """Show or hide one panel (keys 1-4, the View menu or the side panel)."""
        for widget in (self.enhancement, self.act_panels[name]):
            widget.blockSignals(True)
        try:
            self.enhancement.set_panel_checked(name, on, emit=False)
            self.act_panels[name].setChecked(on)
        finally:
            for widget in (self.enhancement, self.act_panels[name]):
                widget.blockSignals(False)
        self.settings.set_visible_panels(self.visible_panels())
        if self._mode != "panels" or self.image is None:
            return
        self.viewer.set_panel_visible(name, on)
        if on and name in ENHANCED:
            self._refresh_view(name)
        elif not on:
            self._pending_views.discard(name)
            self._maybe_settled()

    def _on_panel_toggled(self, name: str, on: bool) -> None:
        self.set_panel_visible(name, on)

    # ================================================================ hanging mode
    def set_hanging(self, on: bool) -> None:
        """Switch between the 4-view hanging and the enhancement panels.

        The choice is remembered; a study without all four views stays in the panels (the
        toggle unchecked, the status bar says why) and the next 4-view study is hung."""
        self._set_hanging_wanted(on)
        study = self.current_study()
        shown = self._mode
        self._apply_hanging_mode(study)
        if on and study is not None and not study.is_four_view:
            self._set_work("The 4-view hanging needs RCC, LCC, RMLO and LMLO in one study "
                           f"(this one has no {_missing_slots(study)}): "
                           "it stays on for 4-view studies")
        if self.position is not None and self._mode != shown:
            self.show_image(self.position.study, self.position.image)

    def toggle_hanging(self) -> None:
        self.act_hanging.toggle()

    def _set_hanging_wanted(self, on: bool) -> None:
        self._hanging_wanted = on
        self.settings.set_flag("hanging", on)

    def _apply_hanging_mode(self, study: Study | None) -> None:
        """Decide what the image area shows for ``study`` and make the toggle match it.

        With no study open the toggle shows the remembered choice."""
        can_hang = study is None or study.is_four_view
        self._mode = "hanging" if self._hanging_wanted and can_hang else "panels"
        self.act_hanging.blockSignals(True)
        self.act_hanging.setChecked(self._mode == "hanging")
        self.act_hanging.blockSignals(False)
        waiting = self._hanging_wanted and not can_hang
        missing = _missing_slots(study) if waiting else ""
        self.hanging_note.setText(f"4-view hanging on hold: no {missing}" if waiting else "")
        self.hanging_note.setToolTip(
            f"The 4-view hanging stays on for 4-view studies; this study has no {missing}, "
            "so it is shown in the panels." if waiting else "")
        self.hanging_note.setVisible(waiting)

    def _show_hanging_study(self, study: Study) -> None:
        self.image = None
        slots = study.hanging()
        self._show_banner(study, None, None)
        cached = {slot: self.image_cache.get(("image", ref.uid)) for slot, ref in slots.items()}
        self._hanging_waiting = {slot for slot, value in cached.items()
                                 if not _ready_for_hanging(value)}
        if not self._hanging_waiting:
            self._present_hanging(study)
            return
        self._set_work(f"Loading {len(self._hanging_waiting)} views…")
        for slot in SLOT_ORDER:
            if slot not in self._hanging_waiting:
                continue
            ref, value = slots[slot], cached[slot]
            image = value.image if isinstance(value, PreparedImage) else value
            self._submit_load(
                ref, image, channels=("image",),
                on_done=lambda prepared, st=study: self._on_hanging_loaded(st, prepared))

    def _on_hanging_loaded(self, study: Study, prepared: PreparedImage) -> None:
        self.image_cache.put(("image", prepared.uid), prepared)
        if self.current_study() is not study or self._mode != "hanging":
            return
        self._hanging_waiting.discard(prepared.image.ref.slot)
        if not self._hanging_waiting:
            self._present_hanging(study)

    def _present_hanging(self, study: Study) -> None:
        images = {slot: self.image_cache.get(("image", ref.uid))
                  for slot, ref in study.hanging().items()}
        if not all(_ready_for_hanging(img) for img in images.values()):
            self._show_hanging_study(study)  # evicted meanwhile: load again
            return
        self.viewer.show_hanging(images)
        self.hangingShown.emit()
        warnings = [w for img in images.values() for w in image_warnings(img.image)]
        self._show_banner(study, None, None, extra=warnings)
        self._pending_views.clear()
        self._set_work("Ready")
        self._request_layers()
        self.ai.images_shown()
        self._maybe_settled()

    # ================================================================ display options
    def reset_view(self) -> None:
        self.viewer.reset_view()
        self.reading.presets.sync()  # the toolbar must name the window now in use

    def set_invert(self, on: bool) -> None:
        self.viewer.set_invert(on)
        self.settings.set_flag("invert", on)

    def set_findings_visible(self, on: bool) -> None:
        self.viewer.set_findings_visible(on)
        self.settings.set_flag("findings", on)
        style = self.layers.style("truth")
        if style.visible != on:  # the "Ground truth" layer row is the same switch
            style = replace(style, visible=on)
            self.layers.set_style("truth", style, emit=False)
            self.viewer.set_layer_style("truth", style)
            self.settings.set_params("layer_truth", style)
            if on:
                self._request_layers(["truth"])

    def set_magnifier(self, on: bool) -> None:
        self.viewer.set_magnifier(on)

    def open_training(self):
        """Models > Train or fine-tune… (torch stays in the dialog's own processes)."""
        from mammoview.gui.dialogs.training import open_training_dialog

        return open_training_dialog(self)

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self.shortcut_actions(), self).exec()

    # ================================================================ segmentation layers
    def _on_layer_style(self, name: str) -> None:
        """A row of the Layers dock changed: restyle every panel, compute what is missing."""
        style = self.layers.style(name)
        self.settings.set_params(f"layer_{name}", style)
        self.viewer.set_layer_style(name, style)
        if name == "truth" and self.act_findings.isChecked() != style.visible:
            self.act_findings.setChecked(style.visible)  # -> set_findings_visible
        if name in AI_LAYERS:
            self.ai.on_layer_style(name)
            return
        if style.visible:
            self._request_layers([name])
        else:
            dropped = {p for p in self._pending_layers if p[1] == name}
            if dropped:
                self.runner.bump(f"layer:{name}")
                self._pending_layers -= dropped
                self._maybe_settled()
            self._show_layer_status(name)

    def layer_key(self, uid: str, layer: str) -> tuple:
        """(uid, layer, params version, model version): the cache key of one layer."""
        version = self._unet_version if layer == "unet" else None
        return (uid, layer, PARAMS_VERSION[layer], version)

    def _request_layers(self, names=None) -> None:
        """Draw the visible layers of the shown images: from the cache, else computed."""
        from mammoview.io.ground_truth import tissue_mask_paths

        names = [n for n in (names or LAYERS)
                 if n in LAYERS and n in self.layers.visible_layers()]
        images = self.viewer.shown_images()
        lane = self.compute_lane
        for name in names:
            for image in images:
                if name == "truth" and not (image.ref.kind == "raster"
                                            and tissue_mask_paths(image.ref.path)):
                    continue  # MIAS circles: the findings overlay draws them already
                key = self.layer_key(image.uid, name)
                cached = self.overlay_cache.get(key)
                if cached is not None:
                    self.viewer.set_layer(cached)
                    continue
                if (image.uid, name) in self._pending_layers:
                    continue
                self._pending_layers.add((image.uid, name))
                self._settled = False
                self.runner.submit(
                    lambda ctx, n=name, im=image: run_layer(lane, n, im, ctx),
                    name=f"{LAYERS[name]} of {image.ref.display_name}",
                    channels=("image", f"layer:{name}"),
                    on_done=lambda d, k=key: self._on_layer_done(k, d),
                    on_error=lambda f, k=key: self._on_layer_failed(k, f))
            self._show_layer_status(name)

    def _on_layer_done(self, key: tuple, display: MaskDisplay) -> None:
        uid, name = key[0], key[1]
        self.overlay_cache.put(key, display)
        self._pending_layers.discard((uid, name))
        if name == "unet" and not display.available:
            self.layers.set_unavailable("unet", display.status)
        if uid in self.viewer.shown_uids():
            self.viewer.set_layer(display)
            self._show_layer_status(name)
        self._maybe_settled()

    def _on_layer_failed(self, key: tuple, failure: JobFailure) -> None:
        uid, name = key[0], key[1]
        self._pending_layers.discard((uid, name))
        self.problems.add_problem(uid, f"{LAYERS[name]} failed: {failure.message}")
        self.layers.set_status(name, f"failed: {failure.message}")
        self._maybe_settled()

    def layer_status(self, name: str) -> str:
        """The status line of a layer for the shown images (what its row says)."""
        reason = self.layers.unavailable_reason(name)
        if reason:
            return reason
        if name in AI_LAYERS:
            return self.ai.layer_text(name)
        images = self.viewer.shown_images()
        parts = []
        for image in images:
            text = self._layer_text(image, name)
            if text:
                parts.append(text if len(images) == 1 else f"{image.ref.slot or image.ref.display_name}: {text}")
        return "; ".join(parts)

    def _layer_text(self, image: Image, name: str) -> str:
        if (image.uid, name) in self._pending_layers:
            return "computing…"
        cached = self.overlay_cache.get(self.layer_key(image.uid, name))
        if cached is not None:
            return cached.status
        if name == "truth":
            located = sum(1 for f in image.findings if f.has_location)
            return f"{located} finding circle(s)" if located else "no ground truth for this image"
        return ""

    def _show_layer_status(self, name: str) -> None:
        self.layers.set_status(name, self.layer_status(name))

    def _probe_unet(self) -> None:
        """Find out once, in a worker process (torch stays out of this one), whether a
        UNet model loads; without one the UNet row is disabled with the reason."""
        if self._unet_probe != "not yet":
            return
        self._unet_probe = "running"
        if not self.layers.status("unet"):
            self.layers.set_status("unet", "checking for a UNet model…")
        lane = self.compute_lane

        def probe(ctx):
            if lane is not None and lane.available:
                try:
                    return lane.call(unet_status, cancel=ctx.token)
                except Exception:  # noqa: BLE001 (no processes: ask here)
                    pass
            return unet_status()

        self.runner.submit(probe, name="UNet model check", channels=("probe",),
                           on_done=self._on_unet_probed,
                           on_error=lambda f: self._on_unet_probed((None, f.message)))

    def _on_unet_probed(self, status: tuple) -> None:
        version, reason = status
        self._unet_probe = "done"
        self._unet_version = version
        if version is None:
            self.layers.set_unavailable("unet", f"no UNet model: {reason}")
        else:
            self.layers.set_unavailable("unet", None)
            self._show_layer_status("unet")

    # ================================================================ report
    def choose_export(self) -> None:
        if self.position is None:
            self._set_work("Open a study before exporting a report")
            return
        study = self.current_study()
        choice = self.reports.ask(study, study_title(study))  # saves an edited impression
        if choice is None:
            return
        default = str(Path(self.settings.last_folder() or Path.home()) / "mammoview-report.pdf")
        path, _ = QFileDialog.getSaveFileName(self, "Export report", default, "PDF (*.pdf)")
        if path:
            if not path.lower().endswith(".pdf"):
                path += ".pdf"
            self.export_report_to(path, deidentify=choice.deidentify)

    def build_report_content(self, impression: str):
        """The report as displayed now: the viewer's pictures, findings and settings."""
        from mammoview.report.content import ReportContent, ReportView

        study = self.current_study()
        if study is None:
            raise RuntimeError("no study is open")
        if self._mode == "hanging":
            refs = list(study.hanging().values())
            page = f"{study_title(study)}: 4-view hanging"
        else:
            refs = [self.current_ref()]
            page = f"{study_title(study)}: {refs[0].display_name}"
        captions = self._report_captions()
        # Screen grabs: a panel shows the image inside a band of its background.
        views = [ReportView(title=title, rgb=_as_rgb(rgb), caption=captions.get(title, ""), page=page,
                            trim_margins=True) for title, rgb in self.viewer.grab_views(REPORT_GRAB_SCALE)]
        cached = [self.image_cache.get(("image", ref.uid)) for ref in refs]
        images = [c.image if isinstance(c, PreparedImage) else c for c in cached]
        warnings = [f"{img.ref.display_name}: {w}" for img in images if img is not None
                    for w in image_warnings(img)]
        settings = {}
        if self._mode == "panels":
            for name in self.visible_panels():
                if name in ("wavelet", "clahe", "superres"):
                    settings[PANELS[name]] = _params_dict(self.view_params(name))
        settings["Display"] = {"invert": self.act_invert.isChecked(),
                               "findings shown": self.act_findings.isChecked()}
        voi = self.viewer.voi()
        if voi is not None:
            settings["Display"]["window"] = voi.describe()
        overlays = {}
        for name in self.layers.visible_layers():
            status = self.layer_status(name)
            overlays[ALL_LAYERS[name]] = self.layers.describe(name) + (f" · {status}" if status else "")
        if overlays:
            settings["Overlays shown"] = overlays
        settings["Models"] = self.model_versions()
        first = study.first
        return ReportContent(
            patient=first.patient, study=first.study, synthetic=study.synthetic, views=views,
            settings=settings, findings=[(ref.display_name, f) for ref in refs
                                         for f in ref.findings],
            impression=impression, warnings=warnings, ai=self.ai.report_section())

    def model_versions(self) -> dict[str, str]:
        """The models behind what is shown, for the report."""
        sr = self.sr_model_version()
        unet = self._unet_version or (self.layers.unavailable_reason("unet") or "not checked")
        return {"Super-resolution": f"EDSR, model {sr}" if sr else "bicubic (no SR model)",
                "UNet lesions": f"model {unet}" if self._unet_version else unet,
                **self.ai.model_versions()}

    def _report_captions(self) -> dict[str, str]:
        captions = {}
        if self.image is not None and self._mode == "panels":
            for name in self.visible_panels():
                if name == "original":
                    captions["Original"] = _image_caption(self.image)
                    continue
                cached = self.view_cache.get(self.view_key(self.image, name))
                result = None if cached is None else cached[0]
                if result is not None:
                    full = f"{result.label}. {metrics_caption(result)}"
                    captions[short_label(name, result)] = full
                    captions[PANELS[name]] = full
        return captions

    def export_report_to(self, path: str | Path, impression: str = "", *, deidentify: bool = False):
        """Write the PDF report to ``path`` on a worker (no file dialog): what is shown,
        the study's saved reading, and ``impression`` as extra text when given."""
        path = str(path)
        try:
            content = self.build_report_content(impression)
        except Exception as exc:  # nothing to grab, or a view failed to render
            self.problems.add_problem(path, f"report not written: {exc}")
            self._set_work(f"Report not written: {exc}")
            return None
        self._set_work("Writing report…")
        return self.runner.submit(
            self.reports.job(path, content, self.current_study(), deidentify=deidentify),
            name="report", channels=("report",),
            on_done=lambda _: self._on_report_written(path),
            on_error=lambda f: self._on_report_failed(path, f))

    def _on_report_written(self, path: str) -> None:
        self._set_work(f"Report written: {path}")
        self.reportWritten.emit(path)

    def _on_report_failed(self, path: str, failure: JobFailure) -> None:
        self.problems.add_problem(path, f"report not written: {failure.message}")
        self._set_work(f"Report not written: {failure.message}")

    # ================================================================ status
    def _set_work(self, text: str) -> None:
        self.work_label.setText(text)

    def _on_busy(self, count: int) -> None:
        if count:
            names = self.runner.outstanding_names()
            shown = ", ".join(n for n in names if not n.startswith("prefetch")) or "prefetching"
            self.work_label.setText(f"Working: {shown}")
        elif not self.progress_bar.isVisible():
            text = self.work_label.text()
            if text.startswith("Working") or text.startswith("Loading"):
                self.work_label.setText("Ready")

    def _on_cursor(self, row: int, col: int, value: float) -> None:
        self.cursor_label.setText(f"({row}, {col}) = {_format_value(value)}")

    def _on_problem_count(self, count: int) -> None:
        if count:
            self.problems_dock.show()
            self.problems_dock.setWindowTitle(f"Problems ({count})")
        else:
            self.problems_dock.setWindowTitle("Problems")

    def _show_banner(self, study: Study | None, ref: ImageRef | None, image: Image | None,
                     extra: list[str] | None = None) -> None:
        parts = []
        if study is not None and study.synthetic:
            parts.append("SYNTHETIC demo data: not a patient")
        if study is not None:
            details = [study.patient_id, format_date(study.date), study.ground_truth or ""]
            text = " · ".join(d for d in details if d)
            if text:
                parts.append(text)
        if image is not None:
            parts.extend(image_warnings(image))
        parts.extend(extra or [])
        # The hanging passes every view's warnings: the same one four times said nothing more.
        parts = list(dict.fromkeys(parts))
        self.banner.setText("   |   ".join(parts))
        self.banner.setVisible(bool(parts))

    def banner_text(self) -> str:
        return self.banner.text()


# ==================================================================== worker functions
def _load(ref: ImageRef) -> Image:
    from mammoview.io.loader import load_image

    return load_image(ref)


def _load_prepared(ref: ImageRef, ctx, lane) -> PreparedImage:
    """Decode and prepare one image (worker thread).

    DICOM goes to a decoding process: its JPEG 2000 (and other compressed) decoders
    hold the GIL for the whole decode, which would freeze the UI thread.
    """
    if ref.kind == "dicom" and lane.available:
        try:
            return lane.call(load_prepared, ref, True, cancel=ctx.token)
        except LaneUnavailable:
            pass
    image = _load(ref)
    ctx.check()
    return prepare_image(image)


def _compute_prepared(name: str, image: Image, params, ctx, lane=None,
                      use_model: bool = True) -> tuple:
    """(ViewMeta, its PreparedContent): compute and make drawable (worker thread).

    With a lane the work runs in a worker process and the arrays come back through
    shared memory (:mod:`mammoview.gui.viewjobs`); without one, here. Either way only
    the drawn uint16 levels are kept, not the float result.
    """
    if lane is not None:
        return run_view(lane, name, image, params, ctx, use_model=use_model)
    if _compute is _compute_default and name == "superres" and use_model:
        return compute_prepared(name, image.pixels, image.is_monochrome1, params,
                                cancel=ctx.token, report=lambda d, t: ctx.report(Progress(d, t)))
    result = _compute(name, image, params, ctx)
    ctx.check()
    meta = ViewMeta(result.label, result.params, dict(result.metrics))
    return meta, strip_float(prepare_content(_content_from(name, result)))


def _missing_slots(study: Study) -> str:
    """The hanging slots ``study`` lacks, e.g. "RCC, LCC" ("" for a 4-view study)."""
    return ", ".join(slot for slot in SLOT_ORDER if slot not in study.hanging())


def _ready_for_hanging(value) -> bool:
    return isinstance(value, PreparedImage) and value.chest_wall is not None


def _compute(name: str, image: Image, params, ctx):
    """Compute one enhanced view (worker thread). MONOCHROME1 is flipped first so the
    enhanced panel has the same polarity as the displayed original."""
    from mammoview.enhance.views import bright_is_dense, compute_view

    ctx.check()
    result = compute_view(name, bright_is_dense(image.pixels, image.is_monochrome1), params)
    ctx.check()
    return result


_compute_default = _compute


def _progress_sink(ctx):
    """A progress callback for core functions that also honours cancellation."""

    def report(progress) -> None:
        ctx.check()
        if isinstance(progress, Progress):
            ctx.report(progress)

    return report


def _unpack_discovery(discovery):
    if isinstance(discovery, tuple):
        return discovery[0], discovery[1]
    return discovery.studies, discovery.errors


def _content_from(name: str, result) -> ViewContent:
    return ViewContent(array=result.array, label=short_label(name, result),
                       caption=metrics_caption(result), normalized=True)


def _params_dict(params) -> dict:
    from dataclasses import asdict

    return asdict(params)


def _image_caption(image: Image) -> str:
    rows, cols = image.shape
    text = f"{rows} x {cols}"
    if image.pixel_spacing_mm:
        text += f" · {image.pixel_spacing_mm[0]:.3g} mm"
    return text


def _format_value(value: float) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


def _as_rgb(rgb) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.shape[-1] == 4:
        arr = arr[..., :3]
    return np.ascontiguousarray(arr, dtype=np.uint8)
