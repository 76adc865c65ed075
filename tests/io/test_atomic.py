"""atomic_write: the target is either the complete new file or untouched."""

from __future__ import annotations

import os

import pytest

from mammoview.io.atomic import atomic_write


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_success_creates_the_file_with_all_data(tmp_path):
    target = tmp_path / "report.pdf"
    with atomic_write(target) as fh:
        fh.write(b"%PDF-1.7\n")
        fh.write(b"x" * 100_000)
    assert target.read_bytes() == b"%PDF-1.7\n" + b"x" * 100_000
    assert _leftovers(tmp_path) == ["report.pdf"]  # no temporary file left behind


def test_success_replaces_an_existing_file_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    with atomic_write(target, "w") as fh:
        fh.write("new é")
    assert target.read_text(encoding="utf-8") == "new é"
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o640
    assert _leftovers(tmp_path) == ["notes.txt"]


def test_nothing_is_visible_at_the_target_until_the_block_ends(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_write(target) as fh:
        fh.write(b"partial")
        assert not target.exists()
    assert target.read_bytes() == b"partial"


def test_failure_keeps_an_existing_target_untouched(tmp_path):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"previous complete report")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_write(target) as fh:
            fh.write(b"half of a new rep")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"previous complete report"
    assert _leftovers(tmp_path) == ["report.pdf"]


def test_failure_without_a_target_leaves_nothing(tmp_path):
    target = tmp_path / "new.txt"
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target, "w") as fh:
            fh.write("abc")
            raise KeyboardInterrupt
    assert _leftovers(tmp_path) == []


def test_failure_during_flush_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    target.write_bytes(b"keep")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        with atomic_write(target) as fh:
            fh.write(b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"keep"
    assert _leftovers(tmp_path) == ["a.bin"]


@pytest.mark.parametrize("mode", ["a", "ab", "r", "w+", "x"])
def test_only_plain_write_modes_are_accepted(tmp_path, mode):
    with pytest.raises(ValueError):
        with atomic_write(tmp_path / "f", mode):
            pass
    assert _leftovers(tmp_path) == []
