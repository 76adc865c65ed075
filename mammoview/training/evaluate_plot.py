"""The comparison plot of ``mammoview evaluate``, drawn with Pillow (no matplotlib needed).

One row per architecture. Left panel: the image-level AUC (filled dot) and the patch-level
AUC (open diamond) with their 95 % bootstrap intervals on a 0-1 axis, chance (0.5) dashed
and the project's 0.85 target dotted. Right panel: the training time as a bar, with the
parameter count written beside it.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WIDTH = 1200
ROW_H = 46
TOP = 96
LABEL_W = 210
AUC_X0, AUC_X1 = LABEL_W + 20, 790
TIME_X0, TIME_X1 = 850, WIDTH - 150
IMAGE_COLOUR = (31, 90, 166)
PATCH_COLOUR = (214, 110, 20)
GRID = (225, 225, 225)
INK = (30, 30, 30)
MUTED = (110, 110, 110)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _ok(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def render_plot(rows: list[dict[str, Any]], *, title: str, note: str = "") -> Image.Image:
    """The comparison as an RGB image (rows as written by :func:`mammoview.training.evaluate.make_row`)."""
    small, body, big = _font(13), _font(15), _font(19)
    note_lines = textwrap.wrap(note, 150) if note else []
    height = TOP + ROW_H * max(1, len(rows)) + 70 + 17 * len(note_lines)
    img = Image.new("RGB", (WIDTH, height), "white")
    d = ImageDraw.Draw(img)
    d.text((20, 14), title, fill=INK, font=big)
    bottom = TOP + ROW_H * max(1, len(rows))
    for i in range(1, len(rows), 2):  # stripes first, so the grid stays visible on them
        d.rectangle([10, TOP + ROW_H * i, WIDTH - 10, TOP + ROW_H * (i + 1)], fill=(246, 246, 250))
    _auc_axis(d, bottom, small, body)
    t_max = max([r["train_s"] for r in rows if _ok(r.get("train_s"))] or [1.0])
    _time_axis(d, bottom, t_max, small, body)
    for i, r in enumerate(rows):
        y = TOP + ROW_H * i + ROW_H // 2
        d.text((20, y - 9), r["label"], fill=INK, font=body)
        _interval(d, y - 7, r.get("image_auc"), r.get("image_auc_low"), r.get("image_auc_high"), IMAGE_COLOUR, "dot")
        _interval(d, y + 8, r.get("patch_auc"), r.get("patch_auc_low"), r.get("patch_auc_high"), PATCH_COLOUR,
                  "diamond")
        if _ok(r.get("train_s")):
            x = TIME_X0 + (TIME_X1 - TIME_X0) * r["train_s"] / t_max
            d.rectangle([TIME_X0, y - 8, max(TIME_X0 + 1, x), y + 8], fill=(140, 160, 190))
            params = f"{r['params'] / 1e6:.1f} M par."
            d.text((x + 6, y - 8), f"{r['train_s'] / 60:.1f} min, {params}", fill=INK, font=small)
    _auc_axis_lines(d, bottom)
    legend_y = bottom + 34
    d.ellipse([AUC_X0, legend_y - 5, AUC_X0 + 10, legend_y + 5], fill=IMAGE_COLOUR)
    d.text((AUC_X0 + 16, legend_y - 8), "image-level AUC, 95 % CI (patients resampled)", fill=INK, font=small)
    dx = AUC_X0 + 340
    d.polygon([(dx, legend_y - 6), (dx + 6, legend_y), (dx, legend_y + 6), (dx - 6, legend_y)], outline=PATCH_COLOUR,
              fill="white")
    d.text((dx + 12, legend_y - 8), "patch-level AUC, 95 % CI", fill=INK, font=small)
    for k, line in enumerate(note_lines):
        d.text((20, legend_y + 20 + 17 * k), line, fill=MUTED, font=small)
    return img


def _x_auc(v: float) -> float:
    return AUC_X0 + (AUC_X1 - AUC_X0) * min(1.0, max(0.0, v))


def _auc_axis(d: ImageDraw.ImageDraw, bottom: int, small, body) -> None:
    d.text((AUC_X0, TOP - 44), "AUC (validation patients)", fill=INK, font=body)
    for k in range(11):
        v = k / 10
        x = _x_auc(v)
        d.line([x, TOP - 6, x, bottom], fill=GRID)
        d.text((x - 9, bottom + 4), f"{v:.1f}", fill=MUTED, font=small)


def _auc_axis_lines(d: ImageDraw.ImageDraw, bottom: int) -> None:
    x = _x_auc(0.5)
    for y in range(TOP - 6, bottom, 8):
        d.line([x, y, x, y + 4], fill=(150, 150, 150), width=2)
    x = _x_auc(0.85)
    for y in range(TOP - 6, bottom, 6):
        d.point([(x, y), (x + 1, y)], fill=(40, 140, 60))
    d.text((_x_auc(0.5) - 20, TOP - 22), "chance", fill=MUTED, font=_font(12))
    d.text((_x_auc(0.85) - 30, TOP - 22), "target 0.85", fill=(40, 140, 60), font=_font(12))


def _time_axis(d: ImageDraw.ImageDraw, bottom: int, t_max: float, small, body) -> None:
    d.text((TIME_X0, TOP - 44), "training time, parameters", fill=INK, font=body)
    d.line([TIME_X0, TOP - 6, TIME_X0, bottom], fill=MUTED)
    d.text((TIME_X0 - 4, bottom + 4), "0", fill=MUTED, font=small)
    d.text((TIME_X1 - 40, bottom + 4), f"{t_max / 60:.1f} min", fill=MUTED, font=small)


def _interval(d: ImageDraw.ImageDraw, y: int, v, low, high, colour, marker: str) -> None:
    if _ok(low) and _ok(high):
        x0, x1 = _x_auc(low), _x_auc(high)
        d.line([x0, y, x1, y], fill=colour, width=2)
        d.line([x0, y - 4, x0, y + 4], fill=colour, width=2)
        d.line([x1, y - 4, x1, y + 4], fill=colour, width=2)
    if not _ok(v):
        return
    x = _x_auc(v)
    if marker == "dot":
        d.ellipse([x - 5, y - 5, x + 5, y + 5], fill=colour)
    else:
        d.polygon([(x, y - 6), (x + 6, y), (x, y + 6), (x - 6, y)], outline=colour, fill="white")
