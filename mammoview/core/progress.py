"""Progress events and cancellation for long jobs.

A long core job is a generator that yields :class:`Progress` and checks a
:class:`CancelToken`; the CLI, the GUI worker and the tests all consume the same
generator.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` units finished; ``partial`` carries a usable partial result."""

    done: int
    total: int
    message: str = ""
    partial: Any = None

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(1.0, self.done / self.total)


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set."""


class CancelToken:
    """Thread-safe flag a UI sets and a worker polls between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


NEVER_CANCELLED = CancelToken()


def run_to_end(job: Iterator[Progress]) -> Any:
    """Run a progress generator with nobody watching; return what it returns."""
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value


def format_duration(seconds: float | None) -> str:
    """"03:12", "1:02:03", or "--:--" when unknown: how the CLI and the dialogs show ETAs."""
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
