"""The panel registry and compute_view: arrays, labels, params and metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image as PILImage

from mammoview.enhance.params import as_unit_float
from mammoview.enhance.views import (
    DEFAULT_PARAMS,
    VIEWS,
    WAVELET_FAMILIES,
    ClaheParams,
    EnhancedView,
    SuperresParams,
    WaveletParams,
    compute_view,
    image_metrics,
)
from mammoview.enhance.wavelet import enhance_wavelet
from mammoview.imaging.metrics import psnr


def test_registry_has_the_gui_panels():
    assert list(VIEWS) == ["original", "wavelet", "clahe", "adaptive-median", "superres"]
    assert set(DEFAULT_PARAMS) == set(VIEWS)
    assert "db4" in WAVELET_FAMILIES


@pytest.mark.parametrize("name", list(VIEWS))
def test_every_view_on_a_real_mammogram(mias_dir, name):
    img = np.asarray(PILImage.open(mias_dir / "mdb002.png"))
    before = img.copy()
    view = compute_view(name, img)
    assert isinstance(view, EnhancedView)
    factor = 2 if name == "superres" else 1
    assert view.array.shape == (1024 * factor, 1024 * factor)
    assert view.array.dtype == np.float32
    assert 0.0 <= view.array.min() and view.array.max() <= 1.0
    assert view.params == DEFAULT_PARAMS[name]
    assert set(view.metrics) == {"MSE", "PSNR (dB)", "SSIM"}
    assert view.label
    np.testing.assert_array_equal(img, before)


def test_original_metrics_are_identity(mias_dir):
    view = compute_view("original", np.asarray(PILImage.open(mias_dir / "mdb001.png")))
    assert view.metrics["MSE"] == 0.0
    assert view.metrics["PSNR (dB)"] == math.inf
    assert view.metrics["SSIM"] == pytest.approx(1.0)


def test_params_reach_the_function_and_the_label():
    img = np.random.default_rng(0).random((128, 96))
    p = WaveletParams(wavelet="db2", levels=3, gain=1.5, denoise=False)
    view = compute_view("wavelet", img, p)
    np.testing.assert_array_equal(
        view.array, enhance_wavelet(img, wavelet="db2", levels=3, gain=1.5, denoise=False)
    )
    assert "db2" in view.label and "3 levels" in view.label and "gain 1.5" in view.label
    assert view.metrics["PSNR (dB)"] == pytest.approx(psnr(as_unit_float(img), view.array))
    clahe = compute_view("clahe", img, ClaheParams(clip_limit=0.02, tiles=4, denoise="wiener"))
    assert "0.02" in clahe.label and "4x4" in clahe.label and "wiener" in clahe.label


def test_superres_metrics_compare_after_downscaling_and_label_says_so(mias_dir):
    img = np.asarray(PILImage.open(mias_dir / "mdb001.png"))
    view = compute_view("superres", img, SuperresParams(factor=2))
    assert "bicubic (no SR model)" in view.label
    assert "downscaled" in view.label
    # Bicubic up then area down is almost the original.
    assert view.metrics["PSNR (dB)"] > 40
    assert view.metrics["SSIM"] > 0.99


def test_full_field_ssim_is_computed_downscaled_and_named_so():
    rng = np.random.default_rng(1)
    big = rng.random((1600, 1400)).astype(np.float32)
    noisy = np.clip(big + rng.normal(0, 0.05, big.shape), 0, 1).astype(np.float32)
    m = image_metrics(big, noisy)
    assert "SSIM" not in m
    assert "SSIM (1/2 scale)" in m and 0 < m["SSIM (1/2 scale)"] < 1
    assert m["MSE"] == pytest.approx(np.mean((big.astype(np.float64) - noisy) ** 2))


def test_tiny_image_gets_nan_ssim():
    view = compute_view("clahe", np.random.default_rng(2).random((8, 8)), ClaheParams(tiles=2))
    assert math.isnan(view.metrics["SSIM"])


def test_unknown_name_and_wrong_params_are_rejected():
    img = np.zeros((16, 16))
    with pytest.raises(ValueError, match="^name "):
        compute_view("sharpen", img)
    with pytest.raises(ValueError, match="WaveletParams"):
        compute_view("wavelet", img, ClaheParams())
    with pytest.raises(ValueError, match="model"):
        compute_view("clahe", img, model=object())
