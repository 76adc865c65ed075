"""MSE, PSNR, SSIM, Dice and IoU: known values and agreement with scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image as PILImage
from skimage.metrics import structural_similarity

from mammoview.imaging.metrics import dice, iou, mse, psnr, ssim


def test_mse_and_psnr_known_values():
    a = np.zeros((4, 4))
    b = np.full((4, 4), 0.1)
    assert mse(a, b) == pytest.approx(0.01)
    assert psnr(a, b) == pytest.approx(20.0)
    assert psnr(a * 255, b * 255, data_range=255) == pytest.approx(20.0)


def test_psnr_of_identical_images_is_inf():
    a = np.random.default_rng(0).random((8, 8))
    assert psnr(a, a.copy()) == math.inf
    assert mse(a, a) == 0.0


def test_mse_works_on_integer_images_without_overflow():
    a = np.zeros((2, 2), np.uint8)
    b = np.full((2, 2), 255, np.uint8)
    assert mse(a, b) == 255.0**2


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="same shape"):
        mse(np.zeros((3, 3)), np.zeros((3, 4)))


def test_ssim_matches_skimage_on_real_mammograms(mias_dir):
    a = np.asarray(PILImage.open(mias_dir / "mdb001.png")).astype(np.float64) / 255.0
    rng = np.random.default_rng(1)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1)
    ref = structural_similarity(
        a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ssim(a, b, data_range=1.0) == pytest.approx(ref, abs=1e-6)
    assert 0.0 < ref < 1.0


def test_ssim_identical_is_one_and_degrades_with_noise():
    rng = np.random.default_rng(2)
    a = rng.random((64, 64))
    assert ssim(a, a) == pytest.approx(1.0)
    light = ssim(a, np.clip(a + rng.normal(0, 0.02, a.shape), 0, 1))
    heavy = ssim(a, np.clip(a + rng.normal(0, 0.2, a.shape), 0, 1))
    assert 1.0 > light > heavy


def test_ssim_respects_data_range():
    rng = np.random.default_rng(5)
    a = rng.random((32, 32))
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1)
    assert ssim(a * 4095, b * 4095, data_range=4095) == pytest.approx(ssim(a, b), abs=1e-9)


def test_ssim_rejects_images_smaller_than_the_window():
    with pytest.raises(ValueError, match="11 x 11"):
        ssim(np.zeros((5, 40)), np.zeros((5, 40)))


def test_dice_and_iou_known_masks():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2, :2] = True  # 4 pixels
    b[:2, :] = True  # 8 pixels, 4 shared
    assert dice(a, b) == pytest.approx(2 * 4 / 12)
    assert iou(a, b) == pytest.approx(4 / 8)
    assert dice(a, a) == 1.0 and iou(a, a) == 1.0
    assert dice(a, ~a) == 0.0 and iou(a, ~a) == 0.0


def test_dice_and_iou_of_two_empty_masks_is_one():
    e = np.zeros((3, 3), bool)
    assert dice(e, e) == 1.0
    assert iou(e, e) == 1.0


def test_dice_rejects_non_boolean_masks():
    with pytest.raises(ValueError, match="boolean"):
        dice(np.zeros((2, 2), np.uint8), np.zeros((2, 2), bool))
