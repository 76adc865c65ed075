"""The image model: pixels in (row, col) after the modality LUT, plus what a reader needs.

Orientation is normalised once by the reader that builds an :class:`Image`; every
later layer works in (row, col) with row 0 at the top of the displayed image.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

Laterality = Literal["L", "R"]
# Normalised view codes. Anything else a file says is kept verbatim in ``view_label``.
KNOWN_VIEWS = ("CC", "MLO", "ML", "LM", "XCCL", "XCCM", "FB", "SIO", "AT", "LMO", "SPOT", "MAG")


@dataclass(frozen=True)
class Voi:
    """One VOI transform (DICOM PS3.3 C.11.2).

    Either a window (``center``/``width`` with ``function`` LINEAR, LINEAR_EXACT or
    SIGMOID) or a lookup table (``lut`` with ``lut_first`` the first mapped input
    value and ``lut_bits`` the bits per entry). ``explanation`` is the file's own
    name for it (e.g. "NORMAL", "HARDER").
    """

    center: float | None = None
    width: float | None = None
    function: str = "LINEAR"
    lut: np.ndarray | None = None
    lut_first: int = 0
    lut_bits: int = 16
    explanation: str = ""

    @property
    def is_lut(self) -> bool:
        return self.lut is not None

    def describe(self) -> str:
        if self.is_lut:
            name = self.explanation or "VOI LUT"
            return f"{name} (LUT, {len(self.lut)} entries)"
        text = f"C {self.center:g} / W {self.width:g}"
        if self.function != "LINEAR":
            text += f" {self.function}"
        if self.explanation:
            text = f"{self.explanation}: {text}"
        return text


@dataclass(frozen=True)
class Finding:
    """A finding on an image: MIAS ground truth now, reader marks later.

    ``row``/``col``/``radius`` are in pixels of the image the finding belongs to; they
    are ``None`` where the source gives no location (MIAS rows without a centre, or
    calcifications spread through the breast).
    """

    kind: str  # MIAS class code (CALC, CIRC, SPIC, MISC, ARCH, ASYM) or a reader's type
    severity: str | None = None  # "benign" | "malignant" | None
    row: float | None = None
    col: float | None = None
    radius: float | None = None
    source: str = "ground truth"
    note: str = ""

    @property
    def has_location(self) -> bool:
        return self.row is not None and self.col is not None

    def describe(self) -> str:
        names = {
            "CALC": "calcification",
            "CIRC": "circumscribed mass",
            "SPIC": "spiculated mass",
            "MISC": "ill-defined mass",
            "ARCH": "architectural distortion",
            "ASYM": "asymmetry",
        }
        text = names.get(self.kind, self.kind.lower())
        if self.severity:
            text = f"{self.severity} {text}"
        if self.has_location:
            text += f" at (row {self.row:.0f}, col {self.col:.0f})"
            if self.radius:
                text += f", radius {self.radius:.0f} px"
        elif self.note:
            text += f" ({self.note})"
        return text


@dataclass(frozen=True)
class PatientInfo:
    name: str = ""
    id: str = ""
    birth_date: str = ""  # YYYYMMDD as in DICOM, or ""
    sex: str = ""


@dataclass(frozen=True)
class StudyInfo:
    uid: str = ""
    date: str = ""  # YYYYMMDD or ""
    description: str = ""
    accession: str = ""
    institution: str = ""
    manufacturer: str = ""


@dataclass(frozen=True)
class ImageRef:
    """What discovery knows about an image from its header alone (no pixels).

    ``kind`` says which reader loads it: "dicom", "raster" (PNG/TIFF/JPEG/PGM, MIAS
    included) or "phantom" (``path`` is then ``phantom://<study>/<slot>``).
    """

    path: str
    kind: str
    uid: str
    study_uid: str
    laterality: Laterality | None = None
    view: str | None = None
    patient: PatientInfo = field(default_factory=PatientInfo)
    study: StudyInfo = field(default_factory=StudyInfo)
    modality: str = ""
    rows: int | None = None
    cols: int | None = None
    findings: tuple[Finding, ...] = ()
    ground_truth: str | None = None  # "normal" | "benign" | "malignant" | None
    synthetic: bool = False

    @property
    def slot(self) -> str | None:
        """Hanging-protocol slot such as "RCC" or "LMLO", when both parts are known."""
        if self.laterality and self.view:
            return f"{self.laterality}{self.view}"
        return None

    @property
    def display_name(self) -> str:
        if self.kind == "phantom":
            return f"synthetic {self.slot or ''}".strip()
        from pathlib import PurePath

        return PurePath(self.path).name


@dataclass(eq=False)
class Image:
    """A decoded image ready for the display pipeline.

    ``pixels`` is 2-D (rows, cols), the stored values after the modality LUT
    (rescale slope/intercept or Modality LUT Sequence); dtype is whatever represents
    them exactly (uint8/uint16/int16/float32). VOI and MONOCHROME1 inversion are *not*
    applied: :mod:`mammoview.imaging.display` does that, in the standard's order.
    """

    pixels: np.ndarray
    ref: ImageRef
    photometric: str = "MONOCHROME2"
    voi: tuple[Voi, ...] = ()
    pixel_spacing_mm: tuple[float, float] | None = None  # (row, col) spacing
    spacing_source: str = ""  # "PixelSpacing", "ImagerPixelSpacing", "MIAS (200 micron)"...
    bits_stored: int = 8
    presentation_intent: str = ""  # "FOR PRESENTATION" | "FOR PROCESSING" | ""
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.pixels.ndim != 2:
            raise ValueError(f"Image pixels must be 2-D (rows, cols), got shape {self.pixels.shape}")

    # Convenience pass-throughs: most callers only need these.
    @property
    def path(self) -> str:
        return self.ref.path

    @property
    def uid(self) -> str:
        return self.ref.uid

    @property
    def laterality(self) -> str | None:
        return self.ref.laterality

    @property
    def view(self) -> str | None:
        return self.ref.view

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.ref.findings

    @property
    def synthetic(self) -> bool:
        return self.ref.synthetic

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape  # type: ignore[return-value]

    @property
    def is_monochrome1(self) -> bool:
        return self.photometric == "MONOCHROME1"

    def value_range(self) -> tuple[float, float]:
        """Min and max stored value; the full range the display LUT must cover."""
        lo = float(self.pixels.min())
        hi = float(self.pixels.max())
        return lo, (hi if hi > lo else lo + 1.0)

    def with_findings(self, findings: tuple[Finding, ...]) -> "Image":
        return replace(self, ref=replace(self.ref, findings=findings))
