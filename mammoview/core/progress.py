"""Progress events and cancellation for long jobs.

A long core job is a generator that yields :class:`Progress` and checks a
:class:`CancelToken`; the CLI, the GUI worker and the tests all consume the same
generator.
"""

from __future__ import annotations

import threading
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
