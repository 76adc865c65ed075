"""The worker runner: results reach the UI thread, stale ones are dropped, errors reported."""

from __future__ import annotations

import threading
import time

import pytest

from mammoview.core.errors import ImageReadError
from mammoview.core.progress import Progress
from mammoview.gui.workers import JobRunner


@pytest.fixture
def runner(qtbot):
    r = JobRunner(max_threads=2)
    yield r
    r.cancel_all()
    r.wait_for_done(5000)


def test_result_arrives_on_ui_thread(qtbot, runner):
    got = []
    ui_thread = threading.get_ident()
    runner.submit(lambda ctx: threading.get_ident(), on_done=lambda r: got.append((r, threading.get_ident())))
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    worker_ident, delivered_on = got[0]
    assert worker_ident != ui_thread
    assert delivered_on == ui_thread
    assert runner.outstanding == 0


def test_bumped_channel_drops_late_result(qtbot, runner):
    release = threading.Event()
    started = threading.Event()
    delivered = []

    def slow(ctx):
        started.set()
        release.wait(5)
        return "old image"

    runner.submit(slow, name="old", channels=("image",), on_done=delivered.append)
    assert started.wait(5)
    runner.bump("image")  # the user moved on to another image
    runner.submit(lambda ctx: "new image", name="new", channels=("image",), on_done=delivered.append)
    qtbot.waitUntil(lambda: delivered == ["new image"], timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: runner.outstanding == 0, timeout=5000)
    assert delivered == ["new image"]
    assert runner.dropped_count == 1


def test_bump_cancels_the_token_of_running_jobs(qtbot, runner):
    started = threading.Event()
    seen = {}

    def poll(ctx):
        started.set()
        for _ in range(500):
            if ctx.token.cancelled:
                seen["cancelled"] = True
                ctx.check()
            time.sleep(0.01)
        return "finished"

    done = []
    runner.submit(poll, channels=("view:clahe",), on_done=done.append)
    assert started.wait(5)
    runner.bump("view:clahe")
    qtbot.waitUntil(lambda: runner.outstanding == 0, timeout=5000)
    assert seen.get("cancelled") is True
    assert done == []


def test_other_channels_are_not_affected(qtbot, runner):
    done = []
    release = threading.Event()
    runner.submit(lambda ctx: release.wait(5) and "wavelet", channels=("image", "view:wavelet"),
                  on_done=done.append)
    runner.bump("view:clahe")
    release.set()
    qtbot.waitUntil(lambda: done == ["wavelet"], timeout=5000)


def test_error_is_delivered_not_raised(qtbot, runner):
    failures = []

    def bad(ctx):
        raise ImageReadError("/x/broken.dcm", "truncated pixel data")

    runner.submit(bad, name="load broken.dcm", on_error=failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=5000)
    assert failures[0].message == "broken.dcm: truncated pixel data"
    assert isinstance(failures[0].error, ImageReadError)
    assert "ImageReadError" in failures[0].traceback


def test_generator_job_reports_progress_and_returns_value(qtbot, runner):
    events, done = [], []

    def job(ctx):
        def gen():
            for i in range(3):
                yield Progress(i + 1, 3, f"step {i + 1}")
            return "all done"
        return gen()

    runner.submit(job, on_done=done.append, on_progress=events.append)
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert done == ["all done"]
    assert [e.done for e in events] == [1, 2, 3]
