"""Errors of the reading workflow, each a one-line message safe to log.

No message here ever contains a patient's name, ID or birth date: messages name the
field, the value that was wrong (never a patient field) and, where useful, a short
study key prefix.
"""

from __future__ import annotations

from mammoview.core.errors import MammoViewError


class ReadingError(MammoViewError):
    """An edit or a value that the reading model refuses (bad BI-RADS, unknown type...)."""


class StudyLockedError(ReadingError):
    """The study is open for editing in another MammoView process.

    ``owner_pid``, ``owner_host`` and ``heartbeat_age_s`` say which one and how recently
    it was seen; the lease expires on its own when that process stops refreshing it.
    """

    def __init__(self, message: str, *, owner_pid: int, owner_host: str, heartbeat_age_s: float):
        super().__init__(message)
        self.owner_pid = owner_pid
        self.owner_host = owner_host
        self.heartbeat_age_s = heartbeat_age_s


class LeaseLostError(StudyLockedError):
    """This process's lease on a study was taken over (it had expired); the edit was not saved."""


class StoreError(ReadingError):
    """The readings database cannot be opened, migrated or written."""


class StoreBusyError(StoreError):
    """Another process kept the database busy for longer than the retry budget."""


class ImportFileError(ReadingError):
    """A readings export file cannot be imported; the database was left unchanged."""
