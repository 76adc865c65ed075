"""The window's worklist side: reading states in the study browser, the AI column, the
"next unread study" key, and the saved reading the PDF report prints.

:class:`WorklistController` opens the per-user readings database
(:class:`mammoview.reading.ReadingStore`, ``$MAMMOVIEW_DATA_DIR/readings.sqlite3``)
and builds the core :class:`~mammoview.reading.Worklist` for the opened studies on its
own worker thread: non-DICOM studies are keyed by the SHA-256 of their files, which for
a fresh folder of full-field images takes seconds (cached in the database afterwards).
The browser then binds to it (:meth:`StudyBrowser.set_worklist`) and keeps it in step
with the database by itself (:meth:`StudyBrowser.refresh_states`, :meth:`StudyBrowser.poll`).

The database connection is the reading controller's (``window.reading.store``) when the
window has one, so a study's reading and its worklist row come from one connection;
that connection's own edits do not move SQLite's ``data_version``, so every change of
the open reading (``window.reading.readingChanged``) refreshes the states, coalesced
over :data:`REFRESH_DELAY_MS`. Edits from other windows arrive through the browser's poll.

Research use only, not for diagnosis.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QTimer, Signal

from mammoview.core.study import Study
from mammoview.gui.workers import JobFailure, JobRunner
from mammoview.reading.errors import ReadingError, StoreError

log = logging.getLogger(__name__)

#: How often the AI column looks for new study results (a dict lookup per study).
AI_POLL_MS = 1500
#: Edits of the open reading within this long refresh the states once.
REFRESH_DELAY_MS = 150


class WorklistController(QObject):
    """Reading states and AI scores in the browser; next unread; the saved reading.

    Signals
    -------
    worklistReady(int)
        The browser shows the reading states of this many studies.
    """

    worklistReady = Signal(int)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.browser = window.browser
        # Its own single thread: hashing a folder of images must not hold a thread that
        # loading the shown image needs.
        self.runner = JobRunner(self, max_threads=1)
        self._store = None
        self._store_lock = threading.Lock()
        self._ai_seen = -1
        self._ai_timer = QTimer(self)
        self._ai_timer.setInterval(AI_POLL_MS)
        self._ai_timer.timeout.connect(self.update_ai_scores)
        window.ai.classified.connect(lambda _uid: self.update_ai_scores())
        # "Classify all studies" fills the column study by study, as each is aggregated.
        window.ai.studyAggregated.connect(self.update_ai_scores)
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_DELAY_MS)
        self._refresh.timeout.connect(self.refresh_states)
        changed = getattr(getattr(window, "reading", None), "readingChanged", None)
        if changed is not None:
            changed.connect(lambda _reading: self._refresh.start())

    # ================================================================ the database
    def ensure_store(self):
        """The readings database: the reading controller's, else one opened here on first
        use (any thread). Raises StoreError when it cannot be opened."""
        shared = self._shared_store()
        if shared is not None:
            return shared
        with self._store_lock:
            if self._store is None:
                from mammoview.reading.store import ReadingStore

                self._store = ReadingStore()
            return self._store

    def _shared_store(self):
        return getattr(getattr(self.window, "reading", None), "store", None)

    @property
    def store(self):
        """The readings database in use, or None before the first worklist was built."""
        return self._shared_store() or self._store

    # ================================================================ worklist
    def set_studies(self, studies: list[Study]) -> None:
        """The window lists other studies: build their worklist off the UI thread."""
        from mammoview.reading.worklist import build_worklist

        self.runner.bump("worklist")
        self._ai_seen = -1
        if not studies:
            self._ai_timer.stop()
            return
        studies = list(studies)

        def job(ctx):
            store = self.ensure_store()
            ctx.check()
            return build_worklist(studies, store)

        self.runner.submit(job, name="worklist", channels=("worklist",),
                           on_done=lambda worklist: self._on_built(studies, worklist),
                           on_error=self._on_failed)

    def _on_built(self, studies: list[Study], worklist) -> None:
        shown = self.browser.studies()
        if len(shown) != len(studies) or any(a is not b for a, b in zip(shown, studies)):
            return  # the browser moved on to other studies meanwhile
        self.browser.set_worklist(worklist)
        self._ai_timer.start()
        self.update_ai_scores()
        self.worklistReady.emit(len(worklist.rows))

    def _on_failed(self, failure: JobFailure) -> None:
        message = failure.message if isinstance(failure.error, ReadingError) else (
            f"reading states unavailable ({type(failure.error).__name__}: {failure.message})")
        self.browser.set_worklist_problem(message)
        self.window.problems.add_problem("readings database", message)

    def refresh_states(self) -> int:
        """Re-read the reading states now (after an edit); see :meth:`StudyBrowser.refresh_states`."""
        return self.browser.refresh_states()

    # ================================================================ AI column
    def update_ai_scores(self) -> None:
        """Show each study's AI suspicion once the classifier has aggregated it."""
        ai = self.window.ai
        seen = len(ai.aggregates) if ai.ready else 0
        if seen == self._ai_seen:
            return
        self._ai_seen = seen
        for index, study in enumerate(self.browser.studies()):
            result = ai.study_result(study) if seen else None
            if result is None or not result.classified:
                self.browser.set_ai_score(index, None, "", "" if result is None else result.call())
                continue
            self.browser.set_ai_score(
                index, float(result.suspicion), f"{result.suspicion}/10",
                f"{result.describe()} (research use only, not for diagnosis)")

    # ================================================================ next unread
    def next_unread(self) -> int | None:
        """Show the next unread study in the browser's order (wrapping); its index, or None."""
        window = self.window
        current = window.position.study if window.position else None
        if self.browser.worklist is None:
            window._set_work(self.browser.problem or "Reading states are still loading")
            return None
        target = self.browser.next_unread(current)
        if target is None:
            window._set_work("No unread study left in the list shown")
            return None
        window.show_image(target, 0)
        return target

    # ================================================================ report
    def saved_reading(self, study: Study):
        """(identity, saved reading or None) of ``study``; raises StoreError / OSError.

        Uses the worklist's identity when it has one (no hashing); safe on a worker thread.
        """
        from mammoview.report.reading import saved_reading

        store = self.ensure_store()
        index = self._index_of(study)
        identity = self.browser.identity_of(index) if index is not None else None
        return saved_reading(store, study, identity=identity)

    def _index_of(self, study: Study) -> int | None:
        for i, known in enumerate(self.browser.studies()):
            if known is study:
                return i
        return None

    # ================================================================ shutdown
    def shutdown(self) -> None:
        """Stop the timers and the worker; close the database if it was opened here."""
        self._ai_timer.stop()
        self._refresh.stop()
        self.runner.bump("worklist")
        self.runner.cancel_all()
        self.runner.wait_for_done(3000)
        with self._store_lock:
            if self._store is not None:
                try:
                    self._store.close()
                except StoreError as err:  # closing never matters more than quitting
                    log.info("readings database not closed cleanly: %s", err)
                self._store = None
