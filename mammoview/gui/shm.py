"""Arrays handed from a worker process to the window through shared memory.

A result computed in a :class:`~mammoview.gui.isolation.ProcessLane` process would
otherwise travel back pickled through a pipe: a prepared super-resolved full-field view
is about 140 MB of uint16 levels, which the parent would unpickle with the GIL held.
Instead the child writes each array into a :class:`multiprocessing.shared_memory.SharedMemory`
block and returns only a :class:`ShmRef` (name, shape, dtype); a worker thread of the
window maps the block (never the UI thread) and unlinks it at once, so the name leaves
``/dev/shm`` while the mapping lives exactly as long as the NumPy array that uses it.

Ownership, so that every block is unlinked exactly once:

* The parent names the blocks of a job (:func:`job_prefix`; the child appends 0, 1, ...).
* The child unlinks what it made if it fails before returning.
* The parent unlinks each block when it maps it (:func:`import_array`), releases the rest
  if it stops half-way (:func:`release_refs`), releases a whole late result when the job
  was cancelled meanwhile, and sweeps the job's names (:func:`sweep_prefix`) when the
  child died (a crashed process returns nothing).
* Blocks a child creates are registered with multiprocessing's resource tracker (shared
  by the whole process tree), which unlinks them if the application itself is killed;
  the parent unregisters each block it unlinks.

A :class:`JobControl` block (16 bytes) carries the cancel flag to the child and its
progress back. Pure NumPy and the standard library: the child imports no Qt.
"""

from __future__ import annotations

import itertools
import mmap
import os
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

import numpy as np

# At most this many blocks per job (a result's pyramid levels); the crash sweep tries each.
MAX_BLOCKS = 32
_DEV_SHM = "/dev/shm"
_counter = itertools.count(1)
_counter_lock = threading.Lock()


@dataclass(frozen=True)
class ShmRef:
    """Where a child left one array: block name, shape and dtype string."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


def job_prefix() -> str:
    """A name prefix unique to this process and job (short: macOS allows 31 characters)."""
    with _counter_lock:
        n = next(_counter)
    return f"mv{os.getpid()}_{n}_"


# ------------------------------------------------------------------ child side
# A paced copy moves this many bytes, then lets other threads run.
PACE_BYTES = 2 << 20


def export_arrays(arrays, prefix: str, *, pace: bool = False) -> list[ShmRef]:
    """Copy each array into its own new block ``prefix + str(k)``; return their refs.

    If anything fails, the blocks made so far are unlinked before the error
    propagates, so a failed job leaves nothing behind. ``pace`` (the window's worker
    threads) copies in 2 MB slices with a 1 ms pause between them: filling fresh shared
    pages costs page faults at full priority, and two workers doing it at once on two
    cores delayed the UI thread by 50 ms and more.
    """
    arrays = list(arrays)
    if len(arrays) > MAX_BLOCKS:
        raise ValueError(f"at most {MAX_BLOCKS} arrays per job, got {len(arrays)}")
    refs: list[ShmRef] = []
    try:
        for k, array in enumerate(arrays):
            array = np.ascontiguousarray(array)
            name = f"{prefix}{k}"
            block = SharedMemory(name=name, create=True, size=max(1, array.nbytes))
            refs.append(ShmRef(name, tuple(array.shape), array.dtype.str))
            try:
                view = np.ndarray(array.shape, array.dtype, buffer=block.buf)
                if pace and array.ndim and array.nbytes > PACE_BYTES:
                    step = max(1, PACE_BYTES // max(1, array[0].nbytes))
                    for start in range(0, array.shape[0], step):
                        view[start:start + step] = array[start:start + step]
                        time.sleep(0.001)
                else:
                    view[...] = array
                del view
            finally:
                block.close()
    except BaseException:
        release_refs(refs)
        raise
    return refs


# ------------------------------------------------------------------ parent side
def import_array(ref: ShmRef) -> np.ndarray:
    """Map ``ref``'s block as a read-only array and unlink its name (a worker thread).

    On Linux the array uses the shared pages directly (no copy): the name is removed
    at once and the memory returns to the system when the array is freed. Elsewhere
    the block is copied into a private array, then closed and unlinked.
    """
    shape, dtype = tuple(ref.shape), np.dtype(ref.dtype)
    count = int(np.prod(shape, dtype=np.int64))
    path = os.path.join(_DEV_SHM, ref.name)
    if sys.platform.startswith("linux") and os.path.isdir(_DEV_SHM):
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            mapping = mmap.mmap(fd, size, prot=mmap.PROT_READ) if size else None
        finally:
            os.close(fd)
            _unlink(ref.name)
        if mapping is None or count == 0:
            return np.zeros(shape, dtype)
        array = np.frombuffer(mapping, dtype=dtype, count=count).reshape(shape)
        return array  # read-only: the buffer is a PROT_READ mapping
    block = SharedMemory(name=ref.name)
    try:
        array = np.ndarray(shape, dtype, buffer=block.buf).copy()
    finally:
        block.close()
        _unlink(ref.name)
    array.setflags(write=False)
    return array


def import_arrays(refs) -> list[np.ndarray]:
    """:func:`import_array` of each ref; on failure the refs not yet mapped are released."""
    refs = list(refs)
    out: list[np.ndarray] = []
    try:
        for ref in refs:
            out.append(import_array(ref))
    except BaseException:
        release_refs(refs[len(out) + 1:])
        raise
    return out


def release_refs(refs) -> int:
    """Unlink the blocks of ``refs`` without mapping them; returns how many existed."""
    return sum(_unlink(ref.name) for ref in refs)


def sweep_prefix(prefix: str) -> int:
    """Unlink every block a (crashed) child may have made under ``prefix``."""
    return sum(_unlink(f"{prefix}{k}") for k in range(MAX_BLOCKS))


def _unlink(name: str, *, tracked: bool = True) -> bool:
    """Unlink one block by name (and drop it from the resource tracker when ``tracked``:
    blocks a child created are registered there); False if it did not exist."""
    try:
        from _posixshmem import shm_unlink  # POSIX
    except ImportError:  # Windows: the block goes when its last handle closes
        return False
    try:
        shm_unlink("/" + name)
    except FileNotFoundError:
        return False
    if not tracked:
        return True
    _untrack(name)
    return True


def _untrack(name: str) -> None:
    """Take a block off the resource tracker's list: its owner unlinks it itself."""
    try:
        resource_tracker.unregister("/" + name, "shared_memory")
    except Exception:  # noqa: BLE001 (no tracker running: nothing to tell)
        pass


