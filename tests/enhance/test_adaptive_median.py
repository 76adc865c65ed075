"""Adaptive median filter: impulse removal, edge keeping, and the book's decisions."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage
from scipy import ndimage as ndi

from mammoview.enhance.adaptive_median import (
    filter_adaptive_median,
    filter_median,
    median3x3,
    minmedmax3x3,
)
from mammoview.enhance.params import as_unit_float


def _mias(mias_dir, ref="mdb001"):
    return np.asarray(PILImage.open(mias_dir / f"{ref}.png"))


def _salt_and_pepper(clean, density, seed=0):
    rng = np.random.default_rng(seed)
    noisy = clean.copy()
    u = rng.random(clean.shape)
    noisy[u < density / 2] = 0.0
    noisy[(u >= density / 2) & (u < density)] = 1.0
    return noisy


def _reference_adaptive_median(x, max_window):
    """Per-pixel Gonzalez & Woods, written plainly, to check the vectorised version."""
    pad = max_window // 2
    p = np.pad(x, pad, mode="symmetric")
    out = np.empty_like(x)
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            z = x[r, c]
            for s in range(3, max_window + 1, 2):
                h = s // 2
                w = p[r + pad - h : r + pad + h + 1, c + pad - h : c + pad + h + 1]
                zmin, zmed, zmax = w.min(), np.median(w), w.max()
                if zmin < zmed < zmax:
                    out[r, c] = z if zmin < z < zmax else zmed
                    break
            else:
                out[r, c] = zmed
    return out


def test_fast_3x3_median_equals_scipy():
    rng = np.random.default_rng(1)
    x = rng.random((57, 43)).astype(np.float32)
    np.testing.assert_array_equal(median3x3(x), ndi.median_filter(x, 3, mode="reflect"))
    zmin, _, zmax = minmedmax3x3(x)
    np.testing.assert_array_equal(zmin, ndi.minimum_filter(x, 3, mode="reflect"))
    np.testing.assert_array_equal(zmax, ndi.maximum_filter(x, 3, mode="reflect"))
    q = (rng.random((30, 30)) * 4).round().astype(np.float32)  # many ties
    np.testing.assert_array_equal(median3x3(q), ndi.median_filter(q, 3, mode="reflect"))


@pytest.mark.parametrize("max_window", [3, 5, 7])
def test_matches_the_per_pixel_algorithm(max_window):
    rng = np.random.default_rng(2)
    clean = np.round(rng.random((40, 36)) * 8) / 8  # plateaus and ties, like 8-bit images
    clean[10:20, 5:30] = 0.5  # a flat patch
    noisy = _salt_and_pepper(clean, 0.3, seed=3)
    x = as_unit_float(noisy)
    np.testing.assert_array_equal(
        filter_adaptive_median(noisy, max_window=max_window),
        _reference_adaptive_median(x, max_window),
    )


def _edge_image():
    rr, cc = np.mgrid[0:128, 0:128]
    img = 0.3 + 0.2 * (cc >= 64) + 0.1 * rr / 128.0  # a vertical step on a gentle ramp
    img[30:34, 90:94] = 0.85  # a small bright spot (a calcification's size)
    return img


def test_removes_dense_salt_and_pepper_better_than_3x3_median():
    clean = _edge_image()
    noisy = _salt_and_pepper(clean, 0.3)
    noisy[0, 0], noisy[-1, -1] = 0.0, 1.0
    adaptive = filter_adaptive_median(noisy, max_window=7)
    plain = filter_median(noisy, size=3)
    # Both outputs are in the noisy image's [0, 1] frame, where the clean values are unchanged.
    err_adaptive = np.mean(np.abs(adaptive - clean))
    err_plain = np.mean(np.abs(plain - clean))
    assert err_adaptive < 0.5 * err_plain
    assert np.mean(np.isin(adaptive, (0.0, 1.0))) < 0.005


def test_keeps_edges_and_small_bright_spots():
    clean = _edge_image()
    noisy = _salt_and_pepper(clean, 0.1, seed=4)
    noisy[0, 0], noisy[-1, -1] = 0.0, 1.0
    out = filter_adaptive_median(noisy, max_window=7)
    step = out[:, 66].mean() - out[:, 61].mean()
    assert step == pytest.approx(0.2, abs=0.02)
    assert out[31:33, 91:93].mean() == pytest.approx(0.85, abs=0.05)
    # A 7x7 plain median, which would also clean this, erases the spot.
    assert filter_median(noisy, size=7)[31:33, 91:93].mean() < 0.6


def test_leaves_noise_free_pixels_untouched_on_a_real_mammogram(mias_dir):
    img = _mias(mias_dir)
    before = img.copy()
    out = filter_adaptive_median(img)
    x = as_unit_float(img)
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_array_equal(img, before)
    # Most pixels of a clean mammogram are not impulses and keep their value exactly.
    assert np.mean(out == x) > 0.9
    np.testing.assert_array_equal(out, filter_adaptive_median(img))


def test_bad_max_window_names_itself():
    for bad in (2, 4, 17, 7.0):
        with pytest.raises(ValueError, match="^max_window "):
            filter_adaptive_median(np.zeros((8, 8)), max_window=bad)
