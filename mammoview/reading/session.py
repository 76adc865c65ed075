"""The open reading of one study: the object the GUI binds to.

:class:`ReadingSession` holds the truth (a :class:`~mammoview.reading.model.Reading`),
applies every edit as a command (:mod:`mammoview.reading.commands`), saves it at once in
one transaction (:meth:`ReadingStore.commit`), keeps the session's undo/redo stack and
tells listeners. The GUI never keeps its own copy of findings or assessments: it calls
the methods here and repaints from :attr:`ReadingSession.reading` in a listener (a Qt
wrapper can re-emit the listener call as a signal).

Typical use::

    store = ReadingStore()                      # once per process
    session = ReadingSession.open(store, study) # takes the study's lease (or read-only)
    session.add_listener(lambda reading, command: repaint(reading))
    ctx = session.context_for(image)            # laterality, view, spacing, image key
    f = session.add_ellipse(ctx, "mass", (812.0, 430.5), (40.0, 25.0), angle_deg=30)
    session.set_birads("overall", 4)
    session.undo(); session.redo()
    session.heartbeat()                         # every HEARTBEAT_INTERVAL_S (a QTimer)
    session.close()                             # gives the lease back

Threading: call a session from one thread (the UI thread); the store itself is
thread-safe. Each edit is a small SQLite transaction with an fsync (about a millisecond
or a few on a local disk), so edits are fine on the UI thread; bind text fields to
:meth:`set_impression` on editing-finished or after a short pause rather than on
every keystroke (consecutive impression edits within two seconds undo as one step).
"""

from __future__ import annotations

import getpass
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from mammoview.core.image import Image
from mammoview.core.study import Study
from mammoview.reading import commands as C
from mammoview.reading import model as M
from mammoview.reading.errors import LeaseLostError, ReadingError, StudyLockedError
from mammoview.reading.identity import StudyIdentity, study_identity
from mammoview.reading.store import HEARTBEAT_INTERVAL_S, ReadingStore

log = logging.getLogger("mammoview.reading")

Listener = Callable[[M.Reading, "C.Command | None"], None]
SIDES = {"right": "birads_right", "left": "birads_left", "overall": "birads_overall"}


def subject_of(study: Study) -> M.Subject:
    """The identifying fields of a study, as the reading keeps them."""
    if not study.images:
        return M.Subject(label=study.label)
    first = study.first
    return M.Subject(
        patient_name=first.patient.name,
        patient_id=first.patient.id,
        patient_birth_date=first.patient.birth_date,
        study_uid=first.study.uid,
        study_date=first.study.date,
        label=study.label,
    )


def _default_reader() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): the reading stays unsigned
        return ""


