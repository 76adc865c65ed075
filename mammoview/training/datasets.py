"""Training data: a MIAS folder (images + Info.txt) or a folder plus a labels CSV.

Everything is read through the project's own readers (``mammoview.io``). A labels CSV
is validated as a whole before any training: every bad row (missing file, unknown
class, duplicate, mask of another size) is listed in one message.

Labels CSV (UTF-8, header row, paths relative to the CSV's folder)::

    image,mask,patient,class
    case1/full.png,case1/mask.png,P001,mass
    case2/full.png,,P002,normal          (no mask: a negative image)

``mask`` is required for segmentation (may be empty for a negative image), used by the
classifiers where given (the centre of each lesion is a training patch) and ignored for
super-resolution; ``patient`` is optional (default: the MIAS pair for
``mdbNNN`` names, else each image is its own patient); ``class`` is optional and must
be one of :data:`KNOWN_CLASSES`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mammoview.core.errors import ImageReadError, MammoViewError
from mammoview.core.image import Finding
from mammoview.io import mias
from mammoview.io.raster import read_raster, read_raster_header

MIAS_IMAGE_SUFFIXES = (".png", ".pgm", ".tif", ".tiff")
KNOWN_CLASSES = (
    "lesion", "mass", "calcification", "distortion", "asymmetry", "normal", "benign", "malignant",
    "CALC", "CIRC", "SPIC", "MISC", "ARCH", "ASYM", "NORM",
)
CSV_NAMES = ("labels.csv",)
MAX_LISTED = 8


class DatasetError(MammoViewError):
    """The training data cannot be used; the message lists what is wrong."""


@dataclass(frozen=True)
class Item:
    """One training image: where it is, whose it is, and its ground truth."""

    id: str
    path: Path
    patient: str
    findings: tuple[Finding, ...] = ()
    mask_path: Path | None = None
    label: str = ""
    skip_reason: str = ""


@dataclass
class Dataset:
    """The items of a data source and a description of it for the model card."""

    items: list[Item]
    source: dict = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)


def load_dataset(path: str | Path, *, needs_mask: bool) -> Dataset:
    """A MIAS folder (with Info.txt), a labels CSV, or a folder holding ``labels.csv``.

    Raises
    ------
    DatasetError
        Nothing usable at ``path``, or a labels CSV with bad rows (all listed).
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: data not found")
    if p.is_file():
        if p.suffix.lower() == ".csv":
            return load_csv(p, needs_mask=needs_mask)
        raise DatasetError(f"{p.name}: expected a folder (MIAS with Info.txt) or a labels .csv file")
    for name in CSV_NAMES:
        if (p / name).is_file():
            return load_csv(p / name, needs_mask=needs_mask)
    info = next((p / n for n in ("Info.txt", "info.txt", "INFO.TXT") if (p / n).is_file()), None)
    if info is not None:
        return load_mias(p, info)
    raise DatasetError(f"{p}: no Info.txt (MIAS) or labels.csv in this folder")


def load_mias(folder: Path, info: Path) -> Dataset:
    """The images of a MIAS folder that Info.txt describes (rows without a file are skipped:
    mini-MIAS subsets leave patients out)."""
    entries = mias.parse_info(info)
    files: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        if f.suffix.lower() in MIAS_IMAGE_SUFFIXES and mias.mias_number(f.name) is not None:
            files.setdefault(f"mdb{mias.mias_number(f.name):03d}", f)
    items = [
        Item(
            id=ref,
            path=files[ref],
            patient=f"mias-{mias.mias_patient(ref)}",
            findings=entry.findings(),
            label=entry.ground_truth,
        )
        for ref, entry in sorted(entries.items())
        if ref in files
    ]
    missing = sorted(ref for ref in entries if ref not in files)
    if not items:
        raise DatasetError(f"{folder}: Info.txt lists no image that is in this folder")
    return Dataset(
        items=items,
        source={"kind": "MIAS folder", "path": str(folder), "info": info.name, "images": len(items)},
        skipped={"listed in Info.txt, no image file": missing} if missing else {},
    )


