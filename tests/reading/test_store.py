"""The database: pragmas, migrations from the first schema, leases between processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from mammoview.reading import ReadingSession, ReadingStore, StoreError, StudyLockedError
from mammoview.reading import store as store_module
from mammoview.reading.errors import LeaseLostError
from mammoview.reading.schema import LATEST_VERSION, SCHEMA_V1


def test_new_database_is_wal_with_busy_timeout_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MAMMOVIEW_DATA_DIR", str(tmp_path / "data"))
    with ReadingStore() as s:
        assert s.path == tmp_path / "data" / "readings.sqlite3"
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        assert s.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert s.schema_version == LATEST_VERSION == 2
        assert s.integrity_check() == "ok"


def build_v1_database(path):
    """A database exactly as the first release wrote it, with one reading in it."""
    c = sqlite3.connect(path)
    for statement in SCHEMA_V1:
        c.execute(statement)
    c.execute("INSERT INTO meta VALUES ('secret', ?)", ("ab" * 32,))
    c.execute("""INSERT INTO readings (study_key, state, birads_right, birads_left, birads_overall, impression,
                 patient_name, revision, updated_at) VALUES ('dicom:1.2.3', 'read', 2, 1, 2, 'benign', 'X^Y', 5, 1.5)""")
    c.execute("""INSERT INTO findings VALUES ('f1', 'dicom:1.2.3', 0, 'sop:1.2.3.4', 'R', 'CC', 'mass', 'ellipse',
                 '{"angle_deg": 0.0, "points": [[10.0, 20.0]], "radii": [5.0, 3.0]}', 0.1, 0.1, 'PixelSpacing',
                 'stable', 1.25)""")
    c.execute("PRAGMA user_version = 1")
    c.commit()
    c.close()


def test_migration_from_version_1_keeps_the_readings_and_adds_density_and_rulers(db_path, phantom):
    build_v1_database(db_path)
    with ReadingStore(db_path) as s:
        assert s.schema_version == 2
        assert s.integrity_check() == "ok"
        reading = s.load("dicom:1.2.3")
        assert reading.state == "read" and reading.birads_overall == 2 and reading.impression == "benign"
        assert reading.density is None and reading.measurements == ()
        (f,) = reading.findings
        assert f.shape == "ellipse" and f.radii == (5.0, 3.0) and f.size().long_axis == pytest.approx(1.0)
        columns = {row[1] for row in s.conn.execute("PRAGMA table_info(readings)")}
        assert "density" in columns
        assert s.pseudonym("k") == s.pseudonym("k")  # the v1 secret still works
    backup = db_path.with_name(db_path.name + ".v1.bak")
    with sqlite3.connect(backup) as b:
        assert b.execute("PRAGMA user_version").fetchone()[0] == 1
    # The migrated database takes the version-2 edits.
    study, image = phantom
    with ReadingStore(db_path) as s, ReadingSession.open(s, study) as session:
        session.set_density("B")
        session.add_ruler(session.context_for(image), (0.0, 0.0), (3.0, 4.0))
    with ReadingStore(db_path) as s:
        r = s.load(session.study_key)
        assert r.density == "B" and r.measurements[0].size().long_axis == pytest.approx(0.75)


def test_a_newer_schema_is_refused_in_one_line(db_path):
    c = sqlite3.connect(db_path)
    c.execute("PRAGMA user_version = 99")
    c.close()
    with pytest.raises(StoreError, match="newer MammoView") as info:
        ReadingStore(db_path)
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_a_database_is_refused(db_path):
    db_path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the readings database"):
        ReadingStore(db_path)


def test_an_unrelated_sqlite_database_is_not_touched(db_path):
    c = sqlite3.connect(db_path)
    c.execute("CREATE TABLE other (x)")
    c.close()
    with pytest.raises(StoreError, match="not a MammoView readings database"):
        ReadingStore(db_path)


def test_second_owner_is_told_the_study_is_open_and_sees_edits_on_refresh(db_path, phantom):
    study, image = phantom
    first = ReadingSession.open(ReadingStore(db_path), study)
    with pytest.raises(StudyLockedError, match="open for editing in another MammoView"):
        ReadingSession.open(ReadingStore(db_path), study, allow_read_only=False)
    second = ReadingSession.open(ReadingStore(db_path), study)
    assert second.read_only and second.lock.owner_pid == first.store.pid
    with pytest.raises(StudyLockedError):
        second.set_birads("overall", 1)

    first.set_birads("overall", 5)
    assert second.refresh() and second.reading.birads_overall == 5 and second.read_only
    first.close()  # releases the lease: the read-only window can take over
    assert second.refresh() and not second.read_only
    second.set_birads("overall", 4)
    assert ReadingStore(db_path).load(second.study_key).birads_overall == 4


def test_a_stale_lease_expires_and_the_old_owner_cannot_overwrite(db_path, phantom, monkeypatch):
    study, _ = phantom
    first = ReadingSession.open(ReadingStore(db_path), study)
    first.set_birads("overall", 2)
    # The first owner stops refreshing (hung, or its laptop slept) beyond the stale limit.
    first.store._write(lambda c: c.execute("UPDATE leases SET heartbeat_at = heartbeat_at - ?",
                                           (store_module.LEASE_STALE_S + 1,)))
    second = ReadingSession.open(ReadingStore(db_path), study)
    assert not second.read_only
    second.set_birads("overall", 3)
    with pytest.raises(LeaseLostError, match="not saved"):
        first.set_birads("overall", 6)
    assert first.read_only and first.reading.birads_overall == 3
    assert not first.heartbeat()
    assert ReadingStore(db_path).load(second.study_key).birads_overall == 3


def test_a_crashed_owner_on_this_host_releases_its_lease_at_once(db_path, phantom):
    study, _ = phantom
    code = (
        "import sys, os, signal\n"
        "from mammoview.io.phantom import demo_studies\n"
        "from mammoview.reading import ReadingStore, ReadingSession\n"
        "s = ReadingSession.open(ReadingStore(sys.argv[1]), demo_studies()[0])\n"
        "s.set_birads('overall', 1)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(db_path)], capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()
    holder = ReadingStore(db_path).lease_holder(f"phantom:{study.uid}")
    assert holder is not None and time.time() - holder.heartbeat_at < store_module.LEASE_STALE_S
    session = ReadingSession.open(ReadingStore(db_path), study)
    assert not session.read_only  # the dead process's fresh lease did not block us
    assert session.reading.birads_overall == 1


def test_an_edit_from_a_stale_copy_is_refused(db_path, phantom):
    study, _ = phantom
    s = ReadingStore(db_path)
    session = ReadingSession.open(s, study)
    session.set_birads("overall", 1)
    stale = session.reading
    session.set_birads("overall", 2)
    from dataclasses import replace

    from mammoview.reading import ReadingError

    with pytest.raises(ReadingError, match="changed by another process"):
        s.commit(stale, replace(stale, birads_overall=5))
    assert s.load(session.study_key).birads_overall == 2
