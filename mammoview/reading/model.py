"""The reading of one study: plain, immutable values that the store saves and the GUI shows.

A :class:`Reading` is the whole truth about what the reader said about a study:
findings (point, ellipse or freehand outline on one image), ruler measurements,
BI-RADS assessments per breast and overall, breast density, the impression text and
the workflow state. Every value is a frozen dataclass; an edit builds a new value
(see :mod:`mammoview.reading.commands`), so the GUI can compare old and new and
repaint only what changed (the napari way: the model holds the truth, views bind to it).

Coordinates are ``(row, col)`` in pixels of the image the mark is on, row 0 at the top
of the displayed image (the orientation :mod:`mammoview.io` normalises once).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from mammoview.reading.errors import ReadingError

FINDING_TYPES = ("mass", "calcification cluster", "architectural distortion", "asymmetry", "other")
SHAPES = ("point", "ellipse", "outline")
STATES = ("unread", "in progress", "read")
DENSITIES = ("A", "B", "C", "D")
BIRADS_VALUES = tuple(range(7))  # 0 (incomplete) .. 6 (known biopsy-proven malignancy)
BIRADS_FIELDS = ("birads_right", "birads_left", "birads_overall")
LATERALITIES = ("R", "L")
MAX_NOTE_CHARS = 10_000
MAX_OUTLINE_POINTS = 10_000

Point = tuple[float, float]


def new_id() -> str:
    """A fresh identifier for a finding or a measurement (random, 32 hex digits)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ImageContext:
    """What a mark takes from the image it is drawn on.

    Built by :meth:`mammoview.reading.session.ReadingSession.context_for` from an
    :class:`~mammoview.core.image.Image`: its stable key (see
    :mod:`mammoview.reading.identity`), laterality and view from the file, and the
    pixel spacing in millimetres (``None`` where the file does not say).
    """

    image_key: str
    laterality: str | None = None
    view: str | None = None
    spacing_mm: tuple[float, float] | None = None
    spacing_source: str = ""


@dataclass(frozen=True)
class ReaderFinding:
    """One finding the reader marked.

    ``shape`` decides what ``points`` holds: one point for "point" and "ellipse" (the
    centre), three or more vertices for a closed "outline". An ellipse has semi-axes
    ``radii = (a, b)`` in pixels; axis ``a`` points ``angle_deg`` degrees from the
    +col axis towards +row. ``spacing_mm`` (row, col) is copied from the image when the
    mark is made, so sizes stay computable without reloading the pixels.
    """

    id: str
    image_key: str
    type: str
    shape: str
    points: tuple[Point, ...]
    laterality: str | None = None
    view: str | None = None
    radii: tuple[float, float] | None = None
    angle_deg: float = 0.0
    note: str = ""
    spacing_mm: tuple[float, float] | None = None
    spacing_source: str = ""
    created_at: float = 0.0

    def size(self):
        """Sizes in millimetres (pixels where the spacing is unknown): :class:`~mammoview.reading.geometry.MarkSize`."""
        from mammoview.reading.geometry import finding_size

        return finding_size(self)


@dataclass(frozen=True)
class Measurement:
    """A ruler between two points on one image; :meth:`length` in millimetres."""

    id: str
    image_key: str
    start: Point
    end: Point
    laterality: str | None = None
    view: str | None = None
    spacing_mm: tuple[float, float] | None = None
    spacing_source: str = ""
    note: str = ""
    created_at: float = 0.0

    def size(self):
        from mammoview.reading.geometry import measurement_size

        return measurement_size(self)


@dataclass(frozen=True)
class Subject:
    """Who and what the reading is about, copied from the study's headers when first opened.

    These are the identifying fields: exports drop or pseudonymise them on request
    (:mod:`mammoview.reading.exchange`), and no log or error message ever shows them.
    """

    patient_name: str = ""
    patient_id: str = ""
    patient_birth_date: str = ""
    study_uid: str = ""
    study_date: str = ""
    label: str = ""


