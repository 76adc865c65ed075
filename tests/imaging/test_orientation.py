"""chest_wall_side: from the pixels, on real DDSM and MIAS films."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image as PILImage

from mammoview.imaging.orientation import chest_wall_side
from tests.conftest import require_data

# MIAS films whose chest-wall side was read by eye from the pixels (pectoral muscle
# and the flat cut edge of the breast), not from the file name. They include films
# with wide white scanner strips on the nipple side (mdb131, mdb132, mdb140) and
# burnt-in label boxes and scanner marks (mdb002, mdb274, mdb280).
MIAS_BY_EYE = {
    "mdb001": "right", "mdb002": "left", "mdb005": "right", "mdb006": "left",
    "mdb131": "right", "mdb132": "left", "mdb139": "right", "mdb140": "left",
    "mdb149": "right", "mdb150": "left", "mdb273": "right", "mdb274": "left",
    "mdb279": "right", "mdb280": "left",
}


def load(path) -> np.ndarray:
    return np.asarray(PILImage.open(path))


def test_synthetic_breast_both_ways_and_input_untouched():
    img = np.zeros((200, 120), np.float32)
    r, c = np.mgrid[0:200, 0:120]
    img[((r - 100) / 90.0) ** 2 + (c / 80.0) ** 2 <= 1] = 0.7
    before = img.copy()
    assert chest_wall_side(img) == "left"
    assert chest_wall_side(img[:, ::-1]) == "right"
    np.testing.assert_array_equal(img, before)


def test_ddsm_chest_wall_side_matches_ground_truth():
    root = require_data("ddsm-tissue")
    with open(root / "index.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 50
    wrong = []
    for row in rows:
        pixels = load(root / row["image"])
        side = chest_wall_side(pixels)
        if side != row["chest_wall_side"]:
            wrong.append(row["id"])
        # Mirroring the film must mirror the answer.
        assert chest_wall_side(pixels[:, ::-1]) != side, row["id"]
    # Measured: 50 / 50 (the burnt-in "RMLO"-style labels do not mislead it).
    assert not wrong, wrong


@pytest.mark.parametrize("name", sorted(MIAS_BY_EYE))
def test_mias_chest_wall_side_read_by_eye(mias_dir, name):
    pixels = load(mias_dir / f"{name}.png")
    assert chest_wall_side(pixels) == MIAS_BY_EYE[name]
    assert chest_wall_side(pixels[:, ::-1]) != MIAS_BY_EYE[name]


def test_mias_robust_to_added_label_and_edge_strip(mias_dir):
    pixels = load(mias_dir / "mdb001.png").copy()  # chest wall on the right
    # A bright burnt-in label block and a white scanner strip on the nipple side.
    pixels[100:180, 40:160] = 255
    pixels[:, :60] = 255
    assert chest_wall_side(pixels) == "right"
