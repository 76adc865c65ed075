"""segment_breast on real mammograms: DDSM manual outlines, MIAS findings and film labels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from mammoview.imaging.orientation import chest_wall_side
from mammoview.segmentation import segment_breast
from tests.conftest import require_data
from tests.segmentation import ddsm_case, ddsm_rows, dice, mias_findings, read_gray, split_dice

# Measured on the test split (6 images): mean 0.972, min 0.901. The mean floor is the
# project's requirement; the per-image floor sits below the worst case measured.
MEAN_DICE_FLOOR = 0.95
IMAGE_DICE_FLOOR = 0.88


@pytest.fixture(scope="module")
def ddsm_root():
    return require_data("ddsm-tissue")


def test_breast_dice_on_ddsm_test_split(ddsm_root):
    scores = split_dice(ddsm_root, "test", segment_breast, 1)
    assert len(scores) >= 5
    assert np.mean(list(scores.values())) >= MEAN_DICE_FLOOR, scores
    worst = min(scores, key=scores.get)
    assert scores[worst] >= IMAGE_DICE_FLOOR, (worst, scores[worst])


def test_burnt_in_labels_are_excluded_on_ddsm(ddsm_root):
    # Labels ("RMLO"), wedges and markers: pixels brighter than the breast's median,
    # well away from the manual outline. None may be in the mask. (All 50 images:
    # this checks behaviour, it is not a reported figure.)
    with_labels = 0
    for row in ddsm_rows(ddsm_root):
        image, breast, _ = ddsm_case(ddsm_root, row)
        far = ~ndi.binary_dilation(breast, iterations=10)
        labels = far & (image > np.median(image[breast]))
        if labels.sum() < 50:
            continue
        with_labels += 1
        mask = segment_breast(image)
        assert not (mask & labels).any(), row["id"]
    assert with_labels >= 5  # the set does have labelled images: the check ran


def test_chest_wall_side_from_pixels_matches_ground_truth_and_mirrors(ddsm_root):
    for row in ddsm_rows(ddsm_root, "test"):
        image, _, _ = ddsm_case(ddsm_root, row)
        assert chest_wall_side(image) == row["chest_wall_side"], row["id"]
        mask = segment_breast(image)
        mirrored = segment_breast(image[:, ::-1])
        assert dice(mirrored[:, ::-1], mask) > 0.995, row["id"]
        # A given side gives the same answer as the detected one.
        given = segment_breast(image, chest_wall_side=row["chest_wall_side"])
        assert np.array_equal(given, mask)


@pytest.mark.slow
def test_mias_masks_cover_findings_and_leave_film_corners_out(mias_dir):
    findings = mias_findings(mias_dir / "Info.txt")
    outside = []
    checked = 0
    for path in sorted(mias_dir.glob("mdb*.png")):
        image = read_gray(path)
        mask = segment_breast(image)
        side = chest_wall_side(image)
        far_col = image.shape[1] - 1 if side == "left" else 0
        # Film labels and edge strips sit in the corners opposite the chest wall.
        assert not mask[0, far_col] and not mask[-1, far_col], path.name
        # Large breasts fill most of the film (mdb151: 89 %); none fills all of it.
        assert 0.1 < mask.mean() < 0.95, path.name
        for row, col in findings.get(path.stem, []):
            checked += 1
            if not mask[row, col]:
                outside.append((path.stem, row, col, float(image[row - 3 : row + 4, col - 3 : col + 4].mean())))
    # Every located row of Info.txt has its image in the set (99 rows).
    assert checked == sum(len(v) for v in findings.values()) >= 90
    # One Info.txt centre (mdb212, a benign calcification) lies in the film
    # background, 100+ pixels beyond the skin: its neighbourhood is at the background
    # level (grey < 10 of 255). Anything else outside the mask is a failure.
    assert all(mean < 10 for *_, mean in outside), outside
    assert [name for name, *_ in outside] == ["mdb212"], outside


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_any_dtype_gives_the_same_mask_and_input_is_untouched(ddsm_root, dtype):
    row = ddsm_rows(ddsm_root, "test")[0]
    image, _, _ = ddsm_case(ddsm_root, row)
    reference = segment_breast(image)
    scale = {np.uint8: 1, np.uint16: 257, np.float32: 1 / 255, np.float64: 1 / 255}[dtype]
    converted = (image.astype(np.float64) * scale).astype(dtype)
    converted.flags.writeable = False  # a read-only input must be accepted, not written
    before = converted.copy()
    mask = segment_breast(converted)
    assert mask.dtype == bool and mask.shape == image.shape
    assert np.array_equal(converted, before)
    assert dice(mask, reference) > 0.999


def test_shape_not_divisible_by_the_working_step(ddsm_root):
    row = ddsm_rows(ddsm_root, "test")[0]
    image, breast, _ = ddsm_case(ddsm_root, row)
    cropped, truth = image[:957, :479], breast[:957, :479]
    mask = segment_breast(cropped)
    assert mask.shape == cropped.shape
    assert dice(mask, truth) > 0.9


def test_degenerate_inputs():
    assert not segment_breast(np.full((64, 48), 7, np.uint16)).any()
    with pytest.raises(ValueError, match="2-D"):
        segment_breast(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="chest_wall_side"):
        segment_breast(np.zeros((8, 8)), chest_wall_side="top")
