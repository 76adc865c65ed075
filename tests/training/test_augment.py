import numpy as np
import pytest

from mammoview.training.augment import AUGMENTATIONS, AugmentConfig, augment_pair, parse_augment


def _asymmetric():
    mask = np.zeros((64, 48), bool)
    mask[8:30, 5:14] = True  # an L shape near a corner: any flip or turn moves it
    mask[24:30, 5:36] = True
    return mask.astype(np.float32) * 0.8 + 0.1, mask


@pytest.mark.parametrize("names", [("flip",), ("rotate",), ("zoom",), ("shear",), ("flip", "rotate", "zoom", "shear")])
def test_geometry_moves_image_and_mask_together(names):
    image, mask = _asymmetric()
    moved = 0
    for seed in range(6):
        img, msk = augment_pair(image, mask, np.random.default_rng(seed), AugmentConfig(names=names))
        assert img.shape == mask.shape and msk.dtype == bool
        # Where the image is bright the mask is set: the same map was applied to both.
        bright = img > 0.5
        inter = np.count_nonzero(bright & msk)
        union = np.count_nonzero(bright | msk)
        assert inter / union > 0.85
        moved += not np.array_equal(msk, mask)
    assert moved >= 3
    assert np.array_equal(image, _asymmetric()[0])  # the input is not modified


def test_same_seed_same_result_and_photometric_changes_leave_the_mask_alone():
    image, mask = _asymmetric()
    cfg = AugmentConfig(names=AUGMENTATIONS)
    a = augment_pair(image, mask, np.random.default_rng(3), cfg)
    b = augment_pair(image, mask, np.random.default_rng(3), cfg)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    img, msk = augment_pair(image, mask, np.random.default_rng(3), AugmentConfig(names=("brightness", "contrast")))
    assert np.array_equal(msk, mask) and not np.array_equal(img, image)
    assert img.min() >= 0.0 and img.max() <= 1.0


def test_right_angles_keep_the_pixels_exact():
    image, _ = _asymmetric()
    img, _ = augment_pair(image, None, np.random.default_rng(1), AugmentConfig(names=("flip", "rotate"), right_angles=True))
    assert sorted(img.ravel().tolist()) == sorted(image.ravel().tolist())


def test_parse_augment():
    assert parse_augment("flip, rotate,flip") == ("flip", "rotate")
    assert parse_augment("none") == ()
    with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
        parse_augment("flip,blur")
