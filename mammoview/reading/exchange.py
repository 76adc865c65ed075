"""Export and import readings as JSON or CSV, optionally de-identified.

JSON holds one object per study with its findings and rulers. CSV holds one row per
finding and one per ruler (``record`` = "finding" / "ruler"), each repeating its study's
fields, plus one ``record`` = "study" row for a study with neither, so nothing is lost.
Geometry is JSON inside the CSV cell (``points``: ``[[row, col], ...]``; a ruler's
points are its two ends). Sizes (``long_axis``, ``short_axis``, ``area``, ``unit``,
``size_warning``) are written for analysis and recomputed, not read, on import.

Exports are deterministic (studies by key, marks in their saved order, floats written
with Python's shortest round-trip repr, no export timestamp), so
export -> import into a fresh database -> export gives identical bytes.

De-identification (``deidentify=True``) removes the patient's name, ID and birth date
and the Study Instance UID, and replaces them, the study key, the label and every image
key with pseudonyms: ``MV-`` + 16 hex digits of HMAC-SHA256 under a secret kept in the
database (stable per study and per database, not reversible without it). The study date,
the findings, the reader's login name and the free text (note, impression) are kept:
free text is the reader's own and is not scanned for names.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from mammoview import RESEARCH_NOTICE
from mammoview.reading import model as M
from mammoview.reading.errors import ImportFileError, ReadingError
from mammoview.reading.store import LeaseInfo, ReadingStore

FORMAT_NAME = "mammoview-readings"
FORMAT_VERSION = 1
FORMATS = ("json", "csv")
PSEUDO_PREFIX = "pseudo:"

STUDY_COLUMNS = (
    "study_key", "state", "birads_right", "birads_left", "birads_overall", "density", "impression",
    "patient_name", "patient_id", "patient_birth_date", "study_uid", "study_date", "label", "reader",
    "revision", "updated_at",
)
MARK_COLUMNS = (
    "item_id", "image_key", "laterality", "view", "type", "shape", "points", "radii", "angle_deg", "note",
    "spacing_row", "spacing_col", "spacing_source", "created_at",
)
SIZE_COLUMNS = ("long_axis", "short_axis", "area", "unit", "size_warning")
CSV_COLUMNS = ("record", *STUDY_COLUMNS, *MARK_COLUMNS, *SIZE_COLUMNS)


@dataclass
class ImportResult:
    """What an import did: study keys written, left as they were, and skipped (key prefix, why)."""

    imported: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- de-identification


def deidentify_reading(reading: M.Reading, store: ReadingStore) -> M.Reading:
    """The reading with identifying fields removed or replaced by pseudonyms (see module doc)."""
    alias = store.pseudonym(reading.study_key)

    def image(key: str) -> str:
        return PSEUDO_PREFIX + store.pseudonym(key)

    return replace(
        reading,
        study_key=PSEUDO_PREFIX + alias,
        subject=M.Subject(patient_name=alias, patient_id=alias, patient_birth_date="", study_uid="",
                          study_date=reading.subject.study_date, label=alias),
        findings=tuple(replace(f, image_key=image(f.image_key)) for f in reading.findings),
        measurements=tuple(replace(m, image_key=image(m.image_key)) for m in reading.measurements),
    )


def _selected(store: ReadingStore, deidentify: bool, study_keys: Iterable[str] | None) -> list[M.Reading]:
    readings = store.load_all()
    if study_keys is not None:
        wanted = set(study_keys)
        readings = [r for r in readings if r.study_key in wanted]
    if deidentify:
        readings = sorted((deidentify_reading(r, store) for r in readings), key=lambda r: r.study_key)
    return readings


# --------------------------------------------------------------------------- JSON


def _size_dict(item) -> dict:
    size = item.size()
    return {"long_axis": size.long_axis, "short_axis": size.short_axis, "area": size.area,
            "unit": size.unit, "warning": size.warning}


def _finding_dict(f: M.ReaderFinding) -> dict:
    return {
        "id": f.id, "image_key": f.image_key, "laterality": f.laterality, "view": f.view, "type": f.type,
        "shape": f.shape, "points": [list(p) for p in f.points], "radii": list(f.radii) if f.radii else None,
        "angle_deg": f.angle_deg, "note": f.note, "spacing_mm": list(f.spacing_mm) if f.spacing_mm else None,
        "spacing_source": f.spacing_source, "created_at": f.created_at, "size": _size_dict(f),
    }


def _ruler_dict(m: M.Measurement) -> dict:
    return {
        "id": m.id, "image_key": m.image_key, "laterality": m.laterality, "view": m.view,
        "start": list(m.start), "end": list(m.end), "note": m.note,
        "spacing_mm": list(m.spacing_mm) if m.spacing_mm else None, "spacing_source": m.spacing_source,
        "created_at": m.created_at, "size": _size_dict(m),
    }


def reading_to_dict(r: M.Reading) -> dict:
    s = r.subject
    return {
        "study_key": r.study_key, "state": r.state, "birads_right": r.birads_right, "birads_left": r.birads_left,
        "birads_overall": r.birads_overall, "density": r.density, "impression": r.impression,
        "subject": {"patient_name": s.patient_name, "patient_id": s.patient_id,
                    "patient_birth_date": s.patient_birth_date, "study_uid": s.study_uid,
                    "study_date": s.study_date, "label": s.label},
        "reader": r.reader, "revision": r.revision, "updated_at": r.updated_at,
        "findings": [_finding_dict(f) for f in r.findings],
        "measurements": [_ruler_dict(m) for m in r.measurements],
    }


def export_json(store: ReadingStore, *, deidentify: bool = False, study_keys: Iterable[str] | None = None) -> str:
    """All readings (or those of ``study_keys``) as JSON text."""
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "deidentified": deidentify,
        "notice": RESEARCH_NOTICE,
        "studies": [reading_to_dict(r) for r in _selected(store, deidentify, study_keys)],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _text(value, where: str, name: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ReadingError(f"{where}: {name} must be text")
    return value


def _number(value, where: str, name: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ReadingError(f"{where}: {name} must be a number")
    return float(value)


def _pair(value, where: str, name: str, *, optional: bool = False):
    if value is None and optional:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ReadingError(f"{where}: {name} must be a pair of numbers")
    return (_number(value[0], where, name), _number(value[1], where, name))


def _int(value, where: str, name: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReadingError(f"{where}: {name} must be a whole number")
    return value


def _finding_from(d: dict, where: str) -> M.ReaderFinding:
    if not isinstance(d, dict):
        raise ReadingError(f"{where}: must be an object")
    points = d.get("points")
    if not isinstance(points, list):
        raise ReadingError(f"{where}: points must be a list of [row, col]")
    return _checked(M.check_finding, M.ReaderFinding(
        id=_text(d.get("id"), where, "id"), image_key=_text(d.get("image_key"), where, "image_key"),
        type=d.get("type"), shape=d.get("shape"),
        points=tuple(_pair(p, where, "a point") for p in points),
        laterality=_text(d.get("laterality"), where, "laterality", optional=True),
        view=_text(d.get("view"), where, "view", optional=True),
        radii=_pair(d.get("radii"), where, "radii", optional=True),
        angle_deg=_number(d.get("angle_deg", 0.0), where, "angle_deg"),
        note=_text(d.get("note", ""), where, "note"),
        spacing_mm=_pair(d.get("spacing_mm"), where, "spacing_mm", optional=True),
        spacing_source=_text(d.get("spacing_source", ""), where, "spacing_source"),
        created_at=_number(d.get("created_at", 0.0), where, "created_at"),
    ), where)


def _ruler_from(d: dict, where: str) -> M.Measurement:
    if not isinstance(d, dict):
        raise ReadingError(f"{where}: must be an object")
    return _checked(M.check_measurement, M.Measurement(
        id=_text(d.get("id"), where, "id"), image_key=_text(d.get("image_key"), where, "image_key"),
        start=_pair(d.get("start"), where, "start"), end=_pair(d.get("end"), where, "end"),
        laterality=_text(d.get("laterality"), where, "laterality", optional=True),
        view=_text(d.get("view"), where, "view", optional=True),
        spacing_mm=_pair(d.get("spacing_mm"), where, "spacing_mm", optional=True),
        spacing_source=_text(d.get("spacing_source", ""), where, "spacing_source"),
        note=_text(d.get("note", ""), where, "note"),
        created_at=_number(d.get("created_at", 0.0), where, "created_at"),
    ), where)


def _reading_from(d: dict, where: str) -> M.Reading:
    if not isinstance(d, dict):
        raise ReadingError(f"{where}: must be an object")
    subject = d.get("subject") or {}
    if not isinstance(subject, dict):
        raise ReadingError(f"{where}: subject must be an object")
    key = _text(d.get("study_key"), where, "study_key")
    if not key:
        raise ReadingError(f"{where}: study_key is empty")
    findings = d.get("findings", [])
    rulers = d.get("measurements", [])
    if not isinstance(findings, list) or not isinstance(rulers, list):
        raise ReadingError(f"{where}: findings and measurements must be lists")
    return M.Reading(
        study_key=key,
        state=_checked(M.check_state, d.get("state"), where),
        birads_right=_checked(lambda v: M.check_birads(v, "birads_right"), d.get("birads_right"), where),
        birads_left=_checked(lambda v: M.check_birads(v, "birads_left"), d.get("birads_left"), where),
        birads_overall=_checked(lambda v: M.check_birads(v, "birads_overall"), d.get("birads_overall"), where),
        density=_checked(M.check_density, d.get("density"), where),
        impression=_checked(lambda v: M.check_note(v, "impression"), d.get("impression", ""), where),
        findings=tuple(_finding_from(f, _where_of(f, f"{where}, finding {i}")) for i, f in enumerate(findings, 1)),
        measurements=tuple(_ruler_from(m, _where_of(m, f"{where}, ruler {i}")) for i, m in enumerate(rulers, 1)),
        subject=M.Subject(**{name: _text(subject.get(name, ""), where, name) for name in (
            "patient_name", "patient_id", "patient_birth_date", "study_uid", "study_date", "label")}),
        reader=_text(d.get("reader", ""), where, "reader"),
        revision=_int(d.get("revision", 0), where, "revision"),
        updated_at=_number(d.get("updated_at", 0.0), where, "updated_at"),
    )


def _where_of(item, default: str) -> str:
    """A CSV row's own line number, else the position in the JSON."""
    return item.get("_where", default) if isinstance(item, dict) else default


