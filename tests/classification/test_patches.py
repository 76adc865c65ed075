"""Windows, grid, sampling, heatmap and the image score."""

from __future__ import annotations

import numpy as np

from mammoview.classification.patches import (
    crop_windows,
    dense_tissue_weights,
    grid_centres,
    paint_heatmap,
    random_tissue_centres,
    topk_mean,
)
from mammoview.classification.preprocess import unclassifiable_reason


def test_windows_are_centred_and_zero_padded_at_the_edge():
    img = np.arange(100, dtype=np.float32).reshape(10, 10)
    w = crop_windows(img, np.array([[5, 5], [0, 9]]), 4)
    assert np.array_equal(w[0], img[3:7, 3:7])
    assert np.array_equal(w[1][:2], np.zeros((2, 4))) and np.array_equal(w[1][2:, :3], img[0:2, 7:10])
    assert np.array_equal(w[1][:, 3], np.zeros(4))


def test_grid_keeps_only_centres_inside_the_breast():
    breast = np.zeros((64, 64), bool)
    breast[:, :20] = True
    c = grid_centres(breast, 8)
    assert len(c) == 8 * 2 and breast[c[:, 0], c[:, 1]].all()


def test_dense_sampling_prefers_bright_tissue_and_avoid_is_respected():
    work = np.full((50, 50), 0.3, np.float32)
    work[:, 25:] = 0.9
    breast = np.ones_like(work, bool)
    rng = np.random.default_rng(0)
    c = random_tissue_centres(breast, 200, rng, weights=dense_tissue_weights(work, breast))
    assert (c[:, 1] >= 25).mean() > 0.9
    avoid = np.zeros_like(breast)
    avoid[:25] = True
    c2 = random_tissue_centres(breast, 100, rng, avoid=avoid)
    assert (c2[:, 0] >= 25).all()


def test_heatmap_and_topk():
    heat = paint_heatmap(np.array([[2, 2], [2, 4]]), np.array([0.2, 0.8]), (5, 9), 4)
    assert heat[2, 0] == np.float32(0.2) and heat[2, 5] == np.float32(0.8)
    assert heat[2, 3] == np.float32(0.5)  # covered by both windows: their mean
    assert heat[2, 8] == 0  # covered by none
    assert topk_mean([0.1, 0.9, 0.5, 0.7], 2) == 0.8 and topk_mean([0.3], 5) == 0.3


def test_unclassifiable_reasons():
    assert "too small" in unclassifiable_reason(np.ones((100, 300)))
    assert "blank" in unclassifiable_reason(np.zeros((300, 300)))
    assert unclassifiable_reason(np.random.default_rng(0).random((300, 300))) is None
    assert unclassifiable_reason(np.random.default_rng(0).random((300, 300)), np.zeros((30, 30), bool)) == "no breast found"
