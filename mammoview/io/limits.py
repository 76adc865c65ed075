"""Size limits a reader checks from the header, before it decodes anything.

A full-field digital mammogram is at most about 4096 x 5625 pixels (23 MP; tomosynthesis
projections and 2 x 2 binned detectors are smaller). The limit below is almost ten times
that, so no real mammogram trips it, while a corrupt or hostile header that claims
100 000 x 100 000 pixels is refused before a decoder tries to allocate 20 GB.
"""

from __future__ import annotations

from pathlib import Path

from mammoview.core.errors import ImageReadError

MAX_PIXELS = 200_000_000
"""Most pixels one frame (rows x columns) may have; about 400 MB as uint16."""


def check_pixel_count(path: str | Path, rows: int, cols: int) -> None:
    """Refuse an image whose header claims more than :data:`MAX_PIXELS` pixels.

    Parameters
    ----------
    path : str or Path
        The file, named in the error.
    rows, cols : int
        The size the header declares.

    Raises
    ------
    ImageReadError
        When ``rows * cols`` exceeds :data:`MAX_PIXELS`, or a dimension is not positive.

    Examples
    --------
    >>> check_pixel_count("a.dcm", 4664, 3064)  # a full-size mammogram passes
    """
    if rows <= 0 or cols <= 0:
        raise ImageReadError(path, f"invalid image size in the header: {rows} x {cols} pixels")
    count = rows * cols
    if count > MAX_PIXELS:
        raise ImageReadError(
            path,
            f"image too large: {rows} x {cols} = {count / 1e6:.0f} megapixels "
            f"(the limit is {MAX_PIXELS / 1e6:.0f} megapixels)",
        )


def check_nonempty_file(path: str | Path) -> None:
    """Refuse a path that is missing, unreadable or empty, with the reason in one line."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None
    if size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
