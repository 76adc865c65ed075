"""mini-MIAS ground truth: ``Info.txt`` rows, file names and patient pairs.

The distributed ``Info.txt`` is free text, then one row per finding::

    REFNUM BG CLASS SEVERITY X Y RADIUS
    mdb001 G CIRC B 535 425 197
    mdb006 F NORM
    mdb059 F CIRC B            (no centre or radius)
    mdb216 D CALC M *NOTE 3*   (calcifications spread through the breast)

``X``/``Y`` are measured from the **bottom-left** corner, so the image row is
``height - Y`` (1024 - Y for mini-MIAS). An image can have several rows; an image with
no row is not part of the set. Patients are pairs: ``mdb(2k-1)`` is the right breast
and ``mdb(2k)`` the left breast of patient ``k`` (Info.txt, note 1).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mammoview.core.errors import ImageReadError
from mammoview.core.image import Finding

MIAS_SIZE = 1024
MIAS_SPACING_MM = 0.2
MIAS_SPACING_SOURCE = "MIAS (200 micron)"

BACKGROUND_NAMES = {"F": "fatty", "G": "fatty-glandular", "D": "dense-glandular"}
CLASS_CODES = ("CALC", "CIRC", "SPIC", "MISC", "ARCH", "ASYM", "NORM")
SEVERITY_NAMES = {"B": "benign", "M": "malignant"}

_NAME_RE = re.compile(r"^mdb(\d{3})(?:\.[A-Za-z0-9]+)?$", re.IGNORECASE)
_ROW_RE = re.compile(r"^(mdb\d{3})\s+(\S.*)$", re.IGNORECASE)
# How far up the folder tree an image looks for its Info.txt (folder, parent, grandparent).
_INFO_SEARCH_DEPTH = 3
_INFO_NAMES = ("Info.txt", "info.txt", "INFO.TXT")


@dataclass(frozen=True)
class MiasRow:
    """One finding row as written in Info.txt (x, y from the bottom-left corner)."""

    kind: str  # CALC, CIRC, SPIC, MISC, ARCH, ASYM
    severity: str  # "benign" | "malignant"
    x: float | None = None
    y: float | None = None
    radius: float | None = None
    note: str = ""

    def to_finding(self, height: int = MIAS_SIZE) -> Finding:
        """The row as a :class:`Finding` in (row, col) image pixels, row 0 at the top."""
        if self.x is None or self.y is None:
            return Finding(kind=self.kind, severity=self.severity, source="MIAS Info.txt", note=self.note)
        return Finding(
            kind=self.kind,
            severity=self.severity,
            row=float(height) - self.y,
            col=self.x,
            radius=self.radius,
            source="MIAS Info.txt",
        )


@dataclass(frozen=True)
class MiasEntry:
    """Everything Info.txt says about one image."""

    refnum: str  # "mdb001"
    background: str  # F, G or D
    rows: tuple[MiasRow, ...] = ()

    @property
    def background_name(self) -> str:
        return BACKGROUND_NAMES.get(self.background, self.background)

    @property
    def ground_truth(self) -> str:
        """"malignant" if any row is malignant, else "benign" if any row, else "normal"."""
        severities = {row.severity for row in self.rows}
        if "malignant" in severities:
            return "malignant"
        if "benign" in severities:
            return "benign"
        return "normal"

    def findings(self, height: int = MIAS_SIZE) -> tuple[Finding, ...]:
        """Findings in image pixels for an image ``height`` rows tall."""
        return tuple(row.to_finding(height) for row in self.rows)

    @property
    def patient(self) -> int:
        return mias_patient(self.refnum)

    @property
    def laterality(self) -> str:
        return mias_laterality(self.refnum)


def mias_number(name: str | os.PathLike[str]) -> int | None:
    """The MIAS reference number in a file name (``mdb005.pgm`` -> 5), else ``None``."""
    match = _NAME_RE.match(Path(name).name)
    return int(match.group(1)) if match else None


def mias_patient(refnum: str | int) -> int:
    """Patient number ``k`` for ``mdb(2k-1)`` (right) and ``mdb(2k)`` (left).

    >>> mias_patient("mdb005"), mias_patient("mdb006"), mias_patient(1)
    (3, 3, 1)
    """
    number = refnum if isinstance(refnum, int) else mias_number(str(refnum))
    if number is None or number < 1:
        raise ValueError(f"not a MIAS reference number: {refnum!r}")
    return (number + 1) // 2


def mias_laterality(refnum: str | int) -> str:
    """"R" for odd reference numbers, "L" for even ones (Info.txt, note 1)."""
    number = refnum if isinstance(refnum, int) else mias_number(str(refnum))
    if number is None or number < 1:
        raise ValueError(f"not a MIAS reference number: {refnum!r}")
    return "R" if number % 2 else "L"


def parse_info(path: str | os.PathLike[str]) -> dict[str, MiasEntry]:
    """Parse a mini-MIAS ``Info.txt`` into ``{"mdb001": MiasEntry, ...}``.

    Lines that do not start with a reference number (the header text, separators,
    blank lines) are ignored. Rows of one image are collected in file order.

    Raises
    ------
    ImageReadError
        If the file cannot be read, a row is malformed (unknown class, bad number),
        or no row is found at all.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise ImageReadError(path, f"cannot read MIAS Info.txt ({exc.strerror or exc})") from exc
    background: dict[str, str] = {}
    rows: dict[str, list[MiasRow]] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        match = _ROW_RE.match(line.strip())
        if not match:
            continue
        refnum = match.group(1).lower()
        bg, row = _parse_row(path, line_no, match.group(2).split())
        background.setdefault(refnum, bg)
        rows.setdefault(refnum, [])
        if row is not None:
            rows[refnum].append(row)
    if not background:
        raise ImageReadError(path, "no MIAS rows (mdbNNN ...) found in Info.txt")
    return {ref: MiasEntry(ref, background[ref], tuple(rows[ref])) for ref in background}


