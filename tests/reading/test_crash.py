"""Killing an editing process at random moments loses nothing acknowledged; two processes
editing at once lose nothing and never see "database is locked"."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from mammoview.io.phantom import demo_studies
from mammoview.reading import ReadingSession, ReadingStore
from mammoview.reading.model import ImageContext

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs a fork server and SIGKILL")

KILLS = 60
CONTEXT = ImageContext("phantom:phantom-1-RCC", "R", "CC", (0.15, 0.15), "synthetic phantom")


def edit_note(round_no: int, i: int) -> str:
    return f"r{round_no}-e{i}"


def _edit_forever(db_path, round_no: int, ack_path: str) -> None:
    """The child: open the study (taking over the killed owner's lease) and edit until killed.

    Edit i is, by i % 4: add a finding, set the impression, add a ruler, change the note of
    the finding added last. After each edit returns (committed) it appends an ACK line to
    ``ack_path`` with one unbuffered write.
    """
    fd = os.open(ack_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        session = ReadingSession.open(ReadingStore(db_path), demo_studies()[0], allow_read_only=False)
        os.write(fd, b"READY - -\n")
        last = None
        i = 0
        while True:
            note = edit_note(round_no, i)
            kind = i % 4
            if kind == 0:
                last = session.add_point(CONTEXT, "mass", (float(i), 1.0), note=note)
                line = f"F {last.id} {note}"
            elif kind == 1:
                session.set_impression(note)
                line = f"I - {note}"
            elif kind == 2:
                ruler = session.add_ruler(CONTEXT, (0.0, 0.0), (float(i), 2.0), note=note)
                line = f"M {ruler.id} {note}"
            else:
                session.update_finding(last.id, note=note)
                line = f"U {last.id} {note}"
            os.write(fd, (line + "\n").encode())
            i += 1
    except BaseException as err:  # noqa: BLE001 - reported to the parent through the file
        os.write(fd, f"ERR {type(err).__name__}: {err}\n".encode())
        raise


# Children come from a fork server, not from a fork of pytest itself: by the time this
# test runs, the pytest process may have Qt and worker threads (GUI tests), and forking a
# threaded process can deadlock the child on a lock another thread held. The server is a
# fresh process that has imported the reading code once, so each child still starts fast.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["mammoview.reading", "mammoview.io.phantom"])


def _ready(ack_path: str) -> bool:
    try:
        with open(ack_path, "rb") as fh:
            return fh.read(5) == b"READY"
    except FileNotFoundError:
        return False


def _run_child(db_path, round_no: int, delay_s: float, ack_path) -> list[list[str]]:
    """Start a child that edits; SIGKILL it after ``delay_s``; return its ACK lines."""
    ack_path = str(ack_path)
    if os.path.exists(ack_path):
        os.unlink(ack_path)
    child = _CONTEXT.Process(target=_edit_forever, args=(str(db_path), round_no, ack_path))
    child.start()
    # Kill at a random moment of the editing, not of the child's start-up.
    deadline = time.monotonic() + 30
    while not _ready(ack_path):
        assert child.is_alive(), "the editing child died before it was ready"
        assert time.monotonic() < deadline, "the editing child did not start within 30 s"
        time.sleep(0.002)
    time.sleep(delay_s)
    os.kill(child.pid, signal.SIGKILL)
    child.join()  # reap it, so its pid is no longer alive
    try:
        with open(ack_path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        data = b""
    lines = [line.split(" ", 2) for line in data.decode().split("\n") if line]
    errors = [" ".join(line) for line in lines if line[0] == "ERR"]
    assert not errors, errors
    assert child.exitcode == -signal.SIGKILL
    lines = [line for line in lines if line[0] != "READY"]
    return lines


def test_sigkill_at_random_moments_loses_no_acknowledged_edit(db_path, tmp_path):
    rng = random.Random(1234)
    key = "phantom:phantom-study-1"
    revision = 0
    impression = ""
    acked_findings: dict[str, str] = {}  # id -> latest acknowledged note
    acked_rulers: set[str] = set()
    total_acks = 0
    started = time.monotonic()
    for round_no in range(KILLS):
        acks = _run_child(db_path, round_no, rng.uniform(0.0, 0.06), tmp_path / "acks.txt")
        total_acks += len(acks)
        for kind, item_id, note in acks:
            if kind in ("F", "U"):
                acked_findings[item_id] = note
            elif kind == "M":
                acked_rulers.add(item_id)
            else:
                impression = note
        with ReadingStore(db_path) as store:  # the database always opens after a kill...
            assert store.integrity_check() == "ok"
            saved = store.load(key)
        if saved is None:
            assert not acks
            continue
        # ... holds every acknowledged edit, and at most the one edit in progress besides.
        extra = saved.revision - revision - len(acks)
        assert extra in (0, 1), (round_no, saved.revision, revision, len(acks))
        notes = {f.id: f.note for f in saved.findings}
        for item_id, note in acked_findings.items():
            assert item_id in notes, f"acknowledged finding lost in round {round_no}"
        assert acked_rulers <= {m.id for m in saved.measurements}
        in_progress = edit_note(round_no, len(acks))
        for item_id, note in acked_findings.items():
            assert notes[item_id] == note or (extra and notes[item_id] == in_progress)
        assert saved.impression == impression or (extra and saved.impression == in_progress)
        assert len(saved.findings) - len(acked_findings) in (0, extra)
        # What is saved is the truth for the next round (an unacknowledged edit that
        # committed counts as done from now on).
        revision, impression = saved.revision, saved.impression
        acked_findings = notes
        acked_rulers = {m.id for m in saved.measurements}
    elapsed = time.monotonic() - started
    print(f"{KILLS} kills, {total_acks} acknowledged edits, {elapsed:.1f} s")
    assert total_acks > KILLS  # the kills did land in the middle of editing
    assert elapsed < 40, f"crash test took {elapsed:.1f} s"


WRITER = textwrap.dedent(
    """
    import sys, time
    from mammoview.io.phantom import demo_studies
    from mammoview.reading import ReadingSession, ReadingStore
    from mammoview.reading.model import ImageContext

    db, which, start, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    study = demo_studies()[which]
    session = ReadingSession.open(ReadingStore(db), study, allow_read_only=False)
    ctx = ImageContext(f"phantom:{study.images[0].uid}", "R", "CC", (0.1, 0.1))
    while time.time() < start:
        time.sleep(0.001)
    i = 0
    while time.time() < start + seconds:
        f = session.add_point(ctx, "mass", (float(i), 0.0), note=f"p{which}-{i}")
        print("ACK", f.id, flush=True)
        i += 1
    session.close()
    """
)


def test_two_processes_editing_different_studies_lose_nothing(db_path, tmp_path):
    ReadingStore(db_path).close()  # create the schema first, as the app does on start
    start = time.time() + 1.5  # both start editing at the same moment
    # The writers' output goes to files: thousands of ACK lines would fill a pipe that
    # nobody reads until they exit, and block them.
    logs = [(open(tmp_path / f"out{n}.txt", "w+"), open(tmp_path / f"err{n}.txt", "w+")) for n in (0, 1)]
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db_path), str(n), repr(start), "3"],
                         stdout=logs[n][0], stderr=logs[n][1], text=True)
        for n in (0, 1)
    ]
    reader = ReadingStore(db_path)  # a third connection reading the worklist meanwhile
    polls = 0
    while any(p.poll() is None for p in procs):
        reader.summaries()
        polls += 1
        time.sleep(0.02)
    outputs = []
    for proc, (out, err) in zip(procs, logs):
        proc.wait(timeout=30)
        out.seek(0)
        err.seek(0)
        outputs.append((out.read(), err.read()))
        out.close()
        err.close()
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert "locked" not in err.lower() and "busy" not in err.lower(), err
    store = ReadingStore(db_path)
    assert store.integrity_check() == "ok"
    for n, (out, _) in enumerate(outputs):
        acked = [line.split()[1] for line in out.splitlines() if line.startswith("ACK")]
        assert len(acked) > 5  # both really edited during the same 3 s
        saved = store.load(f"phantom:phantom-study-{n + 1}")
        assert [f.id for f in saved.findings] == acked
        assert saved.revision == len(acked)
    assert polls > 10
    print(f"two writers: {[len(o.splitlines()) for o, _ in outputs]} edits in 3 s, {polls} reads meanwhile")
