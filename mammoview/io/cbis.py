"""CBIS-DDSM sample layout: case folders with ``labels.csv`` and ``bboxes.csv`` beside them.

The layout (``shared/data/cbis-ddsm-sample``, see its SOURCES.md)::

    <root>/labels.csv     case,abnormality_id,patient_id,breast_density,left_or_right_breast,
                          image_view,abnormality_type,mass_shape,mass_margins,assessment,
                          pathology,subtlety        (one row per abnormality)
    <root>/bboxes.csv     case,abnormality_id,...,rows_1024,cols_1024,x1_1024,y1_1024,x2_1024,y2_1024
    <root>/<case>/full_mammogram_1024.png          the mammogram
    <root>/<case>/lesionN_bbox_mask_1024.png       box masks and outlines: not mammograms
    <root>/<case>/lesionN_cropped_roi.dcm          the original cropped-lesion DICOM

A full mammogram gets its case's patient, laterality, view, ground truth (the worst
pathology over its abnormalities) and one finding per abnormality: the box's centre with
a radius of half its longer side, which is how MIAS gives findings, so the findings
overlay, the PDF report and the lesion metrics treat both sets alike. BI-RADS assessment,
density and the shape/margin descriptors stay on :class:`CbisCase` (ImageRef has no field
for them).

The CSVs are ground truth, not the image: a missing, unreadable or malformed
``labels.csv`` (or a malformed row of a case) leaves the image a plain raster, and a
missing or bad ``bboxes.csv`` row leaves that finding without a location.

A folder walk (discovery) leaves out a known case's box masks and cropped-lesion DICOMs:
they are ground truth and lesion crops, not mammogram views, and the crops' headers name
the case (``Mass-Test_P_00016_LEFT_CC_1``), not the patient, so each would list as a study
of its own ahead of the mammograms. Opened by name, either still opens like any file.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mammoview.core.image import KNOWN_VIEWS, Finding

log = logging.getLogger(__name__)

SOURCE = "CBIS-DDSM labels.csv"
LABELS_NAME = "labels.csv"
BOXES_NAME = "bboxes.csv"
PATHOLOGIES = {"MALIGNANT": "malignant", "BENIGN": "benign", "BENIGN_WITHOUT_CALLBACK": "benign"}
SIDES = {"LEFT": "L", "RIGHT": "R"}
_LABEL_COLUMNS = {"case", "abnormality_id", "patient_id", "left_or_right_breast", "image_view", "pathology"}
_BOX_COLUMNS = {"case", "abnormality_id", "rows_1024", "cols_1024", "x1_1024", "y1_1024", "x2_1024", "y2_1024"}
_MAMMOGRAM_RE = re.compile(r"^full_mammogram", re.IGNORECASE)
_LESION_FILE_RE = re.compile(r"^lesion\d+_(?:bbox_(?:mask|outline)(?:_\d+)?\.png|cropped_roi\.dcm)$", re.IGNORECASE)
_RANK = {"benign": 1, "malignant": 2}


@dataclass(frozen=True)
class CbisAbnormality:
    """One labels.csv row, with its box (x1, y1, x2, y2, rows_1024, cols_1024) if bboxes.csv has it."""

    abnormality_id: str
    kind: str  # a MIAS class code, so Finding.describe() names it
    pathology: str  # "benign" | "malignant"
    assessment: int | None = None  # BI-RADS
    shape: str = ""
    margins: str = ""
    subtlety: int | None = None
    box: tuple[float, float, float, float, float, float] | None = None

    def to_finding(self, rows: int, cols: int) -> Finding:
        if self.box is None:
            return Finding(self.kind, self.pathology, source=SOURCE, note="no lesion box in bboxes.csv")
        x1, y1, x2, y2, rows_1024, cols_1024 = self.box
        # The boxes are in the 1024-px image's pixels; scale them to the image actually opened.
        sy, sx = rows / rows_1024, cols / cols_1024
        return Finding(self.kind, self.pathology, row=(y1 + y2) / 2 * sy, col=(x1 + x2) / 2 * sx,
                       radius=max((x2 - x1) * sx, (y2 - y1) * sy) / 2, source=SOURCE)


@dataclass(frozen=True)
class CbisCase:
    """Everything the CSVs say about one case folder (one breast, one view)."""

    case: str
    patient_id: str
    laterality: str  # "L" | "R"
    view: str
    density: int | None
    abnormalities: tuple[CbisAbnormality, ...]

    @property
    def ground_truth(self) -> str:
        """The worst pathology over the case's abnormalities (malignant > benign)."""
        return max((a.pathology for a in self.abnormalities), key=_RANK.__getitem__)

    @property
    def assessment(self) -> int | None:
        """The highest BI-RADS assessment over the abnormalities."""
        return max((a.assessment for a in self.abnormalities if a.assessment is not None), default=None)

    def findings(self, rows: int, cols: int) -> tuple[Finding, ...]:
        """One finding per abnormality, in pixels of an image ``rows`` x ``cols``."""
        return tuple(a.to_finding(rows, cols) for a in self.abnormalities)


def lookup_case(image_path: str | os.PathLike[str]) -> CbisCase | None:
    """The case of a ``full_mammogram*`` image in a CBIS-DDSM case folder, else ``None``."""
    path = Path(image_path)
    if not _MAMMOGRAM_RE.match(path.name):
        return None
    return _case_of_folder(path.absolute().parent)


