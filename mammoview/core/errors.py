"""Errors a user sees. Each names the file it is about and says why, in one line."""

from __future__ import annotations

from pathlib import Path


class MammoViewError(Exception):
    """Base class for failures that are reported to the user (not bugs)."""


class ImageReadError(MammoViewError):
    """A file could not be opened as a mammogram.

    ``str(err)`` is the one-line message shown to the user: ``"<file name>: <reason>"``.
    The patient's name never appears in ``reason`` (messages end up in logs).
    """

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{Path(self.path).name}: {reason}")


class UnsupportedFileError(ImageReadError):
    """The file is readable but is not something MammoView shows (CT, SR, DICOMDIR...)."""


class ExportError(MammoViewError):
    """Writing an output file (report, image) failed; the target was left untouched."""
