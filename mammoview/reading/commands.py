"""Edits as commands: each one turns a :class:`Reading` into a new one, and back.

A command is a small frozen value with ``do(reading) -> reading`` and
``undo(reading) -> reading``; both are pure (the store persists the difference, see
:meth:`mammoview.reading.store.ReadingStore.commit`). :class:`CommandStack` keeps the
undo and redo lists of one session.

Undo is per session, in memory: the *effects* of every edit are saved at once, but the
undo history is not, so after a restart (or a crash) the reading is exactly as last
saved and the undo list starts empty. Undoing an edit is itself a saved edit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mammoview.reading import model as M
from mammoview.reading.errors import ReadingError

# Study-level fields a SetField command may change, with the check each value passes.
FIELD_CHECKS: dict[str, Callable] = {
    "birads_right": lambda v: M.check_birads(v, "right breast BI-RADS"),
    "birads_left": lambda v: M.check_birads(v, "left breast BI-RADS"),
    "birads_overall": lambda v: M.check_birads(v, "overall BI-RADS"),
    "density": M.check_density,
    "impression": lambda v: M.check_note(v, "impression"),
    "state": M.check_state,
}
# Consecutive impression edits within this many seconds undo as one step (typing).
MERGE_WINDOW_S = 2.0


class Command:
    """Base class: subclasses are frozen dataclasses with ``do`` and ``undo``."""

    label = "edit"

    def do(self, reading: M.Reading) -> M.Reading:
        raise NotImplementedError

    def undo(self, reading: M.Reading) -> M.Reading:
        raise NotImplementedError

    def merge(self, later: "Command") -> "Command | None":
        """One command doing ``self`` then ``later``, or None when they stay separate."""
        return None


def _index_of(items, item_id: str) -> int:
    for i, item in enumerate(items):
        if item.id == item_id:
            return i
    raise ReadingError(f"no item with id {item_id[:12]} in this reading")


def _insert(items: tuple, item, index: int | None) -> tuple:
    if any(existing.id == item.id for existing in items):
        raise ReadingError(f"an item with id {item.id[:12]} is already in this reading")
    index = len(items) if index is None else max(0, min(index, len(items)))
    return items[:index] + (item,) + items[index:]


def _remove(items: tuple, item_id: str) -> tuple:
    i = _index_of(items, item_id)
    return items[:i] + items[i + 1:]


def _swap(items: tuple, old, new) -> tuple:
    i = _index_of(items, old.id)
    if items[i] != old:
        raise ReadingError(f"item {old.id[:12]} changed since this edit was made")
    return items[:i] + (new,) + items[i + 1:]


@dataclass(frozen=True)
class AddFinding(Command):
    finding: M.ReaderFinding
    index: int | None = None
    label = "add finding"

    def do(self, reading):
        return replace(reading, findings=_insert(reading.findings, self.finding, self.index))

    def undo(self, reading):
        return replace(reading, findings=_remove(reading.findings, self.finding.id))


@dataclass(frozen=True)
class RemoveFinding(Command):
    finding: M.ReaderFinding
    index: int
    label = "delete finding"

    def do(self, reading):
        return replace(reading, findings=_remove(reading.findings, self.finding.id))

    def undo(self, reading):
        return replace(reading, findings=_insert(reading.findings, self.finding, self.index))


@dataclass(frozen=True)
class ChangeFinding(Command):
    """Any change to one finding: type, note, shape or position (old and new values)."""

    old: M.ReaderFinding
    new: M.ReaderFinding
    label = "edit finding"

    def do(self, reading):
        return replace(reading, findings=_swap(reading.findings, self.old, self.new))

    def undo(self, reading):
        return replace(reading, findings=_swap(reading.findings, self.new, self.old))


@dataclass(frozen=True)
class AddMeasurement(Command):
    measurement: M.Measurement
    index: int | None = None
    label = "add ruler"

    def do(self, reading):
        return replace(reading, measurements=_insert(reading.measurements, self.measurement, self.index))

    def undo(self, reading):
        return replace(reading, measurements=_remove(reading.measurements, self.measurement.id))


@dataclass(frozen=True)
class RemoveMeasurement(Command):
    measurement: M.Measurement
    index: int
    label = "delete ruler"

    def do(self, reading):
        return replace(reading, measurements=_remove(reading.measurements, self.measurement.id))

    def undo(self, reading):
        return replace(reading, measurements=_insert(reading.measurements, self.measurement, self.index))


@dataclass(frozen=True)
class ChangeMeasurement(Command):
    old: M.Measurement
    new: M.Measurement
    label = "edit ruler"

    def do(self, reading):
        return replace(reading, measurements=_swap(reading.measurements, self.old, self.new))

    def undo(self, reading):
        return replace(reading, measurements=_swap(reading.measurements, self.new, self.old))


@dataclass(frozen=True)
class SetField(Command):
    """Set one study-level field (a BI-RADS, the density, the impression or the state)."""

    name: str
    old: object
    new: object
    at: float = field(default_factory=time.monotonic, compare=False)

    @property
    def label(self) -> str:  # type: ignore[override]
        return f"set {self.name.replace('_', ' ')}"

    def do(self, reading):
        return replace(reading, **{self.name: self.new})

    def undo(self, reading):
        return replace(reading, **{self.name: self.old})

    def merge(self, later):
        if (
            isinstance(later, SetField)
            and self.name == later.name == "impression"
            and 0 <= later.at - self.at <= MERGE_WINDOW_S
        ):
            return SetField(self.name, self.old, later.new, later.at)
        return None


@dataclass(frozen=True)
class Batch(Command):
    """Several commands as one undo step (e.g. the automatic unread -> in progress)."""

    commands: tuple[Command, ...]

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.commands[-1].label if self.commands else "edit"

    def do(self, reading):
        for command in self.commands:
            reading = command.do(reading)
        return reading

    def undo(self, reading):
        for command in reversed(self.commands):
            reading = command.undo(reading)
        return reading

    def merge(self, later):
        if not self.commands:
            return None
        merged = self.commands[-1].merge(later)
        return None if merged is None else Batch(self.commands[:-1] + (merged,))


class CommandStack:
    """Undo and redo lists for one session (in memory; see the module docstring)."""

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self._undo: list[Command] = []
        self._redo: list[Command] = []

    def push(self, command: Command) -> None:
        """Record a command just done; merges typing bursts; clears the redo list."""
        if self._undo:
            merged = self._undo[-1].merge(command)
            if merged is not None:
                self._undo[-1] = merged
                self._redo.clear()
                return
        self._undo.append(command)
        del self._undo[:-self.limit]
        self._redo.clear()

    def peek_undo(self) -> Command | None:
        return self._undo[-1] if self._undo else None

    def peek_redo(self) -> Command | None:
        return self._redo[-1] if self._redo else None

    def pop_undo(self) -> Command:
        command = self._undo.pop()
        self._redo.append(command)
        return command

    def pop_redo(self) -> Command:
        command = self._redo.pop()
        self._undo.append(command)
        return command

    def restore_undo(self, command: Command) -> None:
        """Put back a command whose undo failed to save (the store refused it)."""
        if self._redo and self._redo[-1] is command:
            self._redo.pop()
        self._undo.append(command)

    def restore_redo(self, command: Command) -> None:
        if self._undo and self._undo[-1] is command:
            self._undo.pop()
        self._redo.append(command)

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)
