"""Bicubic enlargement and area reduction: shapes, values, speed-relevant behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage
from scipy import ndimage as ndi

from mammoview.imaging.resample import downscale_area, upscale_bicubic


def _mias(mias_dir, ref="mdb001"):
    return np.asarray(PILImage.open(mias_dir / f"{ref}.png"))


def test_upscale_shape_dtype_and_input_untouched(mias_dir):
    img = _mias(mias_dir)
    before = img.copy()
    out = upscale_bicubic(img, 2)
    assert out.shape == (2048, 2048)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(img, before)


def test_upscale_keeps_values_on_a_smooth_image_close_to_spline_zoom():
    # A smooth ramp is reproduced almost exactly by any cubic interpolator.
    rr, cc = np.mgrid[0:40, 0:30].astype(np.float64)
    img = np.sin(rr / 9.0) + np.cos(cc / 7.0)
    ours = upscale_bicubic(img, 2)
    ref = ndi.zoom(img, 2, order=3, mode="nearest", grid_mode=True)
    inner = (slice(8, -8), slice(8, -8))
    assert np.max(np.abs(ours[inner] - ref[inner])) < 0.01


def test_upscale_asymmetric_image_keeps_orientation():
    img = np.zeros((6, 10))
    img[0, -1] = 1.0  # top-right corner
    out = upscale_bicubic(img, 2)
    assert out.shape == (12, 20)
    r, c = np.unravel_index(np.argmax(out), out.shape)
    assert r <= 1 and c >= 18


def test_downscale_area_is_block_mean_for_dividing_factor():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 4096, size=(12, 18), dtype=np.uint16)
    out = downscale_area(img, 3)
    expected = img.astype(np.float64).reshape(4, 3, 6, 3).mean(axis=(1, 3))
    assert out.shape == (4, 6) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_downscale_area_non_dividing_factor_keeps_mean_and_range():
    rng = np.random.default_rng(4)
    img = rng.random((101, 67)).astype(np.float32)
    out = downscale_area(img, 4)
    assert out.shape == (25, 17)
    assert img.min() <= out.min() and out.max() <= img.max()
    assert abs(out.mean() - img.mean()) < 0.01


def test_down_after_up_returns_close_to_original(mias_dir):
    img = _mias(mias_dir, "mdb002").astype(np.float32) / 255.0
    back = downscale_area(upscale_bicubic(img, 2), 2)
    assert back.shape == img.shape
    assert np.mean(np.abs(back - img)) < 0.005


@pytest.mark.parametrize("factor", [0, -2, float("nan"), True, "2"])
def test_bad_factor_is_rejected_naming_it(factor):
    with pytest.raises(ValueError, match="factor"):
        upscale_bicubic(np.zeros((4, 4)), factor)
    with pytest.raises(ValueError, match="factor"):
        downscale_area(np.zeros((4, 4)), factor)


def test_non_2d_is_rejected():
    with pytest.raises(ValueError, match="2-D"):
        upscale_bicubic(np.zeros((4, 4, 3)))
