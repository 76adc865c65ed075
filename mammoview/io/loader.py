"""One entry point per step for every reader: header from a path, pixels from a ref.

:func:`read_header` picks the reader from the file (extension, then content, so DICOM
files without an extension work); :func:`load_image` dispatches on ``ref.kind``.
"""

from __future__ import annotations

import os
from pathlib import Path

from mammoview.core.errors import ImageReadError, UnsupportedFileError
from mammoview.core.image import Image, ImageRef
from mammoview.io import dicom, limits, phantom, raster

DICOM_EXTENSIONS = frozenset({".dcm", ".dicom", ".dic"})


def read_header(path: str | os.PathLike[str]) -> ImageRef:
    """Describe the image in ``path`` from its header alone (no pixel decoding).

    Raster extensions (PNG, PGM, TIFF, JPEG, BMP) go to :mod:`mammoview.io.raster`,
    ``.dcm``/``.dicom`` to :mod:`mammoview.io.dicom`; any other file is read as DICOM
    when :func:`mammoview.io.dicom.is_dicom` recognises it (DICOM files from a CD or
    PACS export often have no extension, e.g. ``IM000001``).

    Raises
    ------
    ImageReadError
        Empty, unreadable or damaged file, or not an image this app reads.
    UnsupportedFileError
        Readable but not shown (DICOMDIR, structured report, colour image...).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if raster.is_raster_path(path):
        return raster.read_raster_header(path)
    if suffix in DICOM_EXTENSIONS:
        return dicom.read_dicom_header(path)
    limits.check_nonempty_file(path)
    if dicom.is_dicom(path):
        return dicom.read_dicom_header(path)
    raise ImageReadError(path, "not a DICOM file or a supported image (PNG, PGM, TIFF, JPEG)")


def load_image(ref: ImageRef) -> Image:
    """Decode the pixels of a ref made by discovery (or :func:`read_header`).

    Parameters
    ----------
    ref : ImageRef
        ``ref.kind`` is "dicom", "raster" or "phantom".

    Raises
    ------
    ImageReadError
        The reader's own one-line error (the file may have changed since discovery).
    UnsupportedFileError
        For an unknown ``ref.kind``.
    """
    if ref.kind == "dicom":
        return dicom.read_dicom(ref.path, ref)
    if ref.kind == "raster":
        return raster.read_raster(ref.path, ref)
    if ref.kind == "phantom":
        return phantom.render_phantom(ref)
    raise UnsupportedFileError(ref.path, f"no reader for image kind {ref.kind!r}")


def open_image(path: str | os.PathLike[str]) -> Image:
    """Header, then pixels: the one call for a single file (CLI, tests)."""
    return load_image(read_header(path))