class ReadingSession:
    """One study's reading, open for editing (or read-only when another process edits it).

    Use :meth:`open`; the constructor is for tests and special cases.

    Attributes
    ----------
    store : ReadingStore
    identity : StudyIdentity
        The study key and each image's key.
    read_only : bool
        True when another process holds the study; edits raise
        :class:`StudyLockedError` and :attr:`lock` says who holds it.
    heartbeat_interval_s : float
        How often the GUI should call :meth:`heartbeat`.
    """

    heartbeat_interval_s = HEARTBEAT_INTERVAL_S

    def __init__(self, store: ReadingStore, identity: StudyIdentity, reading: M.Reading, *,
                 read_only: bool = False, lock: StudyLockedError | None = None, reader: str | None = None) -> None:
        self.store = store
        self.identity = identity
        self._reading = reading
        self.read_only = read_only
        self.lock = lock
        self.reader = _default_reader() if reader is None else reader
        self._stack = C.CommandStack()
        self._listeners: list[Listener] = []
        self._closed = False

    @classmethod
    def open(cls, store: ReadingStore, study: Study, *, allow_read_only: bool = True,
             identity: StudyIdentity | None = None, reader: str | None = None) -> "ReadingSession":
        """Open a study's reading: load what was saved (or start an empty one) and take its lease.

        Parameters
        ----------
        allow_read_only : bool
            When another process holds the study: open read-only (True, default) or
            raise :class:`StudyLockedError` (False).
        identity : StudyIdentity, optional
            Pass the worklist's identity to avoid hashing the files again.

        Raises
        ------
        StudyLockedError
            Only with ``allow_read_only=False``.
        OSError
            An image file of a non-DICOM study cannot be read for its content hash.
        """
        identity = identity or study_identity(study, store=store)
        read_only, lock = False, None
        try:
            store.acquire_lease(identity.key)
        except StudyLockedError as err:
            if not allow_read_only:
                raise
            read_only, lock = True, err
        reading = store.load(identity.key) or M.Reading(identity.key, subject=subject_of(study))
        return cls(store, identity, reading, read_only=read_only, lock=lock, reader=reader)

    # ------------------------------------------------------------------ state

    @property
    def reading(self) -> M.Reading:
        """The current reading (an immutable value; replaced on every edit)."""
        return self._reading

    @property
    def study_key(self) -> str:
        return self.identity.key

    @property
    def can_undo(self) -> bool:
        return not self.read_only and self._stack.can_undo

    @property
    def can_redo(self) -> bool:
        return not self.read_only and self._stack.can_redo

    @property
    def undo_label(self) -> str:
        command = self._stack.peek_undo()
        return command.label if command else ""

    @property
    def redo_label(self) -> str:
        command = self._stack.peek_redo()
        return command.label if command else ""

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(reading, command)`` after every change (``command`` None on refresh)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def _notify(self, command: C.Command | None) -> None:
        for listener in list(self._listeners):
            listener(self._reading, command)

    # ------------------------------------------------------------------ image context

    def context_for(self, image: Image) -> M.ImageContext:
        """What a mark on ``image`` records: its key, laterality, view and pixel spacing."""
        try:
            key = self.identity.image_key(image.ref)
        except KeyError:
            raise ReadingError(f"image {image.ref.display_name} is not part of this study") from None
        return M.ImageContext(
            image_key=key,
            laterality=image.laterality,
            view=image.view,
            spacing_mm=M.check_spacing(image.pixel_spacing_mm),
            spacing_source=image.spacing_source if image.pixel_spacing_mm else "",
        )

    # ------------------------------------------------------------------ findings

    def add_point(self, context: M.ImageContext, type: str, point: M.Point, *, note: str = "") -> M.ReaderFinding:
        """Mark a finding at one point (row, col)."""
        return self._add_finding(context, type, "point", (point,), note=note)

    def add_ellipse(self, context: M.ImageContext, type: str, center: M.Point, radii: tuple[float, float], *,
                    angle_deg: float = 0.0, note: str = "") -> M.ReaderFinding:
        """Mark a finding as an ellipse: centre (row, col), semi-axes in pixels, rotation."""
        return self._add_finding(context, type, "ellipse", (center,), radii=radii, angle_deg=angle_deg, note=note)

    def add_outline(self, context: M.ImageContext, type: str, points, *, note: str = "") -> M.ReaderFinding:
        """Mark a finding by a closed freehand outline of (row, col) vertices."""
        return self._add_finding(context, type, "outline", tuple(points), note=note)

    def _add_finding(self, context: M.ImageContext, type: str, shape: str, points, *, radii=None,
                     angle_deg: float = 0.0, note: str = "") -> M.ReaderFinding:
        finding = M.check_finding(M.ReaderFinding(
            id=M.new_id(), image_key=context.image_key, type=type, shape=shape, points=points,
            laterality=context.laterality, view=context.view, radii=radii, angle_deg=angle_deg, note=note,
            spacing_mm=context.spacing_mm, spacing_source=context.spacing_source, created_at=time.time(),
        ))
        self._apply(C.AddFinding(finding))
        return finding

    def update_finding(self, finding_id: str, **changes) -> M.ReaderFinding:
        """Change a finding's ``type``, ``note``, ``points``, ``radii`` or ``angle_deg``."""
        allowed = {"type", "note", "points", "radii", "angle_deg"}
        unknown = set(changes) - allowed
        if unknown:
            raise ReadingError(f"a finding's {sorted(unknown)[0]} cannot be changed")
        old = self._reading.finding(finding_id)
        new = M.check_finding(replace(old, **changes))
        if new != old:
            self._apply(C.ChangeFinding(old, new))
        return new

    def remove_finding(self, finding_id: str) -> None:
        old = self._reading.finding(finding_id)
        self._apply(C.RemoveFinding(old, self._reading.findings.index(old)))

    # ------------------------------------------------------------------ rulers

    def add_ruler(self, context: M.ImageContext, start: M.Point, end: M.Point, *, note: str = "") -> M.Measurement:
        """A ruler from ``start`` to ``end`` (row, col); its length is ``.size().long_axis``."""
        item = M.check_measurement(M.Measurement(
            id=M.new_id(), image_key=context.image_key, start=start, end=end, laterality=context.laterality,
            view=context.view, spacing_mm=context.spacing_mm, spacing_source=context.spacing_source, note=note,
            created_at=time.time(),
        ))
        self._apply(C.AddMeasurement(item))
        return item

    def update_ruler(self, measurement_id: str, **changes) -> M.Measurement:
        """Change a ruler's ``start``, ``end`` or ``note``."""
        unknown = set(changes) - {"start", "end", "note"}
        if unknown:
            raise ReadingError(f"a ruler's {sorted(unknown)[0]} cannot be changed")
        old = self._reading.measurement(measurement_id)
        new = M.check_measurement(replace(old, **changes))
        if new != old:
            self._apply(C.ChangeMeasurement(old, new))
        return new

    def remove_ruler(self, measurement_id: str) -> None:
        old = self._reading.measurement(measurement_id)
        self._apply(C.RemoveMeasurement(old, self._reading.measurements.index(old)))

    # ------------------------------------------------------------------ assessment

    def set_birads(self, side: str, value: int | None) -> None:
        """BI-RADS 0-6 (or None) for ``side`` "right", "left" or "overall"."""
        if side not in SIDES:
            raise ReadingError("BI-RADS side must be right, left or overall")
        self._set(SIDES[side], value)

    def set_density(self, value: str | None) -> None:
        """Breast density A-D (ACR BI-RADS 5th edition), or None."""
        self._set("density", value)

    def set_impression(self, text: str) -> None:
        self._set("impression", text)

    def mark_read(self) -> None:
        """Finish the reading: needs the overall BI-RADS assessment."""
        if self._reading.birads_overall is None:
            raise ReadingError("set the overall BI-RADS assessment before marking the study read")
        commands: list[C.Command] = [C.SetField("state", self._reading.state, "read")]
        if self._reading.reader != self.reader:
            commands.append(C.SetField("reader", self._reading.reader, self.reader))
        self._apply(C.Batch(tuple(commands)), auto_state=False)

    def reopen(self) -> None:
        """Back to "in progress" after a study was marked read."""
        self._set("state", "in progress")

    def _set(self, name: str, value) -> None:
        value = C.FIELD_CHECKS[name](value)
        old = getattr(self._reading, name)
        if value != old:
            self._apply(C.SetField(name, old, value), auto_state=name != "state")

    # ------------------------------------------------------------------ apply, undo, redo

    def _check_writable(self) -> None:
        if self._closed:
            raise ReadingError("this reading is closed")
        if self.read_only:
            raise self.lock or ReadingError("this reading is open read-only")

    def _apply(self, command: C.Command, *, auto_state: bool = True) -> None:
        self._check_writable()
        if auto_state and self._reading.state == "unread":
            # The first edit starts the reading; undoing it makes the study unread again.
            command = C.Batch((C.SetField("state", "unread", "in progress"), command))
        self._commit(command.do(self._reading), command)
        self._stack.push(command)
        self._notify(command)

    def _commit(self, after: M.Reading, command: C.Command | None) -> None:
        try:
            self._reading = self.store.commit(self._reading, after)
        except LeaseLostError as err:
            self._become_read_only(err)
            raise

    def undo(self) -> bool:
        """Undo the last edit of this session (saved at once); False when there is none."""
        self._check_writable()
        command = self._stack.peek_undo()
        if command is None:
            return False
        self._commit(command.undo(self._reading), command)
        self._stack.pop_undo()
        self._notify(command)
        return True

    def redo(self) -> bool:
        self._check_writable()
        command = self._stack.peek_redo()
        if command is None:
            return False
        self._commit(command.do(self._reading), command)
        self._stack.pop_redo()
        self._notify(command)
        return True

    # ------------------------------------------------------------------ other processes

    def refresh(self) -> bool:
        """Reload from the database; a read-only session also tries to take the lease.

        Returns True when the reading or the read-only state changed (listeners were told).
        """
        changed = False
        if self.read_only:
            try:
                self.store.acquire_lease(self.study_key)
            except StudyLockedError as err:
                self.lock = err
            else:
                self.read_only, self.lock, changed = False, None, True
        saved = self.store.load(self.study_key)
        if saved is not None and saved.revision != self._reading.revision:
            self._reading = saved
            self._stack.clear()  # the history no longer applies to what is saved
            changed = True
        if changed:
            self._notify(None)
        return changed

    def heartbeat(self) -> bool:
        """Keep this session's lease alive; False (and read-only) if it was lost."""
        if self.read_only or self._closed:
            return not self.read_only
        try:
            self.store.heartbeat(self.study_key)
        except LeaseLostError as err:
            self._become_read_only(err)
            return False
        return True

    def _become_read_only(self, err: StudyLockedError) -> None:
        log.warning("lease on a study lost to process %d; reading is now read-only", err.owner_pid)
        self.read_only, self.lock = True, err
        self._stack.clear()
        saved = self.store.load(self.study_key)
        if saved is not None:
            self._reading = saved
        self._notify(None)

    def close(self) -> None:
        """Give the lease back. The reading itself is already saved."""
        if self._closed:
            return
        self._closed = True
        if not self.read_only:
            self.store.release_lease(self.study_key)

    def __enter__(self) -> "ReadingSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
