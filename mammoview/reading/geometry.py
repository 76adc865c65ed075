"""Sizes of marks in millimetres, from the pixel spacing the image gave.

Pixels may be non-square (row spacing != column spacing), so every size is computed
after scaling rows and columns separately, never by multiplying a pixel length by
one spacing. Where the spacing is unknown, sizes are given in pixels and
:attr:`MarkSize.warning` says so; the GUI shows the warning beside the number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NO_SPACING_WARNING = "pixel spacing unknown: size in pixels, not millimetres"
DETECTOR_SPACING_WARNING = "size at the detector (ImagerPixelSpacing), not corrected for magnification"


@dataclass(frozen=True)
class MarkSize:
    """The size of a finding or a ruler.

    ``unit`` is "mm" when the spacing was known, else "px". ``long_axis`` is the
    largest diameter (ellipse: major axis; outline: largest vertex-to-vertex distance;
    ruler: its length); ``short_axis`` the ellipse's minor axis; ``area`` in unit².
    A point has no size (all ``None``).
    """

    long_axis: float | None
    short_axis: float | None
    area: float | None
    unit: str
    warning: str = ""

    def describe(self, *, short: bool = False) -> str:
        """ "12.3 x 8.0 mm (warning)" for lists and reports; ``short``: "12.3×8.0 mm" with
        a two-word note instead of the full warning, for a label beside the mark."""
        if self.long_axis is None:
            return ""
        text = f"{self.long_axis:.1f}"
        if self.short_axis is not None:
            text += f"×{self.short_axis:.1f}" if short else f" x {self.short_axis:.1f}"
        text += f" {self.unit}"
        if short:
            note = "spacing unknown" if self.unit != "mm" else ("at detector" if self.warning else "")
        else:
            note = self.warning
        return text + (f" ({note})" if note else "")


def _scale(spacing: tuple[float, float] | None) -> tuple[float, float, str, str]:
    if spacing is None:
        return 1.0, 1.0, "px", NO_SPACING_WARNING
    return spacing[0], spacing[1], "mm", ""


def _warning(spacing, source: str) -> str:
    if spacing is None:
        return NO_SPACING_WARNING
    if source == "ImagerPixelSpacing":
        return DETECTOR_SPACING_WARNING
    return ""


def ellipse_axes(radii: tuple[float, float], angle_deg: float, spacing: tuple[float, float]) -> tuple[float, float]:
    """Full major and minor axes of an ellipse after scaling rows and columns.

    The ellipse is ``p(t) = c + A (cos t, sin t)`` with the columns of ``A`` the two
    semi-axis vectors in (row, col); scaling by the spacing keeps it an ellipse whose
    semi-axes are the singular values of ``diag(sr, sc) @ A`` (closed form for 2 x 2).
    """
    a, b = radii
    theta = math.radians(angle_deg)
    sr, sc = spacing
    m11, m12 = sr * a * math.sin(theta), sr * b * math.cos(theta)
    m21, m22 = sc * a * math.cos(theta), -sc * b * math.sin(theta)
    # Singular values of [[m11, m12], [m21, m22]].
    s = m11 * m11 + m12 * m12 + m21 * m21 + m22 * m22
    det = abs(m11 * m22 - m12 * m21)
    root = math.sqrt(max(s * s - 4 * det * det, 0.0))
    big = math.sqrt((s + root) / 2)
    small = det / big if big > 0 else 0.0
    return 2 * big, 2 * small


def polygon_area(points, spacing: tuple[float, float]) -> float:
    """Shoelace area of a closed polygon after scaling rows and columns."""
    sr, sc = spacing
    total = 0.0
    n = len(points)
    for i in range(n):
        r1, c1 = points[i]
        r2, c2 = points[(i + 1) % n]
        total += (c1 * sc) * (r2 * sr) - (c2 * sc) * (r1 * sr)
    return abs(total) / 2


def max_diameter(points, spacing: tuple[float, float]) -> float:
    """Largest distance between two vertices (the outline's long axis)."""
    import numpy as np

    xy = np.asarray(points, dtype=np.float64) * np.asarray(spacing, dtype=np.float64)
    best = 0.0
    # Chunked so a 10,000-point freehand outline never builds a 10^8 matrix at once.
    for start in range(0, len(xy), 1024):
        block = xy[start:start + 1024]
        d2 = ((block[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
        best = max(best, float(d2.max()))
    return math.sqrt(best)


def finding_size(finding) -> MarkSize:
    """Size of a :class:`~mammoview.reading.model.ReaderFinding` (see :class:`MarkSize`)."""
    sr, sc, unit, _ = _scale(finding.spacing_mm)
    warning = _warning(finding.spacing_mm, finding.spacing_source)
    if finding.shape == "point":
        return MarkSize(None, None, None, unit, warning)
    if finding.shape == "ellipse":
        major, minor = ellipse_axes(finding.radii, finding.angle_deg, (sr, sc))
        area = math.pi * (major / 2) * (minor / 2)
        return MarkSize(major, minor, area, unit, warning)
    return MarkSize(max_diameter(finding.points, (sr, sc)), None, polygon_area(finding.points, (sr, sc)), unit, warning)


def measurement_size(measurement) -> MarkSize:
    """Length of a :class:`~mammoview.reading.model.Measurement` ruler."""
    sr, sc, unit, _ = _scale(measurement.spacing_mm)
    dr = (measurement.end[0] - measurement.start[0]) * sr
    dc = (measurement.end[1] - measurement.start[1]) * sc
    return MarkSize(math.hypot(dr, dc), None, None, unit, _warning(measurement.spacing_mm, measurement.spacing_source))
