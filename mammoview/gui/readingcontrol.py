"""The window's reading side: the open study's reading session, the drawing tools, undo.

:class:`ReadingController` binds the window to :mod:`mammoview.reading` (no truth is
kept here: the :class:`~mammoview.reading.session.ReadingSession` holds it, saves
every edit in its own transaction and tells this controller, which repaints the
Reading dock and the marks on every panel from it).

Life of a session
    Selecting an image of another study flushes what is being typed into the old
    session, closes it (its lease is given back) and opens the new study's: its key
    (a content hash for files without DICOM UIDs, cached in the store) is worked out
    on a worker thread, then the session opens on the UI thread (two small
    transactions). A heartbeat timer keeps the lease alive; a study open for editing
    in another MammoView opens read-only, with a banner, and is checked again on every
    beat (its edits appear, and it becomes editable when the other window lets go).

Errors
    Every session call goes through :meth:`ReadingController._call`: a database or
    validation error becomes one line in the status bar (database errors also in the
    Problems list), never an exception out of a Qt slot.

Marks
    Findings and rulers are drawn on every panel showing their image (the original
    and its enhanced views); in the four-view hanging, a finding on one view of a
    breast also shows on the other view as a reminder band
    (:mod:`mammoview.gui.reminders`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QScrollArea, QToolBar

from mammoview.core.image import Image
from mammoview.core.study import Study
from mammoview.gui.panels.reading import MarkRow, ReadingPanel
from mammoview.gui.reminders import ReminderBands
from mammoview.gui.viewer.annotations import (
    TOOL_HINTS,
    TOOL_TITLES,
    TOOLS,
    DrawTool,
    mark_tooltip,
    pick_mark,
    size_text,
)
from mammoview.gui.wlpresets import WindowPresets
from mammoview.gui.workers import JobFailure, JobRunner
from mammoview.reading import ReadingSession, ReadingStore, study_identity
from mammoview.reading.errors import LeaseLostError, ReadingError, StoreError, StudyLockedError
from mammoview.reading.model import Measurement, ReaderFinding, Reading

log = logging.getLogger(__name__)

#: One press of [ or ] turns the selected ellipse by this much.
ROTATE_STEP_DEG = 15

TOOL_KEYS = {"navigate": ["V", "Esc"], "point": ["X"], "ellipse": ["E"], "outline": ["F"], "ruler": ["L"]}
TOOL_SHORT = {"navigate": "Navigate", "point": "Point", "ellipse": "Ellipse", "outline": "Outline",
              "ruler": "Ruler"}
# Edits slower than this on the UI thread are logged (the 50 ms budget of ARCHITECTURE.md).
SLOW_EDIT_MS = 50.0


class ReadingController(QObject):
    """Readings for a :class:`~mammoview.gui.main_window.MainWindow` (see the module docstring).

    Public state (for other parts of the window, e.g. the report and the worklist):
    :attr:`store`, :attr:`session`, :attr:`study`, :attr:`study_key`, :attr:`reading`,
    :attr:`selected`; :meth:`flush` saves what is being typed.

    Signals
    -------
    sessionChanged()
        A study's reading was opened or closed (:attr:`session` says which, or None).
    readingChanged(object)
        The open reading changed (an edit, undo/redo, or another window's edits on
        refresh): the new :class:`~mammoview.reading.model.Reading`.
    """

    sessionChanged = Signal()
    readingChanged = Signal(object)

    def __init__(self, window, store: ReadingStore | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.runner = JobRunner(self, max_threads=1)
        self.session: ReadingSession | None = None
        self.study: Study | None = None
        self.selected: str | None = None
        self.store_error = ""
        self.edit_ms: list[float] = []  # UI-thread time of each edit (tests, bench)
        self._shown_uids: tuple[str, ...] = ()
        self._pending_center: tuple[str, float, float] | None = None
        self._store = store if store is not None else self._open_store()

        self.panel = ReadingPanel()
        self.dock = self._build_dock(window)
        self.reminders = ReminderBands(self.runner, window.viewer, self._paint_marks, self)
        self.tool = DrawTool(self)
        window.viewer.set_tool(self.tool)
        self.presets = WindowPresets(window.viewer, self.runner, lambda: self._store, self._report, self)
        self._build_actions()

        self._heartbeat = QTimer(self)
        self._heartbeat.timeout.connect(self._beat)

        self._connect()
        window.viewer.panelsChanged.connect(self._on_panels_changed)
        self._update_actions()

    # ================================================================ public state
    @property
    def store(self) -> ReadingStore | None:
        """The per-user readings database (None when it could not be opened)."""
        return self._store

    @property
    def study_key(self) -> str | None:
        """The open study's key in the store (None while none is open)."""
        return self.session.study_key if self.session is not None else None

    @property
    def reading(self) -> Reading | None:
        return self.session.reading if self.session is not None else None

    def flush(self) -> None:
        """Save what is being typed (impression, a finding's note) now."""
        self.panel.flush()

    # ================================================================ construction
    def _build_dock(self, window) -> QDockWidget:
        """The Reading dock, in front of the right-hand tab stack."""
        dock = QDockWidget("Reading", window)
        dock.setObjectName("readingDock")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.panel)
        dock.setWidget(scroll)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        # One tab stack down the right side, the reading in front: a stack adds one tab
        # bar to the column's minimum height, where docks one above the other add theirs
        # (small screens have no height to spare).
        stack = [getattr(window, "enhancement_dock", None), dock,
                 getattr(getattr(window, "ai", None), "dock", None)]
        stack = [item for item in stack if item is not None]
        for first, second in zip(stack, stack[1:]):
            window.tabifyDockWidget(first, second)
        dock.raise_()
        # Wide enough for the panel without a horizontal scroll bar (plus the vertical one).
        dock.setMinimumWidth(max(340, self.panel.minimumSizeHint().width() + 24))
        return dock

    def _connect(self) -> None:
        """The tool's and the dock's signals to session edits."""
        self.tool.modeChanged.connect(self._on_mode)
        self.tool.pointPlaced.connect(self._on_point)
        self.tool.ellipseDrawn.connect(self._on_ellipse)
        self.tool.outlineDrawn.connect(self._on_outline)
        self.tool.rulerDrawn.connect(self._on_ruler)
        self.tool.clicked.connect(self._on_click)
        self.tool.markMoved.connect(self._on_moved)
        self.tool.grab = self._grab_selected
        p = self.panel
        p.markSelected.connect(lambda mark_id: self.select(mark_id, center=True))
        p.typeChanged.connect(lambda mark_id, kind: self._edit("Type", "update_finding", mark_id, type=kind))
        p.noteChanged.connect(self._on_note)
        p.deleteRequested.connect(self.delete_mark)
        p.biradsChanged.connect(lambda side, value: self._edit("BI-RADS", "set_birads", side, value))
        p.densityChanged.connect(lambda value: self._edit("Density", "set_density", value))
        p.impressionChanged.connect(lambda text: self._edit("Impression", "set_impression", text))
        p.markReadRequested.connect(self.mark_read)
        p.reopenRequested.connect(lambda: self._edit("Reopen", "reopen"))

    def _open_store(self) -> ReadingStore | None:
        try:
            return ReadingStore()
        except (StoreError, OSError) as err:
            self.store_error = str(err)
            log.warning("readings database unavailable: %s", err)
            self.window.problems.add_problem("readings database", f"readings are not saved: {err}")
            return None

    def _action(self, text: str, keys=(), slot: Callable | None = None, *, checkable=False,
                tip: str = "") -> QAction:
        action = QAction(text, self.window)
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(slot)
        if tip:
            action.setToolTip(tip)
        self.window.addAction(action)  # shortcuts work with the menu bar hidden too
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.tool_group = QActionGroup(self)
        self.act_tools: dict[str, QAction] = {}
        for mode in TOOLS:
            act = a(f"{TOOL_TITLES[mode]}", TOOL_KEYS[mode], lambda _=False, m=mode: self.set_tool(m),
                    checkable=True, tip=f"{TOOL_TITLES[mode]}: {TOOL_HINTS[mode]}")
            act.setIconText(TOOL_SHORT[mode])
            self.tool_group.addAction(act)
            self.act_tools[mode] = act
        self.act_tools["navigate"].setChecked(True)
        self.act_undo = a("&Undo", [QKeySequence.StandardKey.Undo], self.undo)
        self.act_redo = a("&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], self.redo)
        self.act_undo.setIconText("Undo")  # the toolbar keeps a short, fixed text
        self.act_redo.setIconText("Redo")
        self.act_delete = a("&Delete selected mark", ["Delete", "Backspace"],
                            lambda: self.delete_mark(self.selected))
        # Drawing makes axis-aligned ellipses (a drag spans a box); a lesion lying
        # obliquely is then fitted by turning the selected one in steps.
        self.act_rotate = [
            a(f"Rotate selected ellipse {sign}{ROTATE_STEP_DEG}°", [key],
              lambda _=False, d=sign_value * ROTATE_STEP_DEG: self.rotate_selected(d),
              tip=f"Turn the selected ellipse finding by {ROTATE_STEP_DEG}° ({key}); undo restores it")
            for sign, sign_value, key in (("+", 1, "]"), ("−", -1, "["))]
        self.act_mark_read = a("&Mark study read", ["Ctrl+Return"], self.mark_read,
                               tip="Finish the reading (needs the overall BI-RADS)")
        for act in (self.presets.act_next, self.presets.act_save_default, self.presets.act_clear_default):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.window.addAction(act)
        self.type_combo = self.panel.new_type  # the type the next finding gets

    def fill_edit_menu(self, menu: QMenu) -> None:
        menu.addAction(self.act_undo)
        menu.addAction(self.act_redo)
        menu.addSeparator()
        menu.addAction(self.act_delete)
        for act in self.act_rotate:
            menu.addAction(act)

    def fill_reading_menu(self, menu: QMenu) -> None:
        for mode in TOOLS:
            menu.addAction(self.act_tools[mode])
        menu.addSeparator()
        menu.addAction(self.act_mark_read)
        menu.addSeparator()
        menu.addAction(self.dock.toggleViewAction())

    def add_toolbar(self, main: QToolBar) -> QToolBar:
        """The window presets at the end of the ``main`` toolbar, and the Reading tool
        strip down the window's left edge (a second row of toolbars would raise the
        window's minimum height, which small screens do not have to spare)."""
        buttons = [main.widgetForAction(a) for a in main.actions()]
        height = max((b.sizeHint().height() for b in buttons if b is not None), default=0)
        if height:  # as tall as the toolbar's buttons: the toolbar (and the window) grow not
            self.presets.combo.setMaximumHeight(height)
        main.addSeparator()
        main.addWidget(QLabel(" Window: "))
        main.addWidget(self.presets.combo)
        bar = QToolBar("Reading tools")
        bar.setObjectName("readingToolbar")
        bar.setMovable(False)
        bar.setOrientation(Qt.Orientation.Vertical)
        for mode in TOOLS:
            bar.addAction(self.act_tools[mode])
        bar.addSeparator()
        bar.addAction(self.act_undo)
        bar.addAction(self.act_redo)
        self.window.addToolBar(Qt.ToolBarArea.LeftToolBarArea, bar)
        return bar

    def shortcut_actions(self) -> list[QAction]:
        """The reading actions with keys, for Help > Keyboard shortcuts."""
        return [*self.act_tools.values(), self.act_delete, *self.act_rotate, self.act_undo, self.act_redo,
                self.act_mark_read, self.presets.act_next]

    # ================================================================ session life
    def study_selected(self) -> None:
        """The window selected an image: open its study's reading if it is another study."""
        study = self.window.current_study()
        if study is self.study:
            return
        self._close_session()
        self.study = study
        if study is None:
            self.panel.set_unavailable("Open a study to record a reading")
            return
        title = _study_title(study)
        if self._store is None:
            self.panel.set_unavailable(f"Readings are not saved: {self.store_error}", study=title)
            return
        self.panel.set_unavailable("Opening the reading…", study=title)
        self.runner.bump("open")
        store = self._store
        self.runner.submit(lambda ctx: study_identity(study, store=store), name="reading: study key",
                           channels=("open",),
                           on_done=lambda identity, s=study: self._on_identity(s, identity),
                           on_error=lambda f, s=study: self._on_identity_failed(s, f))

    def _on_identity(self, study: Study, identity) -> None:
        if study is not self.study:
            return
        try:
            session = ReadingSession.open(self._store, study, identity=identity, allow_read_only=True)
        except (ReadingError, OSError, sqlite3.Error) as err:
            self._open_failed(study, str(err))
            return
        self.session = session
        session.add_listener(self._on_change)
        self._heartbeat.start(int(session.heartbeat_interval_s * 1000))
        if session.read_only:
            self._report("Read-only: this study is open for editing in another MammoView", False)
        self._refresh_all()
        self.sessionChanged.emit()

    def _on_identity_failed(self, study: Study, failure: JobFailure) -> None:
        if study is self.study:
            self._open_failed(study, failure.message)

    def _open_failed(self, study: Study, reason: str) -> None:
        source = study.first.display_name if study.images else "study"
        self.panel.set_unavailable(f"Reading not available: {reason}", study=_study_title(study))
        self._report(f"{source}: reading not available ({reason})", True)
        self._update_actions()

    def _close_session(self) -> None:
        session = self.session
        if session is None:
            return
        self.flush()  # typed text belongs to the study it was typed for
        self._heartbeat.stop()
        session.remove_listener(self._on_change)
        self._call("Closing the reading", session.close)
        self.session = None
        self.selected = None
        self._pending_center = None
        self._refresh_all()
        self.sessionChanged.emit()

    def shutdown(self) -> None:
        """The window closes: save what is typed, give the lease back, close the database."""
        self._close_session()
        self.runner.cancel_all()
        self.runner.wait_for_done(3000)
        if self._store is not None:
            self._store.close()
            self._store = None

    def _beat(self) -> None:
        """Keep the lease (writable) or look again (read-only: edits elsewhere, the lease)."""
        session = self.session
        if session is None:
            return
        if session.read_only:
            was = session.read_only
            self._call("Refreshing the reading", session.refresh)
            if was and self.session is session and not session.read_only:
                self._report("This study is now yours to edit (the other window closed it)", False)
        elif self._call("Keeping the study open", session.heartbeat) is False:
            self._report(f"Read-only now: {session.lock}", True)

    # ================================================================ calls into the session
    def _edit(self, what: str, method: str, *args, **kwargs):
        """Call the open session's ``method`` through :meth:`_call` (None without a session)."""
        if self.session is None:
            self._report(f"{what}: no reading is open (open a study first)", False)
            return None
        return self._call(what, getattr(self.session, method), *args, **kwargs)

    def _call(self, what: str, fn: Callable, *args, **kwargs):
        """``fn(*args, **kwargs)`` with every reading error turned into one line."""
        start = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except LeaseLostError as err:
            self._report(f"{what} not saved: {err}", True)
            return None
        except StudyLockedError as err:
            self._report(f"{what} not saved: read-only ({err})", False)
            return None
        except StoreError as err:
            self._report(f"{what} not saved: {err}", True)
            return None
        except ReadingError as err:
            self._report(f"{what}: {err}", False)
            return None
        except (OSError, sqlite3.Error) as err:
            name = self._store.path.name if self._store is not None else "readings database"
            self._report(f"{what} not saved: {name}: {err}", True)
            return None
        elapsed = (time.perf_counter() - start) * 1000
        self.edit_ms.append(elapsed)
        if elapsed > SLOW_EDIT_MS:
            log.info("%s took %.0f ms on the UI thread", what, elapsed)
        return result

    def _report(self, text: str, error: bool) -> None:
        self.window._set_work(text)
        if error:
            source = self._store.path.name if self._store is not None else "readings database"
            self.window.problems.add_problem(source, text)

    # ================================================================ edits
    def undo(self) -> None:
        self.flush()
        if self.session is not None and self._edit("Undo", "undo") is False:
            self._report("Nothing to undo", False)

    def redo(self) -> None:
        self.flush()
        if self.session is not None and self._edit("Redo", "redo") is False:
            self._report("Nothing to redo", False)

    def mark_read(self) -> None:
        self.flush()
        if self.session is not None and self._edit("Mark read", "mark_read") is not None:
            self._report("Study marked read", False)

    def delete_mark(self, mark_id: str | None) -> None:
        reading = self.reading
        if reading is None or not mark_id:
            return
        if any(f.id == mark_id for f in reading.findings):
            self._edit("Delete", "remove_finding", mark_id)
        elif any(m.id == mark_id for m in reading.measurements):
            self._edit("Delete", "remove_ruler", mark_id)

    def _on_note(self, mark_id: str, note: str) -> None:
        reading = self.reading
        if reading is None:
            return
        if any(m.id == mark_id for m in reading.measurements):
            self._edit("Note", "update_ruler", mark_id, note=note)
        elif any(f.id == mark_id for f in reading.findings):
            self._edit("Note", "update_finding", mark_id, note=note)

    def new_type(self) -> str:
        return self.type_combo.currentText()

    def _context(self, panel):
        session = self.session
        if session is None:
            self._report("No reading is open yet for this study", False)
            return None
        return self._call("Mark", session.context_for, panel.image)

    def _added(self, mark) -> None:
        if mark is not None:
            self.select(mark.id)
            self._report(f"Saved: {mark_tooltip(mark).splitlines()[0]}", False)

    def _on_point(self, panel, where) -> None:
        ctx = self._context(panel)
        if ctx is not None:
            self._added(self._edit("Point finding", "add_point", ctx, self.new_type(), where))

    def _on_ellipse(self, panel, center, radii) -> None:
        ctx = self._context(panel)
        if ctx is not None:
            self._added(self._edit("Ellipse finding", "add_ellipse", ctx, self.new_type(), center, radii))

    def _on_outline(self, panel, points) -> None:
        ctx = self._context(panel)
        if ctx is not None:
            self._added(self._edit("Outline finding", "add_outline", ctx, self.new_type(), points))

    def _on_ruler(self, panel, start, end) -> None:
        ctx = self._context(panel)
        if ctx is not None:
            self._added(self._edit("Ruler", "add_ruler", ctx, start, end))

    def _on_click(self, panel, where, tolerance: float) -> None:
        reading, key = self.reading, self._image_key(panel.image)
        if reading is None or key is None:
            return
        marks = [*reading.findings_on(key), *reading.measurements_on(key)]
        self.select(pick_mark(marks, where[0], where[1], tolerance))

    def _selected_mark(self) -> ReaderFinding | Measurement | None:
        """The selected finding or ruler of the open reading, or None."""
        if self.reading is None or self.selected is None:
            return None
        return _find(self.reading, self.selected)

    def _grab_selected(self, panel, where, tolerance: float) -> str | None:
        """The selected mark, when a navigate-mode drag starts on it (it moves)."""
        key = self._image_key(panel.image)
        if key is None or self.session.read_only:
            return None
        mark = self._selected_mark()
        if mark is None or mark.image_key != key:
            return None
        return pick_mark([mark], where[0], where[1], tolerance)

    def rotate_selected(self, step_deg: float) -> None:
        """Turn the selected ellipse finding by ``step_deg`` (+: from the column axis
        towards the row axis, clockwise as the image is stored; a mirrored hanging panel
        shows it turning the other way). Kept in [0, 180): an ellipse repeats after 180°."""
        mark = self._selected_mark()
        if not _is_ellipse(mark):
            self._report("Rotate: select an ellipse finding first", False)
            return
        angle = round((mark.angle_deg + step_deg) % 180.0, 6)
        self._edit("Rotate", "update_finding", mark.id, angle_deg=angle)
        self._paint_marks()

    def _on_moved(self, panel, mark_id: str, delta) -> None:
        mark = self.reading and _find(self.reading, mark_id)
        if mark:
            dr, dc = delta
            if isinstance(mark, Measurement):
                self._edit("Move", "update_ruler", mark_id, start=(mark.start[0] + dr, mark.start[1] + dc),
                           end=(mark.end[0] + dr, mark.end[1] + dc))
            else:
                self._edit("Move", "update_finding", mark_id,
                           points=tuple((r + dr, c + dc) for r, c in mark.points))
        self._paint_marks()  # the saved position (the drag only slid the drawing)

    # ================================================================ tools and selection
    def set_tool(self, mode: str) -> None:
        if mode != "navigate" and not self.tool.enabled:
            self._report("Drawing needs an editable reading (open a study; read-only studies cannot be marked)",
                         False)
            mode = "navigate"
        self.tool.set_mode(mode)
        self.act_tools[mode].setChecked(True)

    def _on_mode(self, mode: str) -> None:
        self.act_tools[mode].setChecked(True)
        self._set_cursors()
        self._report(f"{TOOL_TITLES[mode]}: {TOOL_HINTS[mode]}", False)

    def _set_cursors(self) -> None:
        shape = Qt.CursorShape.CrossCursor if self.tool.drawing else Qt.CursorShape.ArrowCursor
        for panel in self.window.viewer.panels():
            panel.view.viewport().setCursor(shape)

    def select(self, mark_id: str | None, *, center: bool = False) -> None:
        """Select a finding or ruler (None: nothing); ``center`` pans the panels to it,
        showing its image first when the panels show another one."""
        reading = self.reading
        if reading is None or (mark_id is not None and _find(reading, mark_id) is None):
            mark_id = None
        self.selected = mark_id
        self.panel.select(mark_id)
        self._paint_marks()
        self._update_actions()
        if center and mark_id is not None:
            self._center_on(_find(reading, mark_id))

    def _center_on(self, mark) -> None:
        uid = self._uid_of(mark.image_key)
        if uid is None:
            return
        row, col = _mark_center(mark)
        if self.window.viewer.center_on(uid, row, col):
            return
        study = self.study  # the mark's image is not shown: show it, centre when it is
        position = self.window.position
        if study is None or position is None:
            return
        index = next((i for i, ref in enumerate(study.images) if ref.uid == uid), None)
        if index is not None:
            self._pending_center = (uid, row, col)
            self.window.show_image(position.study, index)

    # ================================================================ painting
    def _on_change(self, reading: Reading, command) -> None:
        if self.selected is not None and _find(reading, self.selected) is None:
            self.selected = None
        self._refresh_all()
        self.readingChanged.emit(reading)

    def _refresh_all(self) -> None:
        self._paint_panel()
        self._paint_marks()
        self._update_actions()

    def _paint_panel(self) -> None:
        session = self.session
        if session is None:
            if self.study is None:
                self.panel.set_unavailable("Open a study to record a reading")
            return
        reading = session.reading
        banner = ""
        if session.read_only:
            banner = (f"Read-only: {session.lock or 'this study is open in another MammoView'}. "
                      f"Checked again every {session.heartbeat_interval_s:.0f} s.")
        rows, missing = self._rows(reading)
        note = (f"⚠ {missing} mark(s) on images without pixel spacing: sizes in pixels, not mm"
                if missing else "")
        self.panel.show_reading(reading, rows, study=_study_title(self.study), read_only=session.read_only,
                                banner=banner, spacing_note=note)
        self.panel.select(self.selected)

    def _rows(self, reading: Reading) -> tuple[list[MarkRow], int]:
        rows, missing = [], 0
        for number, finding in enumerate(reading.findings, start=1):
            rows.append(MarkRow(finding.id, str(number), finding.type, _where(finding),
                                size_text(finding) or "point", finding.note, mark_tooltip(finding)))
            missing += finding.spacing_mm is None
        for number, ruler in enumerate(reading.measurements, start=1):
            rows.append(MarkRow(ruler.id, f"R{number}", "ruler", _where(ruler), size_text(ruler), ruler.note,
                                mark_tooltip(ruler), is_ruler=True))
            missing += ruler.spacing_mm is None
        return rows, missing

    def _update_actions(self) -> None:
        session = self.session
        writable = session is not None and not session.read_only
        self.tool.enabled = writable
        for mode, act in self.act_tools.items():
            act.setEnabled(writable or mode == "navigate")
        if not writable and self.tool.mode != "navigate":
            self.set_tool("navigate")
        self.act_undo.setEnabled(bool(session and session.can_undo))
        self.act_redo.setEnabled(bool(session and session.can_redo))
        self.act_undo.setText(f"&Undo {session.undo_label}" if session and session.can_undo else "&Undo")
        self.act_redo.setText(f"&Redo {session.redo_label}" if session and session.can_redo else "&Redo")
        self.act_delete.setEnabled(writable and self.selected is not None)
        turnable = writable and _is_ellipse(self._selected_mark())
        for act in self.act_rotate:
            act.setEnabled(turnable)
        self.act_mark_read.setEnabled(writable and session.reading.state != "read")

    def _image_key(self, image: Image | None) -> str | None:
        if image is None or self.session is None:
            return None
        return self.session.identity.image_keys.get(image.uid)

    def _uid_of(self, image_key: str) -> str | None:
        if self.session is None:
            return None
        return next((uid for uid, key in self.session.identity.image_keys.items() if key == image_key), None)

    def _paint_marks(self) -> None:
        reading = self.reading
        viewer = self.window.viewer
        numbered = list(enumerate(reading.findings, start=1)) if reading is not None else []
        hanging = viewer.mode() == "hanging"
        for panel in viewer.panels():
            key = self._image_key(panel.image)
            if reading is None or key is None:
                panel.annotations.clear()
                continue
            findings = [(n, f) for n, f in numbered if f.image_key == key]
            bands = self.reminders.bands(panel, numbered, self._image_key) if hanging else []
            panel.annotations.show(findings, reading.measurements_on(key), bands, self.selected)

    def marks_on(self, panel) -> list[str]:
        """Ids of the marks drawn on ``panel`` now (findings, rulers; tests)."""
        return list(panel.annotations.mark_ids)

    # --- the viewer rebuilt its panels ---------------------------------------------------

    def _on_panels_changed(self) -> None:
        viewer = self.window.viewer
        shown = tuple(viewer.shown_uids())
        new = shown != self._shown_uids
        self._shown_uids = shown
        if viewer.mode() == "hanging":
            self.reminders.request()
        self._paint_marks()
        self._set_cursors()
        if new:
            images = viewer.shown_images()
            current = self.window.image if viewer.mode() == "panels" else None
            self.presets.image_shown(current or (images[0] if images else None), new_image=True)
        pending = self._pending_center
        if pending is not None and pending[0] in shown:
            self._pending_center = None
            viewer.center_on(*pending)


# ==================================================================== helpers
def _study_title(study: Study | None) -> str:
    if study is None:
        return ""
    from mammoview.gui.panels.study_browser import study_title

    return study_title(study)


def _is_ellipse(mark) -> bool:
    return isinstance(mark, ReaderFinding) and mark.shape == "ellipse"


def _find(reading: Reading, mark_id: str) -> ReaderFinding | Measurement | None:
    for item in (*reading.findings, *reading.measurements):
        if item.id == mark_id:
            return item
    return None


def _where(item: ReaderFinding | Measurement) -> str:
    return " ".join(p for p in (item.laterality or "", item.view or "") if p) or "—"


def _mark_center(item: ReaderFinding | Measurement) -> tuple[float, float]:
    if isinstance(item, Measurement):
        return (item.start[0] + item.end[0]) / 2, (item.start[1] + item.end[1]) / 2
    rows = [p[0] for p in item.points]
    cols = [p[1] for p in item.points]
    return (min(rows) + max(rows)) / 2, (min(cols) + max(cols)) / 2
