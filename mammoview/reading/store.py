"""The readings database: SQLite in the per-user data folder, saved edit by edit.

Where: ``$MAMMOVIEW_DATA_DIR/readings.sqlite3`` when that variable is set, else
``platformdirs.user_data_dir("mammoview")/readings.sqlite3``.

Durability and crashes
    WAL journal, ``synchronous=FULL``, and one ``BEGIN IMMEDIATE`` transaction per edit
    (:meth:`ReadingStore.commit`). An edit is durable when ``commit`` returns; killing
    the process at any moment loses at most the edit whose ``commit`` had not returned,
    and the database always opens afterwards (SQLite rolls back the unfinished
    transaction from the WAL on the next open).

Several processes
    ``busy_timeout`` makes a writer wait for another's transaction instead of failing,
    and :meth:`ReadingStore._write` retries with backoff beyond it, so "database is
    locked" never reaches the user unless another process holds the database for
    :data:`RETRY_BUDGET_S` seconds (then :class:`StoreBusyError`, one line). Write
    transactions start with ``BEGIN IMMEDIATE`` so a reader never has to upgrade to a
    writer mid-transaction (the case busy_timeout cannot wait out).

Per-study leases
    Only one process edits a study at a time. :meth:`acquire_lease` writes a row
    (study key, owner id, process id, host, heartbeat time); the owner refreshes it with
    :meth:`heartbeat` (every :data:`HEARTBEAT_INTERVAL_S`, and on every edit). Another
    process may take the lease over when the owner's heartbeat is older than
    :data:`LEASE_STALE_S`, or at once when the owner is on this host and its process no
    longer exists (a crash). Otherwise it gets :class:`StudyLockedError` and may open
    the study read-only and see the owner's edits on refresh. An owner whose lease was
    taken over is told so on its next edit (:class:`LeaseLostError`), never silently
    overwriting the new owner's work.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import random
import secrets
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mammoview.reading import model as M
from mammoview.reading.errors import LeaseLostError, ReadingError, StoreBusyError, StoreError, StudyLockedError
from mammoview.reading.schema import LATEST_VERSION, MIGRATIONS, SCHEMA_V1

log = logging.getLogger("mammoview.reading")

DB_FILE_NAME = "readings.sqlite3"
BUSY_TIMEOUT_MS = 5000
RETRY_BUDGET_S = 30.0
LEASE_STALE_S = 30.0
HEARTBEAT_INTERVAL_S = 10.0

T = TypeVar("T")


def default_db_path() -> Path:
    """The per-user readings database path (the folder is created)."""
    env = os.environ.get("MAMMOVIEW_DATA_DIR")
    if env:
        folder = Path(env)
    else:
        import platformdirs

        folder = Path(platformdirs.user_data_dir("mammoview"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / DB_FILE_NAME


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds the editing lease on a study."""

    study_key: str
    owner: str
    pid: int
    host: str
    acquired_at: float
    heartbeat_at: float

    def age_s(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.heartbeat_at


@dataclass(frozen=True)
class ReadingSummary:
    """What the worklist needs of a reading, without its marks."""

    study_key: str
    state: str
    birads_right: int | None
    birads_left: int | None
    birads_overall: int | None
    density: str | None
    finding_count: int
    revision: int
    updated_at: float


def _is_busy(err: sqlite3.OperationalError) -> bool:
    text = str(err).lower()
    return "locked" in text or "busy" in text


def _process_alive(pid: int) -> bool:
    """True unless ``pid`` certainly does not exist (POSIX only; elsewhere always True)."""
    if os.name != "posix" or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


class ReadingStore:
    """One connection to a readings database (thread-safe; one per process is enough).

    Parameters
    ----------
    path : path, optional
        The database file; :func:`default_db_path` when omitted. Created and migrated
        to the latest schema on open (an older file is first copied to
        ``<name>.v<N>.bak``).
    owner : str, optional
        This store's lease owner id (a fresh random id by default). Two stores in one
        process are two owners.

    Raises
    ------
    StoreError
        The file is not a readings database, was made by a newer MammoView, or cannot
        be opened.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, owner: str | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.owner = owner or uuid.uuid4().hex
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            self._retry(self._configure)
            self._retry(self._migrate)
            self._secret = bytes.fromhex(self._read(lambda c: c.execute(
                "SELECT value FROM meta WHERE key = 'secret'").fetchone()[0]))
        except sqlite3.DatabaseError as err:
            self.close()
            raise StoreError(f"{self.path.name}: cannot open the readings database ({err})") from None
        except OSError as err:
            self.close()
            raise StoreError(f"{self.path.name}: cannot open the readings database ({err.strerror or err})") from None
        except StoreError:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "ReadingStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path.name}: the readings database is closed")
        return self._conn

    def _configure(self) -> None:
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path.name}: the folder does not allow SQLite's WAL journal ({mode})")
        # FULL: a committed edit survives a power cut too, not only a killed process.
        c.execute("PRAGMA synchronous = FULL")
        c.execute("PRAGMA foreign_keys = ON")

    def _retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying with backoff while another process holds the database."""
        deadline = time.monotonic() + RETRY_BUDGET_S
        delay = 0.005
        attempt = 0
        while True:
            try:
                return fn()
            except sqlite3.IntegrityError as err:
                # A CHECK or foreign key failed: the model's checks should have caught it.
                raise StoreError(f"{self.path.name}: the edit breaks a database rule ({err})") from None
            except sqlite3.OperationalError as err:
                if not _is_busy(err):
                    raise StoreError(f"{self.path.name}: database error ({err})") from None
                attempt += 1
                if time.monotonic() + delay > deadline:
                    raise StoreBusyError(
                        f"{self.path.name}: the readings database stayed busy for {RETRY_BUDGET_S:.0f} s "
                        "(another MammoView is writing); try again"
                    ) from None
                if attempt in (1, 10, 100):
                    log.info("readings database busy, retrying (attempt %d)", attempt)
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.25)

    def _transaction(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        def attempt() -> T:
            with self._lock:
                c = self.conn
                c.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = fn(c)
                    c.execute("COMMIT")
                    return result
                except BaseException:
                    if c.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            c.execute("ROLLBACK")
                    raise

        return self._retry(attempt)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` inside one write transaction (committed, or rolled back on error)."""
        return self._transaction(fn, write=True)

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` inside one read transaction (a consistent snapshot)."""
        return self._transaction(fn, write=False)

    # ------------------------------------------------------------------ schema

    def _migrate(self) -> None:
        with self._lock:
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > LATEST_VERSION:
            raise StoreError(
                f"{self.path.name}: made by a newer MammoView (schema {version}); "
                f"this version reads up to schema {LATEST_VERSION}"
            )
        if version == LATEST_VERSION:
            return
        if version > 0:
            self._backup(version)

        def upgrade(c: sqlite3.Connection) -> None:
            current = c.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
            if current == 0:
                if c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise StoreError(f"{self.path.name}: not a MammoView readings database")
                for statement in SCHEMA_V1:
                    c.execute(statement)
                c.execute("INSERT INTO meta (key, value) VALUES ('secret', ?)", (secrets.token_hex(32),))
                c.execute("INSERT INTO meta (key, value) VALUES ('created_at', ?)", (repr(time.time()),))
                current = 1
            for target, statements in MIGRATIONS:
                if target > current:
                    for statement in statements:
                        c.execute(statement)
                    current = target
            c.execute(f"PRAGMA user_version = {current}")

        self._write(upgrade)
        log.info("readings database at schema %d", LATEST_VERSION)

    def _backup(self, version: int) -> None:
        """Copy an older database aside before migrating it (kept if the copy exists)."""
        target = self.path.with_name(f"{self.path.name}.v{version}.bak")
        if target.exists():
            return
        dest = sqlite3.connect(str(target))
        try:
            with self._lock:
                self.conn.backup(dest)
        finally:
            dest.close()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: "ok" for a sound database."""
        with self._lock:
            return "; ".join(row[0] for row in self.conn.execute("PRAGMA integrity_check"))

    def data_version(self) -> int:
        """A number that changes when *another* connection commits (cheap; poll it to refresh)."""
        with self._lock:
            return self.conn.execute("PRAGMA data_version").fetchone()[0]

    # ------------------------------------------------------------------ pseudonyms

    def pseudonym(self, study_key: str) -> str:
        """A stable pseudonym for a study in this database: ``MV-`` + 16 hex digits of
        HMAC-SHA256(per-database secret, study key). Not reversible without the secret."""
        if study_key.startswith("pseudo:"):
            return study_key[len("pseudo:"):]
        digest = hmac.new(self._secret, study_key.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"MV-{digest[:16]}"

    # ------------------------------------------------------------------ readings

    def load(self, study_key: str) -> M.Reading | None:
        """The saved reading of a study, or None when nothing was ever saved for it."""
        return self._read(lambda c: _load(c, study_key))

    def load_all(self) -> list[M.Reading]:
        """Every saved reading, by study key (for export)."""

        def run(c: sqlite3.Connection) -> list[M.Reading]:
            keys = [row[0] for row in c.execute("SELECT study_key FROM readings ORDER BY study_key")]
            return [_load(c, key) for key in keys]

        return self._read(run)

    def summaries(self, study_keys: Iterable[str] | None = None) -> dict[str, ReadingSummary]:
        """State and assessment of many studies in one query (the worklist's refresh)."""
        sql = (
            "SELECT r.study_key, r.state, r.birads_right, r.birads_left, r.birads_overall, r.density, "
            "(SELECT count(*) FROM findings f WHERE f.study_key = r.study_key), r.revision, r.updated_at "
            "FROM readings r"
        )

        def run(c: sqlite3.Connection) -> dict[str, ReadingSummary]:
            rows = c.execute(sql).fetchall()
            return {row[0]: ReadingSummary(*row) for row in rows}

        found = self._read(run)
        if study_keys is None:
            return found
        return {key: found[key] for key in study_keys if key in found}

    def commit(self, before: M.Reading, after: M.Reading, *, require_lease: bool = True) -> M.Reading:
        """Save one edit (``before`` -> ``after``) in one transaction and return ``after``
        with its new revision and time.

        Raises
        ------
        LeaseLostError
            ``require_lease`` and another process holds the study's lease now.
        ReadingError
            The saved reading is no longer ``before`` (it changed elsewhere; refresh).
        """
        if before.study_key != after.study_key:
            raise ReadingError("an edit cannot move a reading to another study")
        now = time.time()
        saved = _with_revision(after, before.revision + 1, max(now, before.updated_at))

        def run(c: sqlite3.Connection) -> M.Reading:
            if require_lease:
                self._check_own_lease(c, before.study_key, now)
            row = c.execute("SELECT revision FROM readings WHERE study_key = ?", (before.study_key,)).fetchone()
            current = row[0] if row else 0
            if current != before.revision:
                raise ReadingError("this reading was changed by another process; refresh it first")
            _save_diff(c, before if row else None, saved)
            return saved

        return self._write(run)

    def replace_reading(self, reading: M.Reading) -> None:
        """Write a whole reading as given (revision and time included), replacing any saved one.

        Used by import; normal edits go through :meth:`commit`.
        """
        self._write(lambda c: self._replace(c, reading))

    def replace_readings(self, readings: Iterable[M.Reading], *, skip: Callable[[sqlite3.Connection, M.Reading], bool] | None = None) -> list[str]:
        """Write many readings in one transaction (all or nothing); returns the keys written."""
        readings = list(readings)

        def run(c: sqlite3.Connection) -> list[str]:
            written = []
            for reading in readings:
                if skip is not None and skip(c, reading):
                    continue
                self._replace(c, reading)
                written.append(reading.study_key)
            return written

        return self._write(run)

    def _replace(self, c: sqlite3.Connection, reading: M.Reading) -> None:
        c.execute("DELETE FROM findings WHERE study_key = ?", (reading.study_key,))
        c.execute("DELETE FROM measurements WHERE study_key = ?", (reading.study_key,))
        _save_diff(c, None, reading)

    def reading_exists(self, c: sqlite3.Connection, study_key: str) -> bool:
        return c.execute("SELECT 1 FROM readings WHERE study_key = ?", (study_key,)).fetchone() is not None

    def load_in(self, c: sqlite3.Connection, study_key: str) -> M.Reading | None:
        """:meth:`load` inside a transaction the caller runs (import's conflict check)."""
        return _load(c, study_key)

    # ------------------------------------------------------------------ leases

    def lease_holder(self, study_key: str) -> LeaseInfo | None:
        def run(c: sqlite3.Connection) -> LeaseInfo | None:
            row = c.execute(
                "SELECT study_key, owner, pid, host, acquired_at, heartbeat_at FROM leases WHERE study_key = ?",
                (study_key,),
            ).fetchone()
            return LeaseInfo(*row) if row else None

        return self._read(run)

    def acquire_lease(self, study_key: str) -> None:
        """Take the editing lease on a study, or raise :class:`StudyLockedError`.

        Succeeds when nobody holds it, when this store already does, when the holder's
        heartbeat is older than :data:`LEASE_STALE_S`, or when the holder is a process
        on this host that no longer exists.
        """
        def run(c: sqlite3.Connection) -> None:
            now = time.time()
            row = c.execute(
                "SELECT study_key, owner, pid, host, acquired_at, heartbeat_at FROM leases WHERE study_key = ?",
                (study_key,),
            ).fetchone()
            if row is not None:
                held = LeaseInfo(*row)
                if held.owner != self.owner:
                    if self._lease_is_live(held, now):
                        raise self._locked_error(held, now, StudyLockedError)
                    log.info("taking over an expired lease (process %d, last seen %.0f s ago)", held.pid, held.age_s(now))
            c.execute(
                "INSERT INTO leases (study_key, owner, pid, host, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(study_key) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, "
                "host = excluded.host, acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at",
                (study_key, self.owner, self.pid, self.host, now, now),
            )

        self._write(run)

    def heartbeat(self, study_key: str) -> None:
        """Refresh this store's lease; raises :class:`LeaseLostError` if it was taken over."""
        def run(c: sqlite3.Connection) -> None:
            self._check_own_lease(c, study_key, time.time())

        self._write(run)

    def release_lease(self, study_key: str) -> None:
        """Give the lease back (only if this store holds it)."""
        self._write(lambda c: c.execute(
            "DELETE FROM leases WHERE study_key = ? AND owner = ?", (study_key, self.owner)))

    def release_all_leases(self) -> None:
        self._write(lambda c: c.execute("DELETE FROM leases WHERE owner = ?", (self.owner,)))

    def lease_is_live(self, held: LeaseInfo, now: float | None = None) -> bool:
        """True while ``held`` still protects its study (fresh heartbeat, process alive)."""
        return self._lease_is_live(held, time.time() if now is None else now)

    def _lease_is_live(self, held: LeaseInfo, now: float) -> bool:
        if held.age_s(now) > LEASE_STALE_S:
            return False
        if held.host == self.host and held.pid != self.pid and not _process_alive(held.pid):
            return False
        return True

    def _check_own_lease(self, c: sqlite3.Connection, study_key: str, now: float) -> None:
        """Inside a write transaction: make sure this store holds the lease, and refresh it."""
        row = c.execute(
            "SELECT study_key, owner, pid, host, acquired_at, heartbeat_at FROM leases WHERE study_key = ?",
            (study_key,),
        ).fetchone()
        if row is not None and row[1] != self.owner:
            held = LeaseInfo(*row)
            if self._lease_is_live(held, now):
                raise self._locked_error(held, now, LeaseLostError)
        if row is None or row[1] != self.owner:
            c.execute(
                "INSERT OR REPLACE INTO leases (study_key, owner, pid, host, acquired_at, heartbeat_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (study_key, self.owner, self.pid, self.host, now, now),
            )
        else:
            c.execute("UPDATE leases SET heartbeat_at = ? WHERE study_key = ?", (now, study_key))

    def _locked_error(self, held: LeaseInfo, now: float, cls: type[StudyLockedError]) -> StudyLockedError:
        where = "this computer" if held.host == self.host else f"computer {held.host}"
        age = max(0.0, held.age_s(now))
        if cls is LeaseLostError:
            text = (f"this study was taken over by MammoView process {held.pid} on {where} "
                    "while this window was idle; the edit was not saved")
        else:
            text = (f"this study is open for editing in another MammoView (process {held.pid} on {where}, "
                    f"seen {age:.0f} s ago); it opens read-only until that one closes it")
        return cls(text, owner_pid=held.pid, owner_host=held.host, heartbeat_age_s=age)

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self._read(lambda c: c.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone())
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        text = json.dumps(value, sort_keys=True)
        self._write(lambda c: c.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, text)))

    def delete_setting(self, key: str) -> None:
        self._write(lambda c: c.execute("DELETE FROM settings WHERE key = ?", (key,)))

    # ------------------------------------------------------------------ file hash cache

    def cached_hashes(self, entries: Iterable[tuple[str, int, int]]) -> dict[str, str]:
        """SHA-256 digests known for ``(path, size, mtime_ns)``; stale entries are ignored."""
        entries = list(entries)
        if not entries:
            return {}

        def run(c: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for start in range(0, len(entries), 500):
                chunk = entries[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = c.execute(
                    f"SELECT path, size, mtime_ns, sha256 FROM file_hashes WHERE path IN ({marks})",
                    [e[0] for e in chunk],
                ).fetchall()
                wanted = {e[0]: (e[1], e[2]) for e in chunk}
                for path, size, mtime_ns, digest in rows:
                    if wanted.get(path) == (size, mtime_ns):
                        found[path] = digest
            return found

        return self._read(run)

    def save_hashes(self, rows: Iterable[tuple[str, int, int, str]]) -> None:
        rows = list(rows)
        if rows:
            self._write(lambda c: c.executemany(
                "INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, sha256) VALUES (?, ?, ?, ?)", rows))


# ---------------------------------------------------------------------- row <-> value


def _with_revision(reading: M.Reading, revision: int, updated_at: float) -> M.Reading:
    from dataclasses import replace

    return replace(reading, revision=revision, updated_at=updated_at)


def _finding_geometry(f: M.ReaderFinding) -> str:
    return json.dumps(
        {"points": [list(p) for p in f.points], "radii": list(f.radii) if f.radii else None, "angle_deg": f.angle_deg},
        sort_keys=True,
    )


def _save_diff(c: sqlite3.Connection, before: M.Reading | None, after: M.Reading) -> None:
    s = after.subject
    c.execute(
        """INSERT INTO readings (study_key, state, birads_right, birads_left, birads_overall, density,
               impression, patient_name, patient_id, patient_birth_date, study_uid, study_date, label,
               reader, revision, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(study_key) DO UPDATE SET state = excluded.state, birads_right = excluded.birads_right,
               birads_left = excluded.birads_left, birads_overall = excluded.birads_overall,
               density = excluded.density, impression = excluded.impression,
               patient_name = excluded.patient_name, patient_id = excluded.patient_id,
               patient_birth_date = excluded.patient_birth_date, study_uid = excluded.study_uid,
               study_date = excluded.study_date, label = excluded.label, reader = excluded.reader,
               revision = excluded.revision, updated_at = excluded.updated_at""",
        (after.study_key, after.state, after.birads_right, after.birads_left, after.birads_overall,
         after.density, after.impression, s.patient_name, s.patient_id, s.patient_birth_date, s.study_uid,
         s.study_date, s.label, after.reader, after.revision, after.updated_at),
    )
    old_findings = {f.id: (i, f) for i, f in enumerate(before.findings)} if before else {}
    new_ids = {f.id for f in after.findings}
    for fid in old_findings.keys() - new_ids:
        c.execute("DELETE FROM findings WHERE id = ?", (fid,))
    for i, f in enumerate(after.findings):
        if old_findings.get(f.id) == (i, f):
            continue
        sr, sc = f.spacing_mm if f.spacing_mm else (None, None)
        c.execute(
            """INSERT OR REPLACE INTO findings (id, study_key, position, image_key, laterality, view, type, shape,
                   geometry, spacing_row, spacing_col, spacing_source, note, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (f.id, after.study_key, i, f.image_key, f.laterality, f.view, f.type, f.shape, _finding_geometry(f),
             sr, sc, f.spacing_source, f.note, f.created_at),
        )
    old_rulers = {m.id: (i, m) for i, m in enumerate(before.measurements)} if before else {}
    new_ruler_ids = {m.id for m in after.measurements}
    for mid in old_rulers.keys() - new_ruler_ids:
        c.execute("DELETE FROM measurements WHERE id = ?", (mid,))
    for i, m in enumerate(after.measurements):
        if old_rulers.get(m.id) == (i, m):
            continue
        sr, sc = m.spacing_mm if m.spacing_mm else (None, None)
        c.execute(
            """INSERT OR REPLACE INTO measurements (id, study_key, position, image_key, laterality, view,
                   start_row, start_col, end_row, end_col, spacing_row, spacing_col, spacing_source, note,
                   created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (m.id, after.study_key, i, m.image_key, m.laterality, m.view, m.start[0], m.start[1], m.end[0],
             m.end[1], sr, sc, m.spacing_source, m.note, m.created_at),
        )


def _spacing(row: float | None, col: float | None) -> tuple[float, float] | None:
    return None if row is None or col is None else (row, col)


def _load(c: sqlite3.Connection, study_key: str) -> M.Reading | None:
    row = c.execute(
        """SELECT state, birads_right, birads_left, birads_overall, density, impression, patient_name,
                  patient_id, patient_birth_date, study_uid, study_date, label, reader, revision, updated_at
           FROM readings WHERE study_key = ?""",
        (study_key,),
    ).fetchone()
    if row is None:
        return None
    findings = []
    for (fid, image_key, lat, view, ftype, shape, geometry, sr, sc, source, note, created) in c.execute(
        """SELECT id, image_key, laterality, view, type, shape, geometry, spacing_row, spacing_col,
                  spacing_source, note, created_at
           FROM findings WHERE study_key = ? ORDER BY position""",
        (study_key,),
    ):
        g = json.loads(geometry)
        findings.append(M.ReaderFinding(
            id=fid, image_key=image_key, type=ftype, shape=shape,
            points=tuple((float(p[0]), float(p[1])) for p in g["points"]),
            laterality=lat, view=view,
            radii=tuple(float(v) for v in g["radii"]) if g.get("radii") else None,
            angle_deg=float(g.get("angle_deg", 0.0)), note=note, spacing_mm=_spacing(sr, sc),
            spacing_source=source, created_at=created,
        ))
    measurements = [
        M.Measurement(
            id=mid, image_key=image_key, start=(r0, c0), end=(r1, c1), laterality=lat, view=view,
            spacing_mm=_spacing(sr, sc), spacing_source=source, note=note, created_at=created,
        )
        for (mid, image_key, lat, view, r0, c0, r1, c1, sr, sc, source, note, created) in c.execute(
            """SELECT id, image_key, laterality, view, start_row, start_col, end_row, end_col, spacing_row,
                      spacing_col, spacing_source, note, created_at
               FROM measurements WHERE study_key = ? ORDER BY position""",
            (study_key,),
        )
    ]
    (state, b_right, b_left, b_overall, density, impression, name, pid, birth, uid, date, label, reader,
     revision, updated_at) = row
    return M.Reading(
        study_key=study_key, state=state, birads_right=b_right, birads_left=b_left, birads_overall=b_overall,
        density=density, impression=impression, findings=tuple(findings), measurements=tuple(measurements),
        subject=M.Subject(name, pid, birth, uid, date, label), reader=reader, revision=revision,
        updated_at=updated_at,
    )
