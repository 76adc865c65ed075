"""The one place that runs core jobs off the UI thread.

The UI thread only starts work, receives results and paints. A job here is any callable
``fn(ctx)`` taking a :class:`JobContext` (its cancel token and a progress callback).
Each job names the *channels* it belongs to (for example ``("image",)`` for loading or
``("image", "view:clahe")`` for one enhanced panel). Bumping a channel cancels the jobs
running under it and makes any result they still deliver stale: the runner drops it
before it reaches the window, so a slow result for an image no longer shown can never
overwrite the current one.

Results, errors and progress cross back to the UI thread through queued Qt signals.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from mammoview.core.progress import Cancelled, CancelToken, Progress

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    """What a job receives: poll ``token`` between units of work, call ``report``."""

    token: CancelToken
    report: Callable[[Progress], None]

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job's channels were bumped."""
        self.token.raise_if_cancelled()


@dataclass
class JobFailure:
    """An exception raised inside a job, carried to the UI thread."""

    error: BaseException
    traceback: str
    name: str

    @property
    def message(self) -> str:
        return str(self.error) or type(self.error).__name__


@dataclass
class Ticket:
    """Handle on a submitted job: its id, channels and cancel token."""

    id: int
    name: str
    channels: tuple[str, ...]
    generations: tuple[int, ...]
    token: CancelToken = field(default_factory=CancelToken)

    def cancel(self) -> None:
        self.token.cancel()


class _Box:
    """Carries a payload through a queued signal.

    PySide6 mis-counts references to ``None`` passed as an ``object`` argument across
    threads (it aborts the interpreter), so every payload travels inside a box.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Signals(QObject):
    # (ticket id, payload): queued into the thread that owns this object (the UI thread).
    done = Signal(int, object)
    failed = Signal(int, object)
    progress = Signal(int, object)


class _Runnable(QRunnable):
    def __init__(self, ticket: Ticket, fn: Callable[[JobContext], Any], signals: _Signals):
        super().__init__()
        self.setAutoDelete(True)
        self._ticket = ticket
        self._fn = fn
        self._signals = signals

    def run(self) -> None:  # runs on a pool thread
        ticket = self._ticket
        if ticket.token.cancelled:
            self._signals.failed.emit(ticket.id, _Box(None))
            return
        ctx = JobContext(ticket.token, lambda p: self._signals.progress.emit(ticket.id, _Box(p)))
        try:
            result = self._fn(ctx)
            if inspect.isgenerator(result):
                result = _drain(result, ctx)
        except Cancelled:
            self._signals.failed.emit(ticket.id, _Box(None))
        except Exception as exc:  # any failure is reported, never raised into Qt
            self._signals.failed.emit(
                ticket.id, _Box(JobFailure(exc, traceback.format_exc(), ticket.name))
            )
        else:
            self._signals.done.emit(ticket.id, _Box(result))


def _drain(gen, ctx: JobContext) -> Any:
    """Run a core generator job: forward its Progress, return its value or last partial."""
    last = None
    while True:
        ctx.check()
        try:
            event = next(gen)
        except StopIteration as stop:
            return stop.value if stop.value is not None else last
        if isinstance(event, Progress):
            ctx.report(event)
            if event.partial is not None:
                last = event.partial


@dataclass
class _Pending:
    ticket: Ticket
    on_done: Callable[[Any], None] | None
    on_error: Callable[[JobFailure], None] | None
    on_progress: Callable[[Progress], None] | None


class JobRunner(QObject):
    """Submits jobs to a thread pool and delivers current results to the UI thread.

    Parameters
    ----------
    max_threads : int, optional
        Size of the private pool; defaults to 2 so that one long enhancement cannot
        starve image loading.

    Signals
    -------
    busyChanged(int)
        Number of jobs still outstanding, after each start or finish.
    dropped(str)
        Name of a job that was cancelled, or whose result arrived stale and was
        discarded before reaching its callback.
    """

    busyChanged = Signal(int)
    dropped = Signal(str)

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, max_threads))
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_done)
        self._signals.failed.connect(self._on_failed)
        self._signals.progress.connect(self._on_progress)
        self._generations: dict[str, int] = {}
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self.dropped_count = 0

    # -- generations -------------------------------------------------------------------
    def generation(self, channel: str) -> int:
        return self._generations.get(channel, 0)

    def bump(self, *channels: str) -> None:
        """Make every outstanding job on any of ``channels`` stale and cancel it."""
        for channel in channels:
            self._generations[channel] = self._generations.get(channel, 0) + 1
        wanted = set(channels)
        for pending in self._pending.values():
            if wanted.intersection(pending.ticket.channels):
                pending.ticket.cancel()

    def is_current(self, ticket: Ticket) -> bool:
        return all(
            self.generation(c) == g for c, g in zip(ticket.channels, ticket.generations)
        )

    # -- submission --------------------------------------------------------------------
    def submit(
        self,
        fn: Callable[[JobContext], Any],
        *,
        name: str = "job",
        channels: Iterable[str] = (),
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[JobFailure], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        priority: int = 0,
    ) -> Ticket:
        """Run ``fn(ctx)`` on the pool; call back on the UI thread if still current.

        ``fn`` may also return a generator of :class:`Progress` (a core long job); it is
        then drained on the worker and its return value (or last partial) delivered.
        """
        channels = tuple(channels)
        ticket = Ticket(
            next(self._ids), name, channels, tuple(self.generation(c) for c in channels)
        )
        self._pending[ticket.id] = _Pending(ticket, on_done, on_error, on_progress)
        self._pool.start(_Runnable(ticket, fn, self._signals), priority)
        self.busyChanged.emit(len(self._pending))
        return ticket

    @property
    def outstanding(self) -> int:
        return len(self._pending)

    def outstanding_names(self) -> list[str]:
        return [p.ticket.name for p in self._pending.values()]

    def cancel_all(self) -> None:
        for pending in self._pending.values():
            pending.ticket.cancel()
        self._pool.clear()

    def wait_for_done(self, msecs: int = -1) -> bool:
        """Block until the pool is idle (shutdown and tests only, never in a handler)."""
        return self._pool.waitForDone(msecs)

    # -- delivery (UI thread) ------------------------------------------------------------
    def _take(self, job_id: int) -> _Pending | None:
        pending = self._pending.pop(job_id, None)
        self.busyChanged.emit(len(self._pending))
        return pending

    @Slot(int, object)
    def _on_done(self, job_id: int, box: _Box) -> None:
        result = box.value
        pending = self._take(job_id)
        if pending is None:
            return
        if not self.is_current(pending.ticket) or pending.ticket.token.cancelled:
            self.dropped_count += 1
            self.dropped.emit(pending.ticket.name)
            return
        if pending.on_done is not None:
            pending.on_done(result)

    @Slot(int, object)
    def _on_failed(self, job_id: int, box: _Box) -> None:
        failure: JobFailure | None = box.value
        pending = self._take(job_id)
        if pending is None:
            return
        if failure is None or not self.is_current(pending.ticket):  # cancelled or stale
            self.dropped_count += 1
            self.dropped.emit(pending.ticket.name)
            return
        log.debug("job %s failed:\n%s", failure.name, failure.traceback)
        if pending.on_error is not None:
            pending.on_error(failure)

    @Slot(int, object)
    def _on_progress(self, job_id: int, box: _Box) -> None:
        progress: Progress = box.value
        pending = self._pending.get(job_id)
        if pending is None or pending.on_progress is None:
            return
        if self.is_current(pending.ticket):
            pending.on_progress(progress)
