"""Super-resolution: bicubic without a model, and the seam for a trained model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image as PILImage

from mammoview.enhance.params import as_unit_float
from mammoview.enhance.superres import BICUBIC_LABEL, SuperResolved, superresolve
from mammoview.imaging.resample import upscale_bicubic


def test_without_a_model_it_is_bicubic_x2_and_says_so(mias_dir):
    img = np.asarray(PILImage.open(mias_dir / "mdb001.png"))
    before = img.copy()
    sr = superresolve(img)
    assert isinstance(sr, SuperResolved)
    assert sr.label == "bicubic (no SR model)" == BICUBIC_LABEL
    assert sr.model_version is None
    assert sr.array.shape == (2048, 2048) and sr.array.dtype == np.float32
    assert 0.0 <= sr.array.min() and sr.array.max() <= 1.0
    expected = np.clip(upscale_bicubic(as_unit_float(img), 2), 0, 1)
    np.testing.assert_array_equal(sr.array, expected)
    np.testing.assert_array_equal(img, before)


def test_asymmetric_shape_doubles_each_axis():
    assert superresolve(np.random.default_rng(0).random((7, 13))).array.shape == (14, 26)


@dataclass
class _NearestModel:
    """A real (if trivial) x2 upscaler, to exercise the model seam."""

    name: str = "nearest-test"
    version: str = "0.0.1"
    scale: int = 2

    def upscale(self, x):
        return np.kron(x, np.ones((2, 2), np.float32))


def test_a_model_is_used_and_labelled_with_its_version():
    img = np.random.default_rng(1).random((10, 12))
    sr = superresolve(img, model=_NearestModel())
    assert sr.label == "nearest-test x2" and sr.model_version == "0.0.1"
    np.testing.assert_array_equal(sr.array[::2, ::2], as_unit_float(img))


def test_model_scale_must_match_factor():
    with pytest.raises(ValueError, match="factor=3"):
        superresolve(np.zeros((4, 4)), factor=3, model=_NearestModel())


def test_model_output_shape_is_checked():
    bad = _NearestModel()
    bad.upscale = lambda x: x  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="shape"):
        superresolve(np.zeros((4, 4)), model=bad)


def test_bad_factor_names_itself():
    with pytest.raises(ValueError, match="^factor "):
        superresolve(np.zeros((4, 4)), factor=1)
