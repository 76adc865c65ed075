"""Headless rendering of what the window shows: VOI, enhancement, finding marks.

The reader's own marks (points, ellipses, outlines and rulers from
:mod:`mammoview.reading`) are drawn by :func:`draw_reader_marks` in one colour of their
own, each with the number the report's findings table gives it.

The report and the command line draw images through these functions, so a PDF page and
an exported PNG match the viewer: the enhancement from
:func:`mammoview.enhance.views.compute_view` on the stored pixels (MONOCHROME1 negated so
the polarity is the displayed one), mapped back onto the original's value range; then the
VOI, MONOCHROME1 inversion and the user's invert from
:func:`mammoview.imaging.display.to_display`, the same window for every panel; then the
findings drawn as circles and the picture area-averaged down for the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from mammoview.core.image import Finding, Image, Voi
from mammoview.imaging.display import to_display, to_uint8

#: Circle colours by severity: malignant red, benign amber, anything else cyan.
FINDING_COLOURS = {
    "malignant": (235, 40, 40),
    "benign": (255, 190, 0),
}
OTHER_COLOUR = (0, 200, 255)
#: The reader's marks: a colour no ground-truth circle uses.
READER_COLOUR = (60, 235, 60)
#: Marks smaller than this (in output pixels) would vanish in a thumbnail.
MIN_MARK_RADIUS = 6


@dataclass(frozen=True, eq=False)
class RenderedGrey:
    """A displayed view before colour marks: float32 in [0, 1] and how it was made."""

    grey: np.ndarray
    label: str
    params: Any = None
    metrics: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class RenderedView:
    """An RGB rendering plus what the caption needs."""

    rgb: np.ndarray  # (rows, cols, 3) uint8
    label: str
    params: Any
    metrics: dict
    scale: tuple[float, float]  # output pixels per original pixel, (rows, cols)
    full_shape: tuple[int, int]  # (rows, cols) of the view before shrinking for the page


def enhance_image(image: Image, view: str, params: Any = None) -> Any:
    """One enhanced panel of ``image``, as the window computes it.

    The stored pixels go to :func:`mammoview.enhance.views.compute_view`; a MONOCHROME1
    image is negated first so the result has the displayed polarity (bright = dense).

    Returns
    -------
    mammoview.enhance.views.EnhancedView
        ``array`` float32 in [0, 1] (super-resolution: ``factor`` times the shape),
        ``label``, ``params`` and ``metrics``.

    Raises
    ------
    ValueError
        For an unknown view or parameters of the wrong kind.
    """
    from mammoview.enhance.views import bright_is_dense, compute_view

    pixels = bright_is_dense(image.pixels, image.is_monochrome1)
    return compute_view(view, pixels, resolve_params(view, params))


def render_grey(
    image: Image,
    *,
    view: str = "original",
    params: Any = None,
    voi: Voi | None = None,
    invert: bool = False,
) -> RenderedGrey:
    """The displayed greys of one view, full resolution, float32 in [0, 1].

    The original goes through :func:`mammoview.imaging.display.to_display`. An enhanced
    panel (from :func:`enhance_image`, in [0, 1]) is mapped back onto the original's
    value range and shown through the same VOI, so one window/level fits every panel,
    as in the viewer.

    Parameters
    ----------
    image : Image
    view : str
        A name in :data:`mammoview.enhance.views.VIEWS` ("original", "wavelet", ...).
    params : frozen params dataclass or None
        The view's parameters; ``None`` for its defaults.
    voi : Voi or None
        The window; ``None`` for the image's default.
    invert : bool
        The user's invert (MONOCHROME1 is handled already).

    Returns
    -------
    RenderedGrey
        Same shape as the image, except super-resolution (``factor`` times larger).

    Raises
    ------
    ValueError
        For an unknown view or invalid parameters.
    """
    if view == "original":
        resolve_params(view, params)
        grey = to_display(image, voi, invert=invert)
        return RenderedGrey(grey=grey, label="Original", params=None, metrics={})
    result = enhance_image(image, view, params)
    lo, hi = image.value_range()
    unit = np.asarray(result.array, dtype=np.float32)
    # Undo the MONOCHROME1 negation so to_display's own inversion restores the polarity.
    stored = hi - unit * (hi - lo) if image.is_monochrome1 else lo + unit * (hi - lo)
    as_original = replace(image, pixels=stored.astype(np.float32))
    grey = to_display(as_original, voi, invert=invert)
    return RenderedGrey(
        grey=grey, label=result.label, params=result.params, metrics=dict(result.metrics)
    )


def resolve_params(view: str, params: Any) -> Any:
    """The view's parameters: ``params`` itself, or its defaults when ``None``.

    Raises
    ------
    ValueError
        For an unknown view or parameters of another view's kind.
    """
    from mammoview.enhance.views import DEFAULT_PARAMS

    if view not in DEFAULT_PARAMS:
        raise ValueError(f"unknown view {view!r}; choose from {', '.join(DEFAULT_PARAMS)}")
    default = DEFAULT_PARAMS[view]
    if params is None:
        return default
    if type(params) is not type(default):
        raise ValueError(
            f"settings for {view!r} must be {type(default).__name__}, got {type(params).__name__}"
        )
    return params


def render_view_info(
    image: Image,
    *,
    view: str = "original",
    params: Any = None,
    voi: Voi | None = None,
    invert: bool = False,
    show_findings: bool = True,
    max_side: int | None = 1200,
    reader_marks: Sequence[tuple[str, Any]] = (),
) -> RenderedView:
    """Like :func:`render_view`, also returning the method label, metrics and scale.

    ``reader_marks`` are (number, finding or ruler) pairs of the reader's reading on
    this image, drawn with :func:`draw_reader_marks`.
    """
    rendered = render_grey(image, view=view, params=params, voi=voi, invert=invert)
    grey = shrink_to(rendered.grey, max_side)
    rows, cols = image.shape
    scale = (grey.shape[0] / rows, grey.shape[1] / cols)
    rgb = np.repeat(to_uint8(grey)[..., None], 3, axis=2)
    if show_findings and image.findings:
        rgb = draw_findings(rgb, image.findings, scale=scale)
    if reader_marks:
        rgb = draw_reader_marks(rgb, reader_marks, scale=scale)
    return RenderedView(
        rgb=rgb,
        label=rendered.label,
        params=rendered.params,
        metrics=rendered.metrics,
        scale=scale,
        full_shape=rendered.grey.shape,
    )


def render_view(
    image: Image,
    *,
    view: str = "original",
    params: Any = None,
    voi: Voi | None = None,
    invert: bool = False,
    show_findings: bool = True,
    max_side: int | None = 1200,
) -> np.ndarray:
    """Render one view of ``image`` as the window shows it, as an RGB picture.

    Parameters
    ----------
    image : Image
    view : str
        "original" or an enhancement name ("wavelet", "clahe", "superres", ...).
    params : params dataclass or None
        Enhancement parameters; ``None`` for the defaults.
    voi : Voi or None
        Window; ``None`` for the image's default VOI.
    invert : bool
        The user's invert (MONOCHROME1 is already handled by the VOI step).
    show_findings : bool
        Draw each located finding as a circle (red malignant, amber benign, cyan other).
    max_side : int or None
        Longest side of the result; larger renderings are area-averaged down to it.

    Returns
    -------
    (rows, cols, 3) uint8 array

    Examples
    --------
    >>> rgb = render_view(image, view="clahe", max_side=800)  # doctest: +SKIP
    """
    return render_view_info(
        image,
        view=view,
        params=params,
        voi=voi,
        invert=invert,
        show_findings=show_findings,
        max_side=max_side,
    ).rgb


def shrink_to(grey: np.ndarray, max_side: int | None) -> np.ndarray:
    """Area-average ``grey`` (float32) so its longest side is at most ``max_side``."""
    rows, cols = grey.shape
    if max_side is None or max(rows, cols) <= max_side:
        return grey
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    factor = max_side / max(rows, cols)
    size = (max(1, round(cols * factor)), max(1, round(rows * factor)))
    # Pillow's BOX filter is an exact area average, also for non-integer factors.
    small = PILImage.fromarray(np.ascontiguousarray(grey, dtype=np.float32), mode="F")
    small = small.resize(size, resample=PILImage.Resampling.BOX)
    return np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)


def draw_findings(
    rgb: np.ndarray, findings: tuple[Finding, ...] | list[Finding], *, scale: tuple[float, float]
) -> np.ndarray:
    """Return a copy of ``rgb`` with each located finding drawn as a circle.

    Parameters
    ----------
    rgb : (rows, cols, 3) uint8
    findings : sequence of Finding
        Locations in original image pixels (row, col); those without one are skipped.
    scale : (float, float)
        Output pixels per original pixel along rows and columns.
    """
    out = PILImage.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    draw = ImageDraw.Draw(out)
    width = max(2, round(max(rgb.shape[:2]) / 300))
    s_row, s_col = scale
    for finding in findings:
        if not finding.has_location:
            continue
        # Pixel centres: original pixel r covers [r, r+1), its centre maps to (r+0.5)*s-0.5.
        y = (finding.row + 0.5) * s_row - 0.5
        x = (finding.col + 0.5) * s_col - 0.5
        radius = max((finding.radius or 0.0) * (s_row + s_col) / 2, MIN_MARK_RADIUS)
        colour = FINDING_COLOURS.get(finding.severity or "", OTHER_COLOUR)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=colour, width=width)
    return np.asarray(out, dtype=np.uint8).copy()


def _to_output(point: tuple[float, float], scale: tuple[float, float]) -> tuple[float, float]:
    """(row, col) in original pixels -> (x, y) in output pixels (pixel centres kept)."""
    row, col = point
    return (col + 0.5) * scale[1] - 0.5, (row + 0.5) * scale[0] - 0.5


def ellipse_outline(center: tuple[float, float], radii: tuple[float, float], angle_deg: float,
                    n: int = 72) -> list[tuple[float, float]]:
    """(row, col) points around a reader's ellipse.

    Semi-axis ``a`` points ``angle_deg`` from +col towards +row, ``b`` at right angles,
    as :class:`mammoview.reading.model.ReaderFinding` defines them.
    """
    a, b = radii
    theta = math.radians(angle_deg)
    # Axis a in (row, col) is (sin, cos); axis b is (cos, -sin) (see reading.geometry).
    points = []
    for i in range(n):
        t = 2 * math.pi * i / n
        ca, sb = a * math.cos(t), b * math.sin(t)
        points.append((center[0] + ca * math.sin(theta) + sb * math.cos(theta),
                       center[1] + ca * math.cos(theta) - sb * math.sin(theta)))
    return points


def _label_font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def draw_reader_marks(rgb: np.ndarray, marks: Sequence[tuple[str, Any]], *,
                      scale: tuple[float, float]) -> np.ndarray:
    """Return a copy of ``rgb`` with the reader's marks drawn and numbered.

    Parameters
    ----------
    rgb : (rows, cols, 3) uint8
    marks : sequence of (number, mark)
        ``mark`` is a :class:`~mammoview.reading.model.ReaderFinding` (point, ellipse or
        outline) or a :class:`~mammoview.reading.model.Measurement` (ruler), in
        original image pixels (row, col).
    scale : (float, float)
        Output pixels per original pixel along rows and columns.
    """
    out = PILImage.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    draw = ImageDraw.Draw(out)
    width = max(2, round(max(rgb.shape[:2]) / 300))
    font = _label_font(max(10, round(max(rgb.shape[:2]) / 40)))
    for number, mark in marks:
        if hasattr(mark, "start"):  # a ruler
            start, end = _to_output(mark.start, scale), _to_output(mark.end, scale)
            draw.line((start, end), fill=READER_COLOUR, width=width)
            for x, y in (start, end):
                draw.ellipse((x - width, y - width, x + width, y + width), fill=READER_COLOUR)
            anchor = end
        elif mark.shape == "point":
            x, y = _to_output(mark.points[0], scale)
            r = MIN_MARK_RADIUS
            draw.line((x - 2 * r, y, x - r / 2, y), fill=READER_COLOUR, width=width)
            draw.line((x + r / 2, y, x + 2 * r, y), fill=READER_COLOUR, width=width)
            draw.line((x, y - 2 * r, x, y - r / 2), fill=READER_COLOUR, width=width)
            draw.line((x, y + r / 2, x, y + 2 * r), fill=READER_COLOUR, width=width)
            anchor = (x + 2 * r, y - 2 * r)
        else:
            points = (ellipse_outline(mark.points[0], mark.radii, mark.angle_deg)
                      if mark.shape == "ellipse" else list(mark.points))
            xy = [_to_output(p, scale) for p in points]
            draw.line(xy + [xy[0]], fill=READER_COLOUR, width=width, joint="curve")
            anchor = (max(x for x, _ in xy), min(y for _, y in xy))
        x, y = anchor
        draw.text((x + width, y - width), str(number), fill=READER_COLOUR, font=font,
                  stroke_width=max(1, width // 2), stroke_fill=(0, 0, 0))
    return np.asarray(out, dtype=np.uint8).copy()
