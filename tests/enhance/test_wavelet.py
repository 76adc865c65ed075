"""Daubechies wavelet enhancement: contract, detail gain, denoising."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage
from scipy import ndimage as ndi

from mammoview.enhance.params import as_unit_float
from mammoview.enhance.wavelet import enhance_wavelet


def _mias(mias_dir, ref="mdb001"):
    return np.asarray(PILImage.open(mias_dir / f"{ref}.png"))


def _detail_energy(x):
    x = x.astype(np.float64)
    return float(np.mean((x - ndi.gaussian_filter(x, 2.0)) ** 2))


def test_contract_on_a_real_mammogram(mias_dir):
    img = _mias(mias_dir)
    before = img.copy()
    out = enhance_wavelet(img)
    assert out.shape == img.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(img, before)
    np.testing.assert_array_equal(out, enhance_wavelet(img))  # deterministic


def test_gain_raises_detail_energy_monotonically(mias_dir):
    img = _mias(mias_dir, "mdb005")
    e = [_detail_energy(enhance_wavelet(img, gain=g, denoise=False)) for g in (1.0, 2.0, 3.0)]
    assert e[0] < e[1] < e[2]
    assert e[1] > 1.8 * e[0]  # amplitude x2 -> energy up to x4 (less: clipping, coarse bands)


def test_gain_one_without_denoise_reconstructs_the_image():
    img = np.random.default_rng(0).random((160, 130))
    out = enhance_wavelet(img, gain=1.0, denoise=False)
    np.testing.assert_allclose(out, as_unit_float(img), atol=1e-5)


def test_denoise_lowers_noise_on_a_noisy_flat_image():
    rng = np.random.default_rng(1)
    noisy = 0.5 + rng.normal(0.0, 0.05, (256, 256))
    x = as_unit_float(noisy)
    out = enhance_wavelet(noisy, gain=1.0, denoise=True)
    assert out.std() < 0.35 * x.std()
    # Without denoising the noise stays.
    assert enhance_wavelet(noisy, gain=1.0, denoise=False).std() == pytest.approx(x.std(), rel=0.01)


def test_denoise_keeps_a_real_edge():
    rng = np.random.default_rng(2)
    img = np.zeros((128, 128))
    img[:, 64:] = 1.0
    noisy = img + rng.normal(0, 0.05, img.shape)
    out = enhance_wavelet(noisy, gain=1.0, denoise=True)
    assert out[:, 70:].mean() - out[:, :58].mean() > 0.8 * (
        as_unit_float(noisy)[:, 70:].mean() - as_unit_float(noisy)[:, :58].mean()
    )


@pytest.mark.parametrize("wavelet", ["db1", "db2", "db8"])
def test_other_daubechies_wavelets_and_odd_shapes(wavelet):
    img = np.random.default_rng(3).random((201, 157)).astype(np.float32)
    out = enhance_wavelet(img, wavelet=wavelet, levels=3)
    assert out.shape == (201, 157)


def test_too_many_levels_for_the_image_names_levels():
    with pytest.raises(ValueError, match="too small for 4 db4 wavelet levels"):
        enhance_wavelet(np.random.default_rng(4).random((20, 20)), levels=4)


def test_bad_wavelet_is_rejected():
    with pytest.raises(ValueError, match="^wavelet "):
        enhance_wavelet(np.zeros((64, 64)), wavelet="sym4")