@dataclass(frozen=True)
class Reading:
    """Everything the reader recorded about one study (see the module docstring).

    ``revision`` counts committed edits (it lets another process notice a change);
    ``updated_at`` is the time of the last one (seconds since the epoch).
    """

    study_key: str
    state: str = "unread"
    birads_right: int | None = None
    birads_left: int | None = None
    birads_overall: int | None = None
    density: str | None = None
    impression: str = ""
    findings: tuple[ReaderFinding, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    subject: Subject = field(default_factory=Subject)
    reader: str = ""
    revision: int = 0
    updated_at: float = 0.0

    def finding(self, finding_id: str) -> ReaderFinding:
        for item in self.findings:
            if item.id == finding_id:
                return item
        raise ReadingError(f"no finding with id {finding_id[:12]} in this reading")

    def measurement(self, measurement_id: str) -> Measurement:
        for item in self.measurements:
            if item.id == measurement_id:
                return item
        raise ReadingError(f"no measurement with id {measurement_id[:12]} in this reading")

    def findings_on(self, image_key: str) -> tuple[ReaderFinding, ...]:
        """The findings drawn on one image (what a viewer panel overlays)."""
        return tuple(f for f in self.findings if f.image_key == image_key)

    def measurements_on(self, image_key: str) -> tuple[Measurement, ...]:
        return tuple(m for m in self.measurements if m.image_key == image_key)

    @property
    def is_empty(self) -> bool:
        """Nothing recorded yet (a study never edited reads as unread)."""
        return self == Reading(self.study_key, subject=self.subject, reader=self.reader,
                               revision=self.revision, updated_at=self.updated_at)


# --------------------------------------------------------------------------- validation


def check_birads(value: Any, name: str = "BI-RADS") -> int | None:
    """``value`` as an int 0-6 or None; raises :class:`ReadingError` otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in BIRADS_VALUES:
        raise ReadingError(f"{name} must be 0-6 or empty, not {_short(value)}")
    return value


def check_density(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in DENSITIES:
        raise ReadingError(f"breast density must be A, B, C or D, not {_short(value)}")
    return value.upper()


def check_state(value: Any) -> str:
    if value not in STATES:
        raise ReadingError(f"reading state must be one of {', '.join(STATES)}, not {_short(value)}")
    return value


def check_type(value: Any) -> str:
    if value not in FINDING_TYPES:
        raise ReadingError(f"finding type must be one of {', '.join(FINDING_TYPES)}, not {_short(value)}")
    return value


def check_note(value: Any, name: str = "note") -> str:
    if not isinstance(value, str):
        raise ReadingError(f"{name} must be text")
    if len(value) > MAX_NOTE_CHARS:
        raise ReadingError(f"{name} is too long ({len(value)} characters, at most {MAX_NOTE_CHARS})")
    return value


def check_point(value: Any, name: str = "point") -> Point:
    try:
        row, col = value
        row, col = float(row), float(col)
    except (TypeError, ValueError):
        raise ReadingError(f"{name} must be a (row, col) pair of numbers") from None
    if not (math.isfinite(row) and math.isfinite(col)):
        raise ReadingError(f"{name} must be finite")
    return (row, col)


def check_spacing(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        row, col = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ReadingError("pixel spacing must be a (row, col) pair of millimetres") from None
    if not (math.isfinite(row) and math.isfinite(col) and row > 0 and col > 0):
        raise ReadingError("pixel spacing must be positive millimetres")
    return (row, col)


def check_laterality(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if value not in LATERALITIES:
        raise ReadingError(f"laterality must be R or L, not {_short(value)}")
    return value


def check_finding(finding: ReaderFinding) -> ReaderFinding:
    """A normalised copy of ``finding`` (floats, tuples), or :class:`ReadingError`."""
    check_type(finding.type)
    if finding.shape not in SHAPES:
        raise ReadingError(f"finding shape must be one of {', '.join(SHAPES)}, not {_short(finding.shape)}")
    points = tuple(check_point(p, "finding point") for p in finding.points)
    radii = None
    angle = float(finding.angle_deg)
    if not math.isfinite(angle):
        raise ReadingError("ellipse angle must be finite")
    if finding.shape in ("point", "ellipse") and len(points) != 1:
        raise ReadingError(f"a {finding.shape} finding has exactly one point, not {len(points)}")
    if finding.shape == "outline" and not 3 <= len(points) <= MAX_OUTLINE_POINTS:
        raise ReadingError(f"an outline needs 3 to {MAX_OUTLINE_POINTS} points, not {len(points)}")
    if finding.shape == "ellipse":
        if finding.radii is None:
            raise ReadingError("an ellipse finding needs its two radii")
        radii = check_point(finding.radii, "ellipse radii")
        if radii[0] <= 0 or radii[1] <= 0:
            raise ReadingError("ellipse radii must be positive")
    elif finding.radii is not None:
        raise ReadingError(f"a {finding.shape} finding has no radii")
    else:
        angle = 0.0
    if not finding.id or not finding.image_key:
        raise ReadingError("a finding needs an id and the key of its image")
    return replace(
        finding,
        points=points,
        radii=radii,
        angle_deg=angle,
        laterality=check_laterality(finding.laterality),
        view=finding.view or None,
        note=check_note(finding.note),
        spacing_mm=check_spacing(finding.spacing_mm),
        created_at=float(finding.created_at),
    )


def check_measurement(item: Measurement) -> Measurement:
    if not item.id or not item.image_key:
        raise ReadingError("a measurement needs an id and the key of its image")
    return replace(
        item,
        start=check_point(item.start, "ruler start"),
        end=check_point(item.end, "ruler end"),
        laterality=check_laterality(item.laterality),
        view=item.view or None,
        spacing_mm=check_spacing(item.spacing_mm),
        note=check_note(item.note),
        created_at=float(item.created_at),
    )


def _short(value: Any) -> str:
    """A value for an error message. Numbers are shown; text never is, because a
    misaligned import row can put a patient's name in any column."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= 24 else text[:21] + "..."
    if isinstance(value, str):
        return f"the given text ({len(value)} characters)"
    return f"a value of type {type(value).__name__}"
