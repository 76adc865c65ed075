"""Arrays from worker processes through shared memory: unlinked exactly once, always."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from mammoview.core.progress import Cancelled, CancelToken
from mammoview.gui.isolation import ProcessLane
from mammoview.gui.shm import (
    JobControl,
    export_arrays,
    import_arrays,
    job_prefix,
    leaked_segments,
    own_prefix,
    release_refs,
    sweep_prefix,
)
from mammoview.gui.viewjobs import call_shipped


class _Ctx:
    def __init__(self):
        self.token = CancelToken()
        self.events = []

    def report(self, progress):
        self.events.append(progress)

    def check(self):
        self.token.raise_if_cancelled()


@pytest.fixture(scope="module")
def lane():
    pool = ProcessLane(processes=1)
    pool.warm_up()
    pool.wait_ready(120)
    yield pool
    pool.shutdown()


@pytest.fixture(autouse=True)
def _no_leaks():
    yield
    deadline = time.monotonic() + 5
    while leaked_segments(own_prefix()) and time.monotonic() < deadline:
        time.sleep(0.05)  # a late discard runs in the pool's thread
    assert leaked_segments(own_prefix()) == []


def test_round_trip_in_process_unlinks_on_import():
    prefix = job_prefix()
    arrays = [np.arange(12, dtype=np.uint16).reshape(3, 4), np.ones((2, 2), np.float32)]
    refs = export_arrays(arrays, prefix)
    assert len(leaked_segments(prefix)) == 2
    back = import_arrays(refs)
    assert leaked_segments(prefix) == []  # names gone at once, the pages still mapped
    for a, b in zip(arrays, back):
        assert b.dtype == a.dtype and np.array_equal(a, b)
        assert not b.flags.writeable
    assert release_refs(refs) == 0  # already unlinked: nothing twice


def _make(shape, *, cancel=None, report=None):
    for k in range(4):
        if report is not None:
            report(k + 1, 4)
    return {"shape": shape}, [np.full(shape, 7, np.uint16), np.zeros((1, 3), np.uint8)]


def _slow(shape, *, cancel=None, report=None):
    time.sleep(1.0)
    return _make(shape)


def _crash(shape, *, cancel=None, report=None):
    export_arrays([np.zeros(shape, np.uint8)], cancel._control.name[:-1])
    os._exit(3)  # dies with a block made and nothing returned


def _wait_cancel(shape, *, cancel=None, report=None):
    deadline = time.monotonic() + 20
    while not cancel.cancelled:
        if time.monotonic() > deadline:
            raise RuntimeError("never told to stop")
        time.sleep(0.01)
    raise Cancelled()


def test_call_shipped_returns_arrays_and_progress(lane):
    ctx = _Ctx()
    payload, arrays = call_shipped(lane, _make, ((5, 6),), {}, ctx, message="m")
    assert payload == {"shape": (5, 6)}
    assert arrays[0].shape == (5, 6) and int(arrays[0][0, 0]) == 7


def test_cancelled_job_result_is_freed(lane):
    ctx = _Ctx()
    ctx.token.cancel()
    with pytest.raises(Cancelled):
        call_shipped(lane, _slow, ((64, 64),), {}, ctx)
    time.sleep(1.5)  # the child finishes; its blocks are released by the discard hook


def test_cancel_reaches_the_child(lane):
    ctx = _Ctx()
    import threading

    threading.Timer(0.3, ctx.token.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        call_shipped(lane, _wait_cancel, ((4, 4),), {}, ctx)
    assert time.monotonic() - t0 < 5


def test_crashed_child_blocks_are_swept():
    lane = ProcessLane(processes=1)
    try:
        with pytest.raises(RuntimeError, match="stopped unexpectedly"):
            call_shipped(lane, _crash, ((32, 32),), {}, _Ctx())
    finally:
        lane.shutdown()


def test_control_block_carries_cancel_and_progress():
    prefix = job_prefix()
    parent = JobControl.create(prefix)
    child = JobControl.attach(prefix + "c")
    child.report(3, 8)
    assert parent.progress() == (3, 8)
    parent.cancel()
    assert child.cancelled
    child.close()
    parent.close()
    assert leaked_segments(prefix) == []
    assert sweep_prefix(prefix) == 0
