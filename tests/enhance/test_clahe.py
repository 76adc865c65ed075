"""CLAHE and the Wiener filter: contract, contrast gain, clip limit, agreement with references."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage
from scipy import ndimage as ndi
from scipy import signal
from skimage import exposure

from mammoview.enhance.clahe import enhance_clahe, filter_wiener
from mammoview.enhance.params import as_unit_float


def _mias(mias_dir, ref="mdb001"):
    return np.asarray(PILImage.open(mias_dir / f"{ref}.png"))


def _local_contrast(x):
    x = x.astype(np.float64)
    mean = ndi.uniform_filter(x, 15)
    return float(np.mean(np.sqrt(np.maximum(ndi.uniform_filter(x * x, 15) - mean * mean, 0))))


def _entropy(x):
    hist = np.bincount(np.clip((x * 255).round().astype(int), 0, 255).ravel(), minlength=256)
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum())


def _low_contrast_image():
    # A dim image squeezed into a narrow band of grey with a faint structure and noise.
    rng = np.random.default_rng(0)
    rr, cc = np.mgrid[0:256, 0:256]
    img = 0.45 + 0.03 * np.sin(rr / 11.0) * np.cos(cc / 17.0) + rng.normal(0, 0.005, rr.shape)
    img[0, 0], img[-1, -1] = 0.0, 1.0  # min/max outliers keep the band narrow after rescaling
    return img


@pytest.mark.parametrize("denoise", ["none", "median", "wiener"])
def test_contract_on_a_real_mammogram(mias_dir, denoise):
    img = _mias(mias_dir)
    before = img.copy()
    out = enhance_clahe(img, denoise=denoise)
    assert out.shape == img.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(img, before)
    np.testing.assert_array_equal(out, enhance_clahe(img, denoise=denoise))


def test_increases_local_contrast_and_entropy_of_a_low_contrast_image():
    img = _low_contrast_image()
    x = as_unit_float(img)
    out = enhance_clahe(img, clip_limit=0.02)
    assert _local_contrast(out) > 3 * _local_contrast(x)
    assert _entropy(out) > _entropy(x) + 1.0


def test_higher_clip_limit_gives_more_contrast(mias_dir):
    img = _mias(mias_dir, "mdb005")
    c = [_local_contrast(enhance_clahe(img, clip_limit=k)) for k in (0.005, 0.01, 0.03, 0.1)]
    assert c == sorted(c) and c[-1] > 1.2 * c[0]


def test_close_to_scikit_image_on_a_real_mammogram(mias_dir):
    # Same algorithm family and clip-limit convention; they differ only in details
    # (redistribution, tile padding), so they must agree closely but not exactly.
    img = _mias(mias_dir, "mdb002")
    ours = enhance_clahe(img, clip_limit=0.01, tiles=8)
    ref = exposure.equalize_adapthist(img, clip_limit=0.01)
    assert np.mean(np.abs(ours - ref)) < 0.02
    assert np.corrcoef(ours.ravel(), ref.ravel())[0, 1] > 0.99


def test_asymmetric_shapes_and_tile_counts():
    img = np.random.default_rng(1).random((97, 230))
    for tiles in (1, 3, 8, 16):
        out = enhance_clahe(img, tiles=tiles)
        assert out.shape == (97, 230)
    # One tile with the clip limit at its maximum is plain histogram equalisation.
    ramp = np.tile(np.linspace(0, 1, 256) ** 3, (16, 1))
    eq = enhance_clahe(ramp, tiles=1, clip_limit=1.0)
    assert np.all(np.diff(eq[0]) >= 0)
    assert abs(np.median(eq) - 0.5) < 0.05


def test_wiener_matches_scipy_inside_the_border():
    rng = np.random.default_rng(2)
    img = np.clip(0.5 + 0.2 * np.sin(np.arange(64) / 5)[None, :] + rng.normal(0, 0.05, (64, 64)), 0, 1)
    img[0, 0], img[-1, -1] = 0.0, 1.0
    ours = filter_wiener(img, size=3)
    x = as_unit_float(img).astype(np.float64)
    # scipy estimates the noise over its zero-padded borders; give both the same noise.
    local_var = ndi.uniform_filter(x * x, 3) - ndi.uniform_filter(x, 3) ** 2
    noise = float(local_var.mean())
    ours = filter_wiener(img, size=3, noise=noise)
    ref = np.clip(signal.wiener(x, 3, noise=noise), 0, 1)
    np.testing.assert_allclose(ours[2:-2, 2:-2], ref[2:-2, 2:-2], atol=1e-4)


def test_wiener_reduces_noise_on_a_flat_image():
    rng = np.random.default_rng(3)
    noisy = 0.5 + rng.normal(0, 0.05, (128, 128))
    assert filter_wiener(noisy).std() < 0.6 * as_unit_float(noisy).std()


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="^clip_limit "):
        enhance_clahe(np.zeros((8, 8)), clip_limit=-1)
    with pytest.raises(ValueError, match="^denoise "):
        enhance_clahe(np.zeros((8, 8)), denoise="bilateral")
    with pytest.raises(ValueError, match="^size "):
        filter_wiener(np.zeros((8, 8)), size=4)
