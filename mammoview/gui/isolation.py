"""Run GIL-holding work (decoders, enhancements, segmentations) in separate processes.

Worker threads keep the UI responsive only while the code they run releases the GIL.
NumPy mostly does; the JPEG 2000 decoders do not: pylibjpeg-openjpeg calls OpenJPEG
without releasing it (it reads through Python file callbacks), and so does Pillow's
JPEG 2000 plugin, so decoding one full-field JPEG 2000 mammogram on a thread froze
the UI thread for its whole 1.5 s (measured: a 2 ms Python ticker thread saw one
1.5 s gap). A :class:`ProcessLane` runs such work in a small pool of spawned
processes instead; its caller (a worker thread) waits for the result without the GIL,
and two processes decode two images of a hanging in parallel.

No Qt here: the child processes import only this module and what the job needs.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from mammoview.core.errors import ImageReadError, UnsupportedFileError
from mammoview.core.progress import Cancelled, CancelToken

log = logging.getLogger(__name__)

# How often a waiting caller looks at its cancel token.
POLL_S = 0.05
DEFAULT_PROCESSES = 2
# Modules a fresh process imports before its first job (about 0.7 s in all).
WARM_MODULES = ("mammoview.io.loader", "mammoview.gui.viewer.prepare", "mammoview.gui.viewjobs")


class LaneUnavailable(RuntimeError):
    """Processes cannot be started here; the caller runs the job in its own thread."""


class ProcessLane:
    """A lazily started pool of spawned processes for GIL-holding jobs.

    Parameters
    ----------
    processes : int
        Pool size; two suits a two-core machine and the four views of a hanging.
    """

    def __init__(self, processes: int = DEFAULT_PROCESSES, *, niceness: int | None = None) -> None:
        self.processes = max(1, int(processes))
        self.niceness = CHILD_NICENESS if niceness is None else int(niceness)
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._unavailable: str | None = None
        self._warm: list[Future] = []

    @property
    def available(self) -> bool:
        return self._unavailable is None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._unavailable is not None:
                raise LaneUnavailable(self._unavailable)
            if self._executor is None:
                try:
                    # spawn, never fork: forking a process with Qt threads running can
                    # deadlock the child on a lock some other thread held.
                    context = multiprocessing.get_context("spawn")
                    self._executor = ProcessPoolExecutor(
                        self.processes, mp_context=context, initializer=_lower_priority,
                        initargs=(self.niceness,))
                except (OSError, ValueError, ImportError) as exc:
                    self._unavailable = f"cannot start decoding processes: {exc}"
                    raise LaneUnavailable(self._unavailable) from None
            return self._executor

    def warm_up(self) -> None:
        """Start every process and import the decoders now (returns at once)."""
        try:
            pool = self._pool()
            self._warm = [pool.submit(_import_modules, WARM_MODULES) for _ in range(self.processes)]
        except (LaneUnavailable, BrokenProcessPool, RuntimeError):
            pass

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the warm-up jobs finished (benchmarks and tests only)."""
        try:
            for future in self._warm:
                future.result(timeout)
        except Exception:  # noqa: BLE001 (a failed warm-up shows on the first real job)
            return False
        return True

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        cancel: CancelToken | None = None,
        discard: Callable[[Any], None] | None = None,
        on_crash: Callable[[], None] | None = None,
        poll: Callable[[], None] | None = None,
    ) -> Any:
        """``fn(*args)`` in a pool process; blocks the calling (worker) thread only.

        Parameters
        ----------
        discard : callable, optional
            Called with the result when it arrives after the caller stopped waiting
            (cancelled): frees what the result holds (shared-memory blocks).
        on_crash : callable, optional
            Called when the process died during the job (frees what it may have made).
        poll : callable, optional
            Called every :data:`POLL_S` while waiting (progress from the process).

        Raises
        ------
        Cancelled
            ``cancel`` was set while waiting (the process finishes the job; its
            result is thrown away, through ``discard``).
        ImageReadError
            As raised in the process, with its path and reason.
        LaneUnavailable
            No process can be started here; run ``fn`` in the thread instead.
        """
        try:
            future = self._pool().submit(_call_isolated, fn, *args)
        except BrokenProcessPool:
            self._reset()
            future = self._pool().submit(_call_isolated, fn, *args)
        while True:
            try:
                outcome = future.result(timeout=POLL_S)
                break
            except FutureTimeout:
                if cancel is not None and cancel.cancelled:
                    if not future.cancel():
                        future.add_done_callback(
                            lambda f: _discard_late(f, discard, on_crash))
                    raise Cancelled() from None
                if poll is not None:
                    poll()
            except BrokenProcessPool:
                self._reset()
                if on_crash is not None:
                    on_crash()
                raise RuntimeError(
                    "the worker process stopped unexpectedly (a decoder or filter crashed)"
                ) from None
        return _unwrap(outcome)

    def _reset(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._reset()


# ------------------------------------------------------------------ child side
#: Niceness of the worker processes: background work must not take the CPU from the UI
#: thread (on two cores, two busy workers at equal priority delayed its timers by
#: 100-200 ms under load; at niceness 10 the scheduler gives it ~10x their weight).
CHILD_NICENESS = 10


def _lower_priority(niceness: int = CHILD_NICENESS) -> None:
    try:
        if niceness:
            os.nice(niceness)
    except (AttributeError, OSError):  # not on this platform, or not allowed
        pass


def _import_modules(names: tuple[str, ...]) -> None:
    import importlib

    for name in names:
        importlib.import_module(name)


def _call_isolated(fn: Callable[..., Any], *args: Any) -> tuple:
    """Run ``fn`` in the child; errors travel as plain tuples (our exceptions take two
    arguments, which pickle cannot rebuild)."""
    try:
        return ("ok", fn(*args))
    except ImageReadError as exc:
        kind = "unsupported" if isinstance(exc, UnsupportedFileError) else "read"
        return (kind, exc.path, exc.reason)
    except Exception as exc:  # noqa: BLE001 (carried to the caller)
        # Our own refusals are ValueErrors whose text is meant for the reader; anything
        # else keeps its type, which is then the useful part.
        text = str(exc) if isinstance(exc, ValueError) and str(exc) else f"{type(exc).__name__}: {exc}"
        return ("error", text, traceback.format_exc())


def _discard_late(future: Future, discard, on_crash) -> None:
    """A result nobody waits for any more: free what it holds (runs in the pool's thread)."""
    try:
        outcome = future.result()
    except Exception:  # noqa: BLE001 (the process died: sweep what it may have made)
        if on_crash is not None:
            on_crash()
        return
    if outcome[0] == "ok" and discard is not None:
        try:
            discard(outcome[1])
        except Exception:  # noqa: BLE001
            log.exception("could not free a discarded result")


def _unwrap(outcome: tuple) -> Any:
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind == "read":
        raise ImageReadError(outcome[1], outcome[2])
    if kind == "unsupported":
        raise UnsupportedFileError(outcome[1], outcome[2])
    log.debug("job failed in a decoding process:\n%s", outcome[2])
    raise RuntimeError(outcome[1])


# ------------------------------------------------------------------ the shared lane
_shared: ProcessLane | None = None
_shared_lock = threading.Lock()


def shared_lane() -> ProcessLane:
    """The process-wide decoding lane (one pool for every window)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ProcessLane()
            atexit.register(_shared.shutdown)
        return _shared


# ------------------------------------------------------------------ the decoding lane
#: Decoding is what the reader waits for, so it has processes of its own, less niced than
#: the background lane's: a newly shown study must not queue its decode behind the
#: enhancement, segmentation and AI work still running for the previous image.
DECODE_NICENESS = 3
_decode: ProcessLane | None = None


def decode_lane() -> ProcessLane:
    """The process-wide lane for decoding images that are about to be shown."""
    global _decode
    with _shared_lock:
        if _decode is None:
            _decode = ProcessLane(niceness=DECODE_NICENESS)
            atexit.register(_decode.shutdown)
        return _decode