def is_lesion_file(path: str | os.PathLike[str]) -> bool:
    """True for a box mask or outline (``lesionN_bbox_mask/outline*.png``) or a cropped
    lesion (``lesionN_cropped_roi.dcm``) inside a known case folder: not mammograms."""
    path = Path(path)
    return bool(_LESION_FILE_RE.match(path.name)) and _case_of_folder(path.absolute().parent) is not None


def _case_of_folder(folder: Path) -> CbisCase | None:
    cases = load_cases(folder.parent)
    return cases.get(folder.name) if cases else None


# (labels stat, bboxes stat) and the parsed cases, or None when labels.csv is unusable.
_CACHE: dict[str, tuple[tuple, dict[str, CbisCase] | None]] = {}


def load_cases(root: str | os.PathLike[str]) -> dict[str, CbisCase] | None:
    """The cases of ``root/labels.csv`` by case name; ``None`` when it is absent or unusable.

    Cached per folder until either CSV changes (size or modification time): discovery
    asks once per image of the folder.
    """
    root = Path(root)
    labels, boxes = root / LABELS_NAME, root / BOXES_NAME
    key = (_stat_key(labels), _stat_key(boxes))
    if key[0] is None:
        return None
    cached = _CACHE.get(str(root))
    if cached and cached[0] == key:
        return cached[1]
    try:
        box_rows = _read_boxes(boxes) if key[1] is not None else {}
    except (OSError, ValueError, csv.Error) as exc:
        log.debug("%s ignored, findings without location: %s", boxes, exc)
        box_rows = {}
    try:
        cases = _read_labels(labels, box_rows)
    except (OSError, ValueError, csv.Error) as exc:
        log.debug("%s ignored, its images open as plain rasters: %s", labels, exc)
        cases = None
    _CACHE[str(root)] = (key, cases)
    return cases


def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def _read_rows(path: Path, required: set[str]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = required - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"missing columns {sorted(missing)}")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _read_boxes(path: Path) -> dict[tuple[str, str], tuple[float, ...]]:
    boxes = {}
    for row in _read_rows(path, _BOX_COLUMNS):
        try:
            box = tuple(float(row[c]) for c in ("x1_1024", "y1_1024", "x2_1024", "y2_1024", "rows_1024", "cols_1024"))
        except ValueError:
            log.debug("%s: bad box row %s", path, row)
            continue
        x1, y1, x2, y2, rows, cols = box
        if all(map(math.isfinite, box)) and x2 > x1 >= 0 and y2 > y1 >= 0 and rows > 0 and cols > 0:
            boxes[(row["case"], row["abnormality_id"])] = box
    return boxes


def _read_labels(path: Path, boxes: dict) -> dict[str, CbisCase]:
    by_case: dict[str, list[dict[str, str]]] = {}
    for row in _read_rows(path, _LABEL_COLUMNS):
        by_case.setdefault(row["case"], []).append(row)
    cases = {}
    for name, rows in by_case.items():
        try:
            cases[name] = _case(name, rows, boxes)
        except ValueError as exc:
            # One bad row drops its whole case: a ground truth missing an abnormality
            # could read benign where the dropped row was malignant.
            log.debug("%s: case %s ignored: %s", path, name, exc)
    return cases


def _case(name: str, rows: list[dict[str, str]], boxes: dict) -> CbisCase:
    facts = {(r["patient_id"], r["left_or_right_breast"].upper(), r["image_view"].upper()) for r in rows}
    if len(facts) != 1:
        raise ValueError("rows disagree on patient, breast or view")
    ((patient, side, view),) = facts
    if not patient or side not in SIDES or view not in KNOWN_VIEWS:
        raise ValueError(f"patient {patient!r}, breast {side!r}, view {view!r}")
    abnormalities = []
    for r in rows:
        pathology = PATHOLOGIES.get(r["pathology"].upper())
        if pathology is None:
            raise ValueError(f"unknown pathology {r['pathology']!r}")
        abnormalities.append(CbisAbnormality(
            abnormality_id=r["abnormality_id"], kind=_kind(r), pathology=pathology,
            assessment=_int(r.get("assessment")), shape=r.get("mass_shape", ""),
            margins=r.get("mass_margins", ""), subtlety=_int(r.get("subtlety")),
            box=boxes.get((name, r["abnormality_id"]))))
    return CbisCase(name, patient, SIDES[side], view, _int(rows[0].get("breast_density")), tuple(abnormalities))


def _kind(row: dict[str, str]) -> str:
    """The MIAS class code closest to a CBIS-DDSM description (MIAS: SPIC, CIRC, MISC...)."""
    if row.get("abnormality_type", "").lower().startswith("calc"):
        return "CALC"
    shape, margins = row.get("mass_shape", "").upper(), row.get("mass_margins", "").upper()
    if "SPICULATED" in margins:
        return "SPIC"
    if margins == "CIRCUMSCRIBED":
        return "CIRC"
    if shape == "ARCHITECTURAL_DISTORTION":
        return "ARCH"
    if "ASYMMETR" in shape:
        return "ASYM"
    return "MISC"  # MIAS: "other, ill-defined masses"


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None
