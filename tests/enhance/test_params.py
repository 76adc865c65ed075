"""The input convention (rescale by own min/max) and parameter validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mammoview.enhance.params import (
    WAVELET_FAMILIES,
    AdaptiveMedianParams,
    ClaheParams,
    SuperresParams,
    WaveletParams,
    as_unit_float,
)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
def test_as_unit_float_rescales_by_own_min_max(dtype):
    img = np.array([[10, 20], [30, 50]], dtype=dtype)
    before = img.copy()
    out = as_unit_float(img)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 0.25], [0.5, 1.0]], atol=1e-7)
    np.testing.assert_array_equal(img, before)
    assert not np.shares_memory(out, img)


def test_as_unit_float_constant_image_is_zeros_and_bool_works():
    assert not as_unit_float(np.full((3, 3), 7)).any()
    np.testing.assert_array_equal(as_unit_float(np.eye(2, dtype=bool)), np.eye(2))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((2, 2, 3)), "2-D"),
        (np.zeros((0, 4)), "empty"),
        (np.array([[np.nan, 1.0]]), "NaN"),
        (np.array([[np.inf, 1.0]]), "NaN or infinite"),
        (np.zeros((2, 2), complex), "real dtype"),
    ],
)
def test_as_unit_float_rejects_bad_images(bad, match):
    with pytest.raises(ValueError, match=match):
        as_unit_float(bad)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: WaveletParams(wavelet="haar"), "wavelet"),
        (lambda: WaveletParams(wavelet="db9"), "wavelet"),
        (lambda: WaveletParams(levels=0), "levels"),
        (lambda: WaveletParams(levels=2.5), "levels"),
        (lambda: WaveletParams(levels=True), "levels"),
        (lambda: WaveletParams(gain=0), "gain"),
        (lambda: WaveletParams(gain=float("nan")), "gain"),
        (lambda: WaveletParams(denoise="yes"), "denoise"),
        (lambda: ClaheParams(clip_limit=0), "clip_limit"),
        (lambda: ClaheParams(clip_limit=1.5), "clip_limit"),
        (lambda: ClaheParams(tiles=0), "tiles"),
        (lambda: ClaheParams(denoise="gaussian"), "denoise"),
        (lambda: AdaptiveMedianParams(max_window=4), "max_window"),
        (lambda: AdaptiveMedianParams(max_window=1), "max_window"),
        (lambda: SuperresParams(factor=1), "factor"),
        (lambda: SuperresParams(factor=2.0), "factor"),
    ],
)
def test_bad_parameters_raise_value_error_naming_the_parameter(make, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        make()


def test_params_are_frozen_hashable_and_report_as_dict():
    p = WaveletParams(wavelet="db2", levels=3, gain=1.5, denoise=False)
    assert p.as_dict() == {"wavelet": "db2", "levels": 3, "gain": 1.5, "denoise": False}
    assert {p: 1}[WaveletParams(wavelet="db2", levels=3, gain=1.5, denoise=False)] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.gain = 3.0  # type: ignore[misc]
    assert ClaheParams().as_dict() == {"clip_limit": 0.01, "tiles": 8, "denoise": "none"}


def test_wavelet_families_are_daubechies_known_to_pywavelets():
    import pywt

    assert "db4" in WAVELET_FAMILIES and "db1" in WAVELET_FAMILIES
    for name in WAVELET_FAMILIES:
        assert name in pywt.wavelist(family="db")