def load_csv(path: Path, *, needs_mask: bool) -> Dataset:
    """Read and validate a labels CSV; every bad row is listed in one DatasetError."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            header = [h.strip().lower() for h in (rows[0].keys() if rows else [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path.name}: cannot read the labels CSV ({exc})") from exc
    if not rows:
        raise DatasetError(f"{path.name}: no rows (expected a header 'image{',mask' if needs_mask else ''}' and one row per image)")
    for col in ("image", "mask") if needs_mask else ("image",):
        if col not in header:
            raise DatasetError(f"{path.name}: no {col!r} column (header is {', '.join(header)})")
    base = path.parent
    problems: list[str] = []
    items: list[Item] = []
    seen: dict[tuple[str, str], int] = {}
    for line, raw in enumerate(rows, start=2):  # line 1 is the header
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        image = row.get("image", "")
        # Optional outside segmentation, but used where given: the classifiers centre
        # their lesion patches on the mask (a CSV row has no Info.txt centre).
        mask = row.get("mask", "")
        label = row.get("class", "")
        bad = _check_row(base, image, mask, label)
        key = (str((base / image).resolve()) if image else "", mask)
        if image and key in seen:
            bad.append(f"duplicate of row {seen[key]}")
        seen.setdefault(key, line)
        if bad:
            problems.append(f"row {line}: " + ", ".join(bad))
            continue
        image_path = base / image
        ident = image_path.stem if image_path.stem not in {i.id for i in items} else f"{image_path.stem}@{line}"
        number = mias.mias_number(image_path.name)
        patient = row.get("patient") or (f"mias-{mias.mias_patient(number)}" if number else ident)
        items.append(Item(ident, image_path, patient, mask_path=(base / mask) if mask else None, label=label))
    if problems:
        listed = "; ".join(problems[:MAX_LISTED])
        more = f"; and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise DatasetError(f"{path.name}: {len(problems)} bad row(s), nothing trained: {listed}{more}")
    return Dataset(items=items, source={"kind": "labels CSV", "path": str(path), "images": len(items)})


def _check_row(base: Path, image: str, mask: str, label: str) -> list[str]:
    bad = []
    if not image:
        bad.append("no image path")
    elif not (base / image).is_file():
        bad.append(f"{image} not found")
    if mask and not (base / mask).is_file():
        bad.append(f"mask {mask} not found")
    if label and label not in KNOWN_CLASSES and label.lower() not in KNOWN_CLASSES:
        bad.append(f"unknown class {label!r}")
    if not bad and mask:
        try:
            a, b = read_raster_header(base / image), read_raster_header(base / mask)
            if (a.rows, a.cols) != (b.rows, b.cols):
                bad.append(f"mask {mask} is {b.cols} x {b.rows}, image is {a.cols} x {a.rows}")
        except ImageReadError as exc:
            bad.append(str(exc))
    return bad


# --------------------------------------------------------------------------- pixels


def load_grey(path: Path) -> np.ndarray:
    """An image's pixels as float32 in [0, 1], scaled by its own min and max; bright = dense
    (a MONOCHROME1 DICOM is inverted)."""
    from mammoview.io.dicom import is_dicom, read_dicom

    image = read_dicom(path) if is_dicom(path) else read_raster(path)
    grey = to_unit(image.pixels)
    return 1.0 - grey if image.is_monochrome1 else grey


def to_unit(pixels: np.ndarray) -> np.ndarray:
    """Min-max scale to float32 [0, 1] (a flat image becomes zeros)."""
    arr = np.asarray(pixels, dtype=np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    return (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)


def read_mask(path: Path) -> np.ndarray:
    """A mask image (any dtype): nonzero is lesion."""
    return read_raster(path).pixels > 0


def circle_mask(shape: tuple[int, int], findings: tuple[Finding, ...]) -> np.ndarray:
    """The union of the located findings' circles (centre and radius, image pixels)."""
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    out = np.zeros(shape, dtype=bool)
    for f in findings:
        if f.has_location and f.radius:
            out |= (rows - f.row) ** 2 + (cols - f.col) ** 2 <= f.radius**2
    return out
