"""AI triage: classify every image of every listed study in the background.

Models > "Classify all studies" feeds the worklist's AI column study by study, so the
reader can sort the list by AI suspicion while reading goes on. It reuses the
:class:`~mammoview.gui.aicontrol.AiController`'s classification path and results cache;
what lives here is only the bookkeeping: which images are left, the progress text, the
toggling action, stopping.

Why it cannot disturb reading:

* its jobs run on their own channel, :data:`CHANNEL`, which showing other images never
  bumps (moving on does not cancel triage), and at :data:`PRIORITY`, below the shown
  images' (1), the current study's (0) and the prefetch (-1);
* at most :data:`IN_FLIGHT` triage job is outstanding at a time. The AI runner has two
  threads and the compute lane two processes; queueing every image at once would fill
  both, and a running job is never pre-empted by a higher priority one, so the current
  image would wait for two triage images instead of at most one;
* an image the shown study or the prefetch is already classifying is skipped (its result
  lands in the same cache) and looked at again once the queue is empty, in case that job
  was cancelled by the reader moving on.

Research use only, not for diagnosis.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

#: The runner channel of triage jobs: bumped only to stop triage.
CHANNEL = "triage"
#: Below the prefetch (-1): the reader's own images always start first.
PRIORITY = -2
#: Triage jobs outstanding at once (see the module docstring).
IN_FLIGHT = 1
#: Prefix of the triage jobs' names (kept out of the AI status label's job list).
JOB_PREFIX = "triage "

START_TEXT = "Classify all studies"
STOP_TEXT = "Stop classifying all studies"


class AiTriage(QObject):
    """The "Classify all studies" action, its progress label and its queue.

    Signals
    -------
    progressed(int, int)
        Images of the triaged studies with a result (classified, unclassifiable or
        failed), and their total; after each change while triage runs.
    finished(str)
        Triage ended: "done", "stopped" or the reason it was stopped.
    """

    progressed = Signal(int, int)
    finished = Signal(str)

    def __init__(self, ai) -> None:
        super().__init__(ai)
        self.ai = ai
        self.window = ai.window
        self.active = False
        self._refs: list = []  # every image to triage, in order (unique uids)
        self._queue: deque = deque()
        self._in_flight: set[str] = set()  # uids whose triage job is outstanding
        self._last: tuple[int, int] | None = None
        self.action = QAction(START_TEXT, self.window)
        self.action.setObjectName("classifyAllStudies")
        self.action.triggered.connect(self.toggle)
        self.label = QLabel("")
        self.label.setObjectName("aiTriageLabel")
        self.label.hide()
        self.window.statusBar().addPermanentWidget(self.label)
        self.update_action()

    # ================================================================ the action
    def toggle(self) -> None:
        if self.active:
            self.stop("stopped")
        else:
            self.start()

    def update_action(self) -> None:
        """Text, enabled state and tooltip for the studies and models there are now."""
        ai = self.ai
        self.action.setText(STOP_TEXT if self.active else START_TEXT)
        if self.active:
            self.action.setEnabled(True)
            tip = "Stop the background classification (the results so far are kept)"
        elif ai.state == "disabled":
            self.action.setEnabled(False)
            tip = f"AI disabled: {ai.error}"
        elif not self.window.studies:
            self.action.setEnabled(False)
            tip = "Open studies first"
        else:
            self.action.setEnabled(True)
            tip = ("Classify every image of every listed study in the background, for the "
                   "Studies list's AI column (research use only)")
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)

    # ================================================================ start, stop
    def start(self) -> None:
        """Queue every not-yet-classified image of the listed studies (once the models are
        ready); say why not when the AI is disabled or nothing is open."""
        ai = self.ai
        if ai.state == "disabled":
            self._say(f"AI: cannot classify all studies: AI disabled: {ai.error}")
            self.update_action()
            return
        studies = list(self.window.studies)
        if not studies:
            self._say("AI: no studies to classify")
            return
        self._refs = _ordered_refs(studies, self.window.current_study())
        self._queue = deque(self._refs)
        self._in_flight = set()
        self._last = None
        self.active = True
        self.update_action()
        if not ai.ready:
            self._say("AI: classifying all studies: waiting for the models…")
            if ai.state == "not yet":
                ai.start()
            return
        self._begin()

    def _begin(self) -> None:
        # Studies already fully classified (visited, or a second run) still need their
        # aggregate for the worklist column.
        for study in list(self.window.studies):
            self.ai.maybe_aggregate(study)
        self.feed()

    def stop(self, reason: str = "stopped", *, reask: bool = True) -> None:
        """Cancel the queued and running triage jobs; results so far are kept.

        ``reask``: the shown images' classifications that a cancelled triage job was
        doing are asked for again (not when the models are being replaced anyway)."""
        if not self.active:
            return
        done, total, failed = self.counts()
        self.active = False
        self._queue.clear()
        cancelled, self._in_flight = self._in_flight, set()
        self.ai.runner.bump(CHANNEL)
        self.ai.forget_jobs(cancelled, reask=reask)
        self.update_action()
        text = f"AI: classifying all studies {reason} at {done}/{total} images"
        if failed:
            text += f" ({failed} failed, see Problems)"
        self._say(text)
        self.finished.emit(reason)

    # ================================================================ the AI's events
    def models_ready(self) -> None:
        self.update_action()
        if self.active:
            self._begin()

    def models_disabled(self, reason: str) -> None:
        if self.active:
            self.stop(f"stopped (AI disabled: {reason})")
        self.update_action()

    def studies_changed(self) -> None:
        """The window lists other studies: triage of the old ones is stale."""
        if self.active:
            self.stop("stopped (other studies were opened)")
        else:
            self.label.hide()
        self._refs, self._last = [], None
        self.update_action()

    def owns(self, uid: str) -> bool:
        """A triage job for ``uid`` is outstanding (its pending mark must survive the
        shown images changing)."""
        return uid in self._in_flight

    def feed(self) -> None:
        """Keep :data:`IN_FLIGHT` triage jobs going; report progress; finish when every
        image has a result. Called after every classification, failure and drop."""
        ai = self.ai
        if not self.active or not ai.ready:
            return
        self._in_flight = {uid for uid in self._in_flight if ai.is_classifying(uid)}
        while len(self._in_flight) < IN_FLIGHT:
            ref = self._next()
            if ref is None:
                break
            self._in_flight.add(ref.uid)
            ai.classify_ref(ref, channels=(CHANNEL,), priority=PRIORITY, prefix=JOB_PREFIX)
        done, total, failed = self.counts()
        if done >= total and not self._in_flight:
            self.active = False
            self.update_action()
            text = f"AI: all studies classified ({total} images"
            self._say(text + (f", {failed} failed: see Problems)" if failed else ")"))
            self.progressed.emit(done, total)
            self.finished.emit("done")
            return
        if (done, total) != self._last:
            self._last = (done, total)
            text = f"AI: classifying all studies {done}/{total} images"
            self._say(text + (f" ({failed} failed)" if failed else ""))
            self.progressed.emit(done, total)

    def _next(self):
        """The next image with no result that nothing is classifying, else None."""
        ai = self.ai
        for attempt in range(2):
            while self._queue:
                ref = self._queue.popleft()
                if ai.result_for(ref.uid) is None and not ai.is_classifying(ref.uid):
                    return ref
            if attempt == 0:  # skipped ones whose other job was cancelled meanwhile
                self._queue.extend(r for r in self._refs if ai.result_for(r.uid) is None
                                   and not ai.is_classifying(r.uid))
        return None

    def counts(self) -> tuple[int, int, int]:
        """(images with a result, images in all, images whose classification failed)."""
        done = failed = 0
        for ref in self._refs:
            result = self.ai.result_for(ref.uid)
            if result is not None:
                done += 1
                failed += result.failed
        return done, len(self._refs), failed

    def _say(self, text: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(text + " (research use only, not for diagnosis)")
        self.label.show()


def _ordered_refs(studies, current) -> list:
    """Every image once, from the current study on (the reader reads forward), wrapping."""
    start = next((i for i, s in enumerate(studies) if s is current), 0)
    refs, seen = [], set()
    for study in studies[start:] + studies[:start]:
        for ref in study.images:
            if ref.uid not in seen:
                seen.add(ref.uid)
                refs.append(ref)
    return refs
