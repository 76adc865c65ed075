"""Atomic file writes: a reader of the target never sees a half-written file.

Reports, exports and saved state are written through :func:`atomic_write`: the data
goes to a temporary file in the target's own folder (so the final rename stays on one
file system and is atomic), is flushed and fsync'ed, and only then replaces the target
with :func:`os.replace`. If anything fails, the temporary file is removed and an
existing target is left exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` when the ``with`` block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace. Its folder must exist.
    mode : str
        ``"wb"`` (default) or ``"w"`` (text; ``encoding`` defaults to UTF-8). Only write
        modes are allowed: appending or reading would not make sense on a fresh file.
    **open_kwargs
        Passed to :func:`open` (e.g. ``encoding``, ``newline``).

    Yields
    ------
    file object
        Write to it; do not close it yourself.

    Raises
    ------
    ValueError
        For a mode other than ``"w"``/``"wb"`` (``"x"`` and ``"+"`` variants included).

    Notes
    -----
    On an exception inside the block (or while flushing), the temporary file is
    deleted, the target is untouched and the exception propagates. A new file gets
    the default permissions of ``open`` (umask applied); a replaced file keeps its
    permission bits.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_write(target, "w") as fh:
    ...     _ = fh.write("hello")
    >>> target.read_text()
    'hello'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write supports mode 'w' or 'wb', not {mode!r}")
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")

    # mkstemp creates the file 0600; keep the target's permissions when replacing it,
    # otherwise use what a plain open() would have produced.
    try:
        perm = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        perm = 0o666 & ~umask

    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, perm)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable where the platform allows it (POSIX only)."""
    if os.name != "posix":
        return
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
