"""Median + local contrast modification and the LIME-paper pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage
from scipy import ndimage as ndi

from mammoview.enhance.median_lcm import enhance_lime_pipeline, filter_median_lcm
from mammoview.enhance.params import as_unit_float


def _mias(mias_dir, ref="mdb001"):
    return np.asarray(PILImage.open(mias_dir / f"{ref}.png"))


def test_contract_on_a_real_mammogram(mias_dir):
    img = _mias(mias_dir)
    before = img.copy()
    for fn in (filter_median_lcm, enhance_lime_pipeline):
        out = fn(img)
        assert out.shape == img.shape and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0
        np.testing.assert_array_equal(out, fn(img))
    np.testing.assert_array_equal(img, before)


def test_gain_one_is_a_plain_median_filter():
    img = np.random.default_rng(0).random((40, 50))
    out = filter_median_lcm(img, size=3, lcm_gain=1.0)
    ref = ndi.median_filter(as_unit_float(img), size=3, mode="reflect")
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_lcm_boosts_deviation_from_local_mean_and_keeps_mean():
    rr, cc = np.mgrid[0:96, 0:96]
    img = 0.5 + 0.1 * np.sin(rr / 4.0) * np.sin(cc / 5.0)
    img[0, 0], img[-1, -1] = 0.0, 1.0
    base = filter_median_lcm(img, lcm_gain=1.0)
    boosted = filter_median_lcm(img, lcm_gain=2.0)
    inner = (slice(10, -10), slice(10, -10))
    local_mean = ndi.uniform_filter(base, 15, mode="reflect")
    # Exactly: the median image's deviation from its 15 x 15 mean, doubled.
    np.testing.assert_allclose(boosted, np.clip(local_mean + 2 * (base - local_mean), 0, 1), atol=1e-6)
    dev = lambda a: np.abs(a - ndi.uniform_filter(a, 15))[inner].mean()  # noqa: E731
    assert dev(boosted) > 1.5 * dev(base)
    assert boosted[inner].mean() == pytest.approx(base[inner].mean(), abs=0.01)


def test_median_removes_isolated_impulses():
    img = np.full((32, 32), 0.5)
    img[10, 10] = 1.0
    img[20, 5] = 0.0
    img[0, 31] = 0.25
    out = filter_median_lcm(img, lcm_gain=1.0)
    x = as_unit_float(img)
    assert out[10, 10] == pytest.approx(x[15, 15])
    assert out[20, 5] == pytest.approx(x[15, 15])


def test_pipeline_increases_local_contrast_of_a_real_mammogram(mias_dir):
    img = _mias(mias_dir, "mdb005")
    x = as_unit_float(img)
    out = enhance_lime_pipeline(img)
    std = lambda a: np.sqrt(np.maximum(ndi.uniform_filter(a * a, 15) - ndi.uniform_filter(a, 15) ** 2, 0)).mean()  # noqa: E731
    assert std(out.astype(np.float64)) > 1.5 * std(x.astype(np.float64))


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="^lcm_gain "):
        filter_median_lcm(np.zeros((8, 8)), lcm_gain=-1)
    with pytest.raises(ValueError, match="^lcm_size "):
        filter_median_lcm(np.zeros((8, 8)), lcm_size=4)
    with pytest.raises(ValueError, match="^wiener_size "):
        enhance_lime_pipeline(np.zeros((8, 8)), wiener_size=2)
    with pytest.raises(ValueError, match="^tiles "):
        enhance_lime_pipeline(np.zeros((8, 8)), tiles=0)