def _parse_row(path: Path, line_no: int, fields: list[str]) -> tuple[str, MiasRow | None]:
    """(background, finding row or None for NORM) from the fields after REFNUM."""

    def bad(reason: str) -> ImageReadError:
        return ImageReadError(path, f"line {line_no}: {reason}")

    if len(fields) < 2:
        raise bad("expected background tissue and class after the reference number")
    bg, kind = fields[0].upper(), fields[1].upper()
    if bg not in BACKGROUND_NAMES:
        raise bad(f"unknown background tissue {fields[0]!r}")
    if kind not in CLASS_CODES:
        raise bad(f"unknown abnormality class {fields[1]!r}")
    if kind == "NORM":
        return bg, None
    if len(fields) < 3 or fields[2].upper() not in SEVERITY_NAMES:
        raise bad(f"{kind} row without severity B or M")
    severity = SEVERITY_NAMES[fields[2].upper()]
    rest = fields[3:]
    if not rest:
        return bg, MiasRow(kind, severity, note="no location given")
    if rest[0].startswith("*"):
        # "*NOTE 3*": calcifications spread through the breast, no single centre.
        return bg, MiasRow(kind, severity, note="distributed through the breast, no single centre")
    try:
        numbers = [float(v) for v in rest[:3]]
    except ValueError:
        raise bad(f"coordinates are not numbers: {' '.join(rest)!r}") from None
    if len(numbers) < 2:
        raise bad("a centre needs both x and y")
    radius = numbers[2] if len(numbers) > 2 else None
    return bg, MiasRow(kind, severity, x=numbers[0], y=numbers[1], radius=radius)


_INFO_CACHE: dict[str, tuple[tuple[int, int], dict[str, MiasEntry]]] = {}


def find_info(image_path: str | os.PathLike[str]) -> Path | None:
    """The ``Info.txt`` beside a MIAS image, or in one of its parent folders."""
    folder = Path(image_path).absolute().parent
    for _ in range(_INFO_SEARCH_DEPTH):
        for name in _INFO_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        if folder.parent == folder:
            break
        folder = folder.parent
    return None


def load_info(path: str | os.PathLike[str]) -> dict[str, MiasEntry]:
    """:func:`parse_info`, cached per file until its size or modification time changes.

    Discovery of a MIAS folder asks for the same Info.txt once per image.
    """
    path = Path(path).absolute()
    stat = path.stat()
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _INFO_CACHE.get(str(path))
    if cached and cached[0] == key:
        return cached[1]
    entries = parse_info(path)
    _INFO_CACHE[str(path)] = (key, entries)
    return entries


def lookup_entry(image_path: str | os.PathLike[str]) -> MiasEntry | None:
    """The Info.txt entry for a MIAS image, or ``None`` (no Info.txt, or no row for it).

    An unreadable or malformed Info.txt is treated as absent: the image itself still
    opens, just without ground truth.
    """
    number = mias_number(image_path)
    if number is None:
        return None
    info = find_info(image_path)
    if info is None:
        return None
    try:
        entries = load_info(info)
    except (ImageReadError, OSError):
        return None
    return entries.get(f"mdb{number:03d}")