def _checked(check, value, where: str):
    try:
        return check(value)
    except ReadingError as err:
        raise ReadingError(f"{where}: {err}") from None


def parse_json(text: str) -> list[M.Reading]:
    """Readings from an export's JSON text; :class:`ReadingError` names the first problem."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ReadingError(f"not valid JSON (line {err.lineno}, column {err.colno})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ReadingError(f"not a MammoView readings export (no \"format\": \"{FORMAT_NAME}\")")
    if document.get("format_version") != FORMAT_VERSION:
        raise ReadingError(f"readings export format version {_version(document)} is not supported")
    studies = document.get("studies")
    if not isinstance(studies, list):
        raise ReadingError("\"studies\" must be a list")
    return _unique([_reading_from(d, f"study {i}") for i, d in enumerate(studies, 1)])


def _version(document: dict):
    value = document.get("format_version")
    return value if isinstance(value, int) and not isinstance(value, bool) else "(unreadable)"


def _unique(readings: list[M.Reading]) -> list[M.Reading]:
    seen: set[str] = set()
    for i, reading in enumerate(readings, 1):
        if reading.study_key in seen:
            raise ReadingError(f"study {i}: the same study appears twice")
        seen.add(reading.study_key)
    return readings


# --------------------------------------------------------------------------- CSV


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _study_cells(r: M.Reading) -> list[str]:
    s = r.subject
    values = (r.study_key, r.state, r.birads_right, r.birads_left, r.birads_overall, r.density, r.impression,
              s.patient_name, s.patient_id, s.patient_birth_date, s.study_uid, s.study_date, s.label, r.reader,
              r.revision, r.updated_at)
    return [_cell(v) for v in values]


def _size_cells(item) -> list[str]:
    size = item.size()
    return [_cell(v) for v in (size.long_axis, size.short_axis, size.area, size.unit, size.warning)]


def export_csv(store: ReadingStore, *, deidentify: bool = False, study_keys: Iterable[str] | None = None) -> str:
    """All readings as CSV text: one row per finding and per ruler (see the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in _selected(store, deidentify, study_keys):
        study = _study_cells(r)
        if not r.findings and not r.measurements:
            writer.writerow(["study", *study, *[""] * (len(MARK_COLUMNS) + len(SIZE_COLUMNS))])
        for f in r.findings:
            sr, sc = f.spacing_mm or (None, None)
            mark = [f.id, f.image_key, f.laterality, f.view, f.type, f.shape,
                    json.dumps([list(p) for p in f.points]), json.dumps(list(f.radii)) if f.radii else None,
                    f.angle_deg, f.note, sr, sc, f.spacing_source, f.created_at]
            writer.writerow(["finding", *study, *[_cell(v) for v in mark], *_size_cells(f)])
        for m in r.measurements:
            sr, sc = m.spacing_mm or (None, None)
            mark = [m.id, m.image_key, m.laterality, m.view, None, None,
                    json.dumps([list(m.start), list(m.end)]), None, None, m.note, sr, sc, m.spacing_source,
                    m.created_at]
            writer.writerow(["ruler", *study, *[_cell(v) for v in mark], *_size_cells(m)])
    return out.getvalue()


def _csv_float(text: str, where: str, name: str, *, optional: bool = False) -> float | None:
    if text == "" and optional:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ReadingError(f"{where}: {name} must be a number") from None
    if not math.isfinite(value):
        raise ReadingError(f"{where}: {name} must be finite")
    return value


def _csv_int(text: str, where: str, name: str) -> int | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise ReadingError(f"{where}: {name} must be a whole number") from None


def _csv_json(text: str, where: str, name: str):
    if text == "":
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ReadingError(f"{where}: {name} is not valid JSON") from None


def _csv_study(row: dict, where: str) -> dict:
    return {
        "study_key": row["study_key"], "state": row["state"],
        "birads_right": _csv_int(row["birads_right"], where, "birads_right"),
        "birads_left": _csv_int(row["birads_left"], where, "birads_left"),
        "birads_overall": _csv_int(row["birads_overall"], where, "birads_overall"),
        "density": row["density"] or None, "impression": row["impression"],
        "subject": {name: row[name] for name in (
            "patient_name", "patient_id", "patient_birth_date", "study_uid", "study_date", "label")},
        "reader": row["reader"], "revision": _csv_int(row["revision"], where, "revision") or 0,
        "updated_at": _csv_float(row["updated_at"], where, "updated_at"),
        "findings": [], "measurements": [],
    }


def _csv_spacing(row: dict, where: str):
    sr = _csv_float(row["spacing_row"], where, "spacing_row", optional=True)
    sc = _csv_float(row["spacing_col"], where, "spacing_col", optional=True)
    return None if sr is None or sc is None else [sr, sc]


def parse_csv(text: str) -> list[M.Reading]:
    """Readings from an export's CSV text; :class:`ReadingError` names the first problem's line."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or tuple(reader.fieldnames) != CSV_COLUMNS:
        raise ReadingError("not a MammoView readings CSV (the header row differs)")
    studies: dict[str, dict] = {}
    order: list[str] = []
    for row in reader:
        where = f"line {reader.line_num}"
        if None in row or any(v is None for v in row.values()):
            raise ReadingError(f"{where}: wrong number of columns")
        record = row["record"]
        if record not in ("study", "finding", "ruler"):
            raise ReadingError(f"{where}: record must be study, finding or ruler")
        study = _csv_study(row, where)
        key = study["study_key"]
        if key not in studies:
            studies[key] = study
            order.append(key)
        else:
            known = {k: v for k, v in studies[key].items() if k not in ("findings", "measurements")}
            if known != {k: v for k, v in study.items() if k not in ("findings", "measurements")}:
                raise ReadingError(f"{where}: the study fields differ from an earlier row of the same study")
        points = _csv_json(row["points"], where, "points")
        if record == "finding":
            studies[key]["findings"].append({
                "id": row["item_id"], "image_key": row["image_key"], "laterality": row["laterality"] or None,
                "view": row["view"] or None, "type": row["type"], "shape": row["shape"], "points": points,
                "radii": _csv_json(row["radii"], where, "radii"),
                "angle_deg": _csv_float(row["angle_deg"], where, "angle_deg"), "note": row["note"],
                "spacing_mm": _csv_spacing(row, where), "spacing_source": row["spacing_source"],
                "created_at": _csv_float(row["created_at"], where, "created_at"), "_where": where,
            })
        elif record == "ruler":
            if not isinstance(points, list) or len(points) != 2:
                raise ReadingError(f"{where}: a ruler's points must be its two ends")
            studies[key]["measurements"].append({
                "id": row["item_id"], "image_key": row["image_key"], "laterality": row["laterality"] or None,
                "view": row["view"] or None, "start": points[0], "end": points[1], "note": row["note"],
                "spacing_mm": _csv_spacing(row, where), "spacing_source": row["spacing_source"],
                "created_at": _csv_float(row["created_at"], where, "created_at"), "_where": where,
            })
    readings = []
    for key in order:
        d = studies[key]
        first_where = (d["findings"] or d["measurements"] or [{"_where": "a study row"}])[0]["_where"]
        readings.append(_reading_from(d, first_where))
    return readings


# --------------------------------------------------------------------------- files


def export_readings(store: ReadingStore, path: str | os.PathLike[str], *, format: str | None = None,
                    deidentify: bool = False) -> int:
    """Write every reading to ``path`` atomically; returns the number of studies.

    ``format`` is "json" or "csv" (from the file's extension when omitted).
    """
    from mammoview.core.errors import ExportError
    from mammoview.io.atomic import atomic_write

    target = Path(path)
    fmt = (format or target.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ExportError(f"{target.name}: export format must be json or csv")
    text = export_json(store, deidentify=deidentify) if fmt == "json" else export_csv(store, deidentify=deidentify)
    try:
        with atomic_write(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    except OSError as err:
        raise ExportError(f"{target.name}: cannot write the export ({err.strerror or err})") from None
    return len(store.summaries())


def read_export(path: str | os.PathLike[str], *, format: str | None = None) -> list[M.Reading]:
    """Parse an export file (JSON or CSV, by extension, else by its first character)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImportFileError(f"{source.name}: file not found") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{source.name}: not a UTF-8 text file") from None
    except OSError as err:
        raise ImportFileError(f"{source.name}: cannot read ({err.strerror or err})") from None
    fmt = (format or source.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        fmt = "json" if text.lstrip().startswith("{") else "csv"
    try:
        return parse_json(text) if fmt == "json" else parse_csv(text)
    except ReadingError as err:
        raise ImportFileError(f"{source.name}: {err}") from None


def import_readings(store: ReadingStore, path: str | os.PathLike[str], *, format: str | None = None,
                    replace_existing: bool = False) -> ImportResult:
    """Import an export file in one transaction (all or nothing).

    A study with no saved reading is written as in the file. A study already saved with
    the same content is left alone ("unchanged"); with other content it is skipped
    unless ``replace_existing``. A study open for editing in another live process is
    always skipped.
    """
    readings = read_export(path, format=format)
    # Filled inside the transaction, which may be retried: dicts keep one entry per study.
    unchanged: dict[str, None] = {}
    skipped: dict[str, str] = {}

    def skip(c, reading: M.Reading) -> bool:
        key = reading.study_key
        unchanged.pop(key, None)
        skipped.pop(key, None)
        row = c.execute(
            "SELECT study_key, owner, pid, host, acquired_at, heartbeat_at FROM leases WHERE study_key = ?",
            (key,),
        ).fetchone()
        if row is not None and row[1] != store.owner and store.lease_is_live(LeaseInfo(*row)):
            skipped[key] = f"open for editing in MammoView process {row[2]}"
            return True
        saved = store.load_in(c, key)
        if saved is None:
            return False
        if saved == reading:
            unchanged[key] = None
            return True
        if not replace_existing:
            skipped[key] = "already has a different reading (use --replace to overwrite)"
            return True
        return False

    imported = store.replace_readings(readings, skip=skip)
    return ImportResult(imported=imported, unchanged=list(unchanged),
                        skipped=[(key[:24], why) for key, why in skipped.items()])