def leaked_segments(prefix: str = "mv") -> list[str]:
    """Names in /dev/shm starting with ``prefix`` (tests: nothing must be left)."""
    try:
        return sorted(n for n in os.listdir(_DEV_SHM) if n.startswith(prefix))
    except OSError:
        return []


def own_prefix() -> str:
    """The prefix of every block named for jobs of this process."""
    return f"mv{os.getpid()}_"


# ------------------------------------------------------------------ job control
class JobControl:
    """16 shared bytes per job: [cancel flag, progress done, progress total, spare] (int32).

    The parent creates it (:meth:`create`) and unlinks it (:meth:`close`); the child
    attaches by name (:meth:`attach`), polls :attr:`cancelled` and calls :meth:`report`.
    """

    SIZE = 16

    def __init__(self, name: str, block: SharedMemory | None, mapping=None, owner: bool = False):
        self.name = name
        self._block = block
        self._mapping = mapping
        self._owner = owner
        buf = block.buf if block is not None else mapping
        self._words = np.ndarray((4,), np.int32, buffer=buf)

    @classmethod
    def create(cls, prefix: str) -> "JobControl":
        name = f"{prefix}c"
        block = SharedMemory(name=name, create=True, size=cls.SIZE)
        # The parent owns it: no tracker entry (it unlinks it itself in close()).
        _untrack(name)
        control = cls(name, block, owner=True)
        control._words[:] = 0
        return control

    @classmethod
    def attach(cls, name: str) -> "JobControl":
        """The child's handle (maps the block without registering it anywhere)."""
        path = os.path.join(_DEV_SHM, name)
        if sys.platform.startswith("linux") and os.path.exists(path):
            fd = os.open(path, os.O_RDWR)
            try:
                mapping = mmap.mmap(fd, cls.SIZE)
            finally:
                os.close(fd)
            return cls(name, None, mapping)
        block = SharedMemory(name=name)
        _untrack(name)
        return cls(name, block)

    def cancel(self) -> None:
        self._words[0] = 1

    @property
    def cancelled(self) -> bool:
        return bool(self._words[0])

    def report(self, done: int, total: int) -> None:
        self._words[2] = int(total)
        self._words[1] = int(done)

    def progress(self) -> tuple[int, int]:
        return int(self._words[1]), int(self._words[2])

    def close(self) -> None:
        """Unmap; the parent's close also unlinks the name (exactly once)."""
        words, self._words = self._words, None
        del words
        if self._block is not None:
            self._block.close()
            if self._owner:
                _unlink(self.name, tracked=False)  # unregistered when created
                self._owner = False
            self._block = None
        if self._mapping is not None:
            self._mapping.close()
            self._mapping = None


