"""The readings database schema: version 1 exactly as first written, and each migration.

The schema version is SQLite's ``PRAGMA user_version``. A new database is created by
running :data:`SCHEMA_V1` and then every migration in order, so the migration code runs
on every installation (not only on old ones) and cannot rot unnoticed.

Rules for a new version: never edit :data:`SCHEMA_V1` or an existing migration; append
a ``(version, statements)`` pair to :data:`MIGRATIONS`. Each migration runs inside the
same transaction as the ``user_version`` update, so a crash mid-migration leaves the
previous version intact (SQLite DDL is transactional).
"""

from __future__ import annotations

# Version 1: readings with findings and BI-RADS, leases, settings and the file hash cache.
SCHEMA_V1 = (
    """CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE readings (
        study_key          TEXT PRIMARY KEY,
        state              TEXT NOT NULL DEFAULT 'unread'
                           CHECK (state IN ('unread', 'in progress', 'read')),
        birads_right       INTEGER CHECK (birads_right BETWEEN 0 AND 6),
        birads_left        INTEGER CHECK (birads_left BETWEEN 0 AND 6),
        birads_overall     INTEGER CHECK (birads_overall BETWEEN 0 AND 6),
        impression         TEXT NOT NULL DEFAULT '',
        patient_name       TEXT NOT NULL DEFAULT '',
        patient_id         TEXT NOT NULL DEFAULT '',
        patient_birth_date TEXT NOT NULL DEFAULT '',
        study_uid          TEXT NOT NULL DEFAULT '',
        study_date         TEXT NOT NULL DEFAULT '',
        label              TEXT NOT NULL DEFAULT '',
        reader             TEXT NOT NULL DEFAULT '',
        revision           INTEGER NOT NULL DEFAULT 0,
        updated_at         REAL NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE findings (
        id             TEXT PRIMARY KEY,
        study_key      TEXT NOT NULL REFERENCES readings(study_key) ON DELETE CASCADE,
        position       INTEGER NOT NULL,
        image_key      TEXT NOT NULL,
        laterality     TEXT CHECK (laterality IN ('R', 'L')),
        view           TEXT,
        type           TEXT NOT NULL,
        shape          TEXT NOT NULL CHECK (shape IN ('point', 'ellipse', 'outline')),
        geometry       TEXT NOT NULL,
        spacing_row    REAL,
        spacing_col    REAL,
        spacing_source TEXT NOT NULL DEFAULT '',
        note           TEXT NOT NULL DEFAULT '',
        created_at     REAL NOT NULL
    )""",
    "CREATE INDEX findings_by_study ON findings (study_key, position)",
    """CREATE TABLE leases (
        study_key    TEXT PRIMARY KEY,
        owner        TEXT NOT NULL,
        pid          INTEGER NOT NULL,
        host         TEXT NOT NULL,
        acquired_at  REAL NOT NULL,
        heartbeat_at REAL NOT NULL
    )""",
    """CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE file_hashes (
        path     TEXT PRIMARY KEY,
        size     INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256   TEXT NOT NULL
    )""",
)

# Version 2: breast density (A-D) on the reading, and ruler measurements.
MIGRATION_2 = (
    """ALTER TABLE readings ADD COLUMN density TEXT
        CHECK (density IN ('A', 'B', 'C', 'D'))""",
    """CREATE TABLE measurements (
        id             TEXT PRIMARY KEY,
        study_key      TEXT NOT NULL REFERENCES readings(study_key) ON DELETE CASCADE,
        position       INTEGER NOT NULL,
        image_key      TEXT NOT NULL,
        laterality     TEXT CHECK (laterality IN ('R', 'L')),
        view           TEXT,
        start_row      REAL NOT NULL,
        start_col      REAL NOT NULL,
        end_row        REAL NOT NULL,
        end_col        REAL NOT NULL,
        spacing_row    REAL,
        spacing_col    REAL,
        spacing_source TEXT NOT NULL DEFAULT '',
        note           TEXT NOT NULL DEFAULT '',
        created_at     REAL NOT NULL
    )""",
    "CREATE INDEX measurements_by_study ON measurements (study_key, position)",
)

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = ((2, MIGRATION_2),)
LATEST_VERSION = MIGRATIONS[-1][0] if MIGRATIONS else 1
