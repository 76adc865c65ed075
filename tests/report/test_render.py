"""Headless rendering: finding circles land on the finding, at every scale, and polarity is right."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mammoview.core.image import Finding, Image, ImageRef
from mammoview.enhance.params import ClaheParams, SuperresParams, WaveletParams
from mammoview.report.render import render_view, render_view_info

# An asymmetric picture: wider than tall, finding in the upper right, so a transposed or
# mirrored drawing misses it.
ROWS, COLS = 90, 200
FIND_ROW, FIND_COL, FIND_RADIUS = 30, 150, 16


def _image(photometric: str = "MONOCHROME2", findings=None) -> Image:
    rr, cc = np.mgrid[0:ROWS, 0:COLS]
    pixels = (200 + 4 * cc + rr).astype(np.uint16)  # a gradient, so nothing is constant
    blob = (rr - FIND_ROW) ** 2 + (cc - FIND_COL) ** 2 <= 8**2
    pixels[blob] = 3000  # the dense "lesion"
    if findings is None:
        findings = (Finding("CIRC", "malignant", row=FIND_ROW, col=FIND_COL, radius=FIND_RADIUS),)
    ref = ImageRef(path="asym.png", kind="raster", uid="asym", study_uid="s", findings=findings)
    return Image(pixels=pixels, ref=ref, photometric=photometric, bits_stored=12)


def _red_ring(rgb: np.ndarray) -> tuple[float, float, float]:
    """Centre (row, col) and mean radius of the pure-red ring drawn for a malignant finding."""
    mask = (rgb[..., 0] > 200) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)
    rows, cols = np.nonzero(mask)
    assert rows.size > 20, "no circle drawn"
    r0, c0 = (rows.min() + rows.max()) / 2, (cols.min() + cols.max()) / 2
    radius = float(np.mean(np.hypot(rows - r0, cols - c0)))
    return r0, c0, radius


@pytest.mark.parametrize(
    ("view", "params", "max_side", "scale"),
    [
        ("original", None, None, 1.0),
        ("clahe", None, None, 1.0),
        ("superres", None, None, 2.0),  # twice the size: the circle must scale with it
        ("original", None, 100, 0.5),  # shrunk for the page
        ("superres", SuperresParams(factor=2), 160, 0.8),
    ],
)
def test_circle_lands_on_the_finding(view, params, max_side, scale):
    rgb = render_view(_image(), view=view, params=params, max_side=max_side)
    assert rgb.dtype == np.uint8 and rgb.shape == (round(ROWS * scale), round(COLS * scale), 3)
    r0, c0, radius = _red_ring(rgb)
    assert r0 == pytest.approx((FIND_ROW + 0.5) * scale - 0.5, abs=1.5)
    assert c0 == pytest.approx((FIND_COL + 0.5) * scale - 0.5, abs=1.5)
    assert radius == pytest.approx(FIND_RADIUS * scale, abs=2.0)


def test_findings_can_be_hidden_and_those_without_location_are_skipped():
    spread = (Finding("CALC", "malignant", note="spread through the breast"),)
    for rgb in (
        render_view(_image(), show_findings=False),
        render_view(_image(findings=spread)),
    ):
        assert np.ptp(rgb.astype(int), axis=2).max() == 0  # pure grey: nothing drawn


def test_max_side_keeps_aspect():
    rgb = render_view(_image(), max_side=50)
    assert rgb.shape[:2] == (22, 50) or rgb.shape[:2] == (23, 50)


def _lesion_minus_background(rgb: np.ndarray, scale: float = 1.0) -> float:
    grey = rgb[..., 0].astype(float)
    r, c = round(FIND_ROW * scale), round(FIND_COL * scale)
    return grey[r, c] - grey[round(70 * scale), round(150 * scale)]


@pytest.mark.parametrize(
    ("view", "params"),
    [("original", None), ("clahe", None), ("wavelet", WaveletParams(levels=2)), ("superres", None)],
)
def test_monochrome1_and_invert_give_the_displayed_polarity(view, params):
    scale = 2.0 if view == "superres" else 1.0
    kw = dict(view=view, params=params, show_findings=False, max_side=None)
    mono2 = render_view(_image(), **kw)
    mono1 = render_view(_image("MONOCHROME1"), **kw)
    inverted = render_view(_image(), invert=True, **kw)
    assert _lesion_minus_background(mono2, scale) > 60  # dense lesion bright
    assert _lesion_minus_background(mono1, scale) < -60  # high stored value is dark in MONOCHROME1
    assert _lesion_minus_background(inverted, scale) < -60
    if view == "original":
        assert np.abs(inverted.astype(int) + mono2.astype(int) - 255).max() <= 1


def test_info_reports_label_scale_and_full_size():
    info = render_view_info(_image(), view="superres", max_side=100)
    assert info.full_shape == (2 * ROWS, 2 * COLS)
    assert info.scale == pytest.approx((45 / ROWS, 100 / COLS))
    assert "bicubic" in info.label or "Super" in info.label
    assert info.metrics  # PSNR/SSIM against the original, for the caption


def test_unknown_view_or_wrong_params_raise_value_error():
    with pytest.raises(ValueError, match="unknown view"):
        render_view(_image(), view="sharpen")
    with pytest.raises(ValueError, match="WaveletParams"):
        render_view(_image(), view="wavelet", params=ClaheParams())


def test_render_does_not_modify_the_image():
    image = _image("MONOCHROME1")
    before = image.pixels.copy()
    render_view(image, view="clahe")
    render_view(replace(image), view="superres")
    assert np.array_equal(image.pixels, before)