# ------------------------------------------------------------------ partial results
class StreamBlock:
    """A shared block through which a child streams partial results to the parent.

    Layout: four int64 words ``[seq, nbytes, ack, spare]`` then the message bytes (a
    pickle). The child writes a message with :meth:`publish` (``seq`` odd while it
    writes, even when done: a seqlock); the parent reads the newest one with
    :meth:`latest`, copying it and checking that ``seq`` did not move meanwhile. A
    message published with ``keep=True`` (e.g. the superpixel labels, sent once) is not
    overwritten until the parent acknowledged it. Later messages simply replace earlier
    ones: the parent only ever wants the newest partial result.

    The parent creates it (:meth:`create`, owner: unlinks it in :meth:`close`); the child
    attaches by name (:meth:`attach`).
    """

    HEADER = 32
    #: How long a child waits for the parent to take a kept message (it polls every 50 ms).
    ACK_TIMEOUT_S = 10.0

    def __init__(self, name: str, block: SharedMemory, owner: bool) -> None:
        self.name = name
        self._block = block
        self._owner = owner
        self._words = np.ndarray((4,), np.int64, buffer=block.buf)
        self._data = np.ndarray((block.size - self.HEADER,), np.uint8, buffer=block.buf,
                                offset=self.HEADER)
        self._seen = 0

    @property
    def capacity(self) -> int:
        return int(self._data.size)

    @classmethod
    def create(cls, prefix: str, size: int) -> "StreamBlock":
        name = f"{prefix}s"
        block = SharedMemory(name=name, create=True, size=cls.HEADER + max(1, int(size)))
        _untrack(name)
        stream = cls(name, block, owner=True)
        stream._words[:] = 0
        return stream

    @classmethod
    def attach(cls, name: str) -> "StreamBlock":
        block = SharedMemory(name=name)
        _untrack(name)
        return cls(name, block, owner=False)

    # -- child side ----------------------------------------------------------------------
    def publish(self, message, *, keep: bool = False, cancelled=lambda: False) -> bool:
        """Write ``message`` (any picklable object); False when it does not fit."""
        import pickle

        blob = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if len(blob) > self.capacity:
            return False
        self._wait_for_ack(cancelled)
        seq = int(self._words[0])
        self._words[0] = seq + 1  # odd: being written
        self._data[: len(blob)] = np.frombuffer(blob, np.uint8)
        self._words[1] = len(blob)
        self._words[0] = seq + 2
        if keep:
            self._words[3] = seq + 2  # the parent must ack this one before the next
        return True

    def _wait_for_ack(self, cancelled) -> None:
        keep = int(self._words[3])
        deadline = time.monotonic() + self.ACK_TIMEOUT_S
        while keep and int(self._words[2]) < keep and time.monotonic() < deadline:
            if cancelled():
                return
            time.sleep(0.005)

    # -- parent side ---------------------------------------------------------------------
    def latest(self):
        """The newest message not yet returned, or None (never blocks)."""
        import pickle

        for _ in range(3):
            seq = int(self._words[0])
            if seq == self._seen or seq % 2:
                return None
            size = int(self._words[1])
            blob = self._data[:size].tobytes()
            if int(self._words[0]) == seq:
                self._seen = seq
                self._words[2] = seq  # ack
                return pickle.loads(blob)
        return None

    def close(self) -> None:
        words, data = self._words, self._data
        self._words = self._data = None
        del words, data
        self._block.close()
        if self._owner:
            _unlink(self.name, tracked=False)
            self._owner = False
