"""LIME on breast superpixels: known answers, reproducibility, progress, cancellation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mammoview.core.progress import Cancelled, CancelToken
from mammoview.explain import LimeResult, explain_lime, iter_lime
from mammoview.io.raster import read_raster
from mammoview.segmentation import segment_breast

# The toy mammogram: a textured half-ellipse against the left edge, with two bright blobs.
SIZE = 128
EVIDENCE = (slice(30, 46), slice(20, 36))  # the model's positive evidence
COUNTER = (slice(84, 100), slice(40, 56))  # evidence against the target class


def toy_image() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    rr, cc = np.mgrid[:SIZE, :SIZE]
    breast = ((rr - SIZE / 2) / (SIZE * 0.45)) ** 2 + (cc / (SIZE * 0.6)) ** 2 <= 1.0
    img = np.where(breast, 0.45 + 0.05 * rng.standard_normal((SIZE, SIZE)), 0.02)
    img[EVIDENCE] = 0.9
    img[COUNTER] = 0.85
    return np.clip(img, 0, 1).astype(np.float32), breast


def region_model(batch: np.ndarray) -> np.ndarray:
    """P(class 1) rises with the brightness of EVIDENCE and falls with that of COUNTER."""
    logit = 12.0 * (batch[:, EVIDENCE[0], EVIDENCE[1]].mean(axis=(1, 2)) - batch[:, COUNTER[0], COUNTER[1]].mean(axis=(1, 2)))
    p = 1.0 / (1.0 + np.exp(-logit))
    return np.stack([1.0 - p, p], axis=1)


class Recorder:
    """A predict function that remembers every batch it was given."""

    def __init__(self, model=region_model):
        self.model = model
        self.batches: list[np.ndarray] = []

    def __call__(self, batch):
        self.batches.append(batch.copy())
        return self.model(batch)

    def all_images(self) -> np.ndarray:
        return np.concatenate(self.batches)


def in_box(result: LimeResult, segment: int, box) -> bool:
    return bool(result.region([segment])[box].any())


def test_top_superpixels_sit_on_the_evidence():
    img, breast = toy_image()
    res = explain_lime(img, region_model, target=1, num_samples=300, batch_size=50, breast_mask=breast, n_segments=40)
    assert in_box(res, res.top_positive[0], EVIDENCE)
    assert in_box(res, res.top_negative[0], COUNTER)
    # Superpixels touching neither region have next to no weight.
    touching = {s for s in range(1, res.weights.size + 1) if in_box(res, s, EVIDENCE) or in_box(res, s, COUNTER)}
    others = [abs(res.weights[s - 1]) for s in range(1, res.weights.size + 1) if s not in touching]
    assert max(others) < 0.1 * abs(res.weights[res.top_positive[0] - 1])
    # The surrogate is near-linear here and reproduces the model on the image itself.
    assert res.score > 0.8
    assert res.prediction == pytest.approx(region_model(img[None])[0, 1])
    assert abs(res.local_prediction - res.prediction) < 0.1
    # Explaining the other class flips the signs.
    other = explain_lime(img, region_model, target=0, num_samples=300, batch_size=50, breast_mask=breast, n_segments=40)
    assert other.top_positive[0] == res.top_negative[0]
    assert other.top_negative[0] == res.top_positive[0]


def test_bernoulli_sampling_finds_the_same_evidence():
    img, breast = toy_image()
    res = explain_lime(img, region_model, target=1, num_samples=300, breast_mask=breast, n_segments=40, sampling="bernoulli")
    assert in_box(res, res.top_positive[0], EVIDENCE)
    assert in_box(res, res.top_negative[0], COUNTER)


def test_same_seed_same_weights_other_seed_other_samples():
    img, breast = toy_image()
    runs = []
    for seed in (3, 3, 4):
        rec = Recorder()
        res = explain_lime(img, rec, target=1, num_samples=96, batch_size=32, seed=seed, breast_mask=breast, n_segments=30)
        runs.append((res, rec.all_images()))
    (a, imgs_a), (b, imgs_b), (c, imgs_c) = runs
    assert np.array_equal(a.weights, b.weights) and a.intercept == b.intercept
    assert np.array_equal(imgs_a, imgs_b)
    assert not np.array_equal(imgs_a[1:], imgs_c[1:])
    assert not np.array_equal(a.weights, c.weights)
    # The first sample is the unperturbed image, whatever the seed.
    assert np.array_equal(imgs_a[0], img) and np.array_equal(imgs_c[0], img)


def test_batch_size_changes_neither_samples_nor_result():
    img, breast = toy_image()
    results = {}
    for bs in (7, 64):
        rec = Recorder()
        results[bs] = (explain_lime(img, rec, target=1, num_samples=150, batch_size=bs, breast_mask=breast), rec)
        assert max(len(b) for b in rec.batches) == bs
    (r7, rec7), (r64, rec64) = results[7], results[64]
    assert np.array_equal(rec7.all_images(), rec64.all_images())
    np.testing.assert_allclose(r7.weights, r64.weights, rtol=1e-9, atol=1e-12)
    assert r7.top_positive == r64.top_positive and r7.samples == r64.samples == 150


def test_progress_events_refine_towards_the_final_result():
    img, breast = toy_image()
    events = list(iter_lime(img, region_model, target=1, num_samples=400, batch_size=40, breast_mask=breast, n_segments=40))
    assert len(events) == 10
    assert [e.done for e in events] == list(range(40, 401, 40))
    assert all(e.total == 400 and isinstance(e.partial, LimeResult) for e in events)
    assert [e.partial.samples for e in events] == [e.done for e in events]
    final = events[-1].partial
    again = explain_lime(img, region_model, target=1, num_samples=400, batch_size=40, breast_mask=breast, n_segments=40)
    assert np.array_equal(final.weights, again.weights)
    # Partial weights approach the final ones, and the top superpixel settles early.
    gaps = [np.linalg.norm(e.partial.weights - final.weights) for e in events]
    assert gaps[-2] < 0.5 * gaps[0]
    assert all(e.partial.top_positive[0] == final.top_positive[0] for e in events[len(events) // 2 :])
    assert "samples" in events[0].message


def test_cancel_stops_before_the_next_batch():
    img, breast = toy_image()
    token = CancelToken()
    rec = Recorder()
    gen = iter_lime(img, rec, target=1, num_samples=200, batch_size=20, breast_mask=breast, cancel=token)
    first = next(gen)
    assert first.done == 20
    token.cancel()
    with pytest.raises(Cancelled):
        next(gen)
    assert len(rec.batches) == 1


def test_inputs_are_not_modified_and_predict_gets_unit_floats():
    img, breast = toy_image()
    img_u8 = (img * 255).astype(np.uint8)
    before, mask_before = img_u8.copy(), breast.copy()
    rec = Recorder()
    explain_lime(img_u8, rec, target=1, num_samples=40, batch_size=20, breast_mask=breast)
    assert np.array_equal(img_u8, before) and np.array_equal(breast, mask_before)
    batch = rec.batches[0]
    assert batch.dtype == np.float32 and batch.shape == (20, SIZE, SIZE)
    assert batch.min() >= 0.0 and batch.max() <= 1.0
    # Outside the breast every sample shows the image itself: the background is inert.
    assert np.all(rec.all_images()[:, ~breast] == rec.batches[0][0][~breast])


def test_bad_predict_output_is_reported():
    img, breast = toy_image()
    with pytest.raises(ValueError, match="shape"):
        explain_lime(img, lambda b: np.ones(len(b)), target=0, num_samples=10, breast_mask=breast)
    with pytest.raises(ValueError, match="out of range"):
        explain_lime(img, region_model, target=2, num_samples=10, breast_mask=breast)
    with pytest.raises(ValueError, match="empty"):
        explain_lime(img, region_model, target=1, num_samples=10, breast_mask=np.zeros_like(breast))


def test_superpixels_stay_inside_the_breast_on_a_mias_image(mias_dir):
    image = read_raster(mias_dir / "mdb028.png").pixels
    breast = segment_breast(image)
    # A model that looks at one patch of the breast: the MIAS finding of mdb028 (x 338, y 314).
    row, col = 1024 - 314, 338
    box = (slice(row - 30, row + 30), slice(col - 30, col + 30))

    def predict(batch):
        p = batch[:, box[0], box[1]].mean(axis=(1, 2))
        return np.stack([1 - p, p], axis=1)

    res = explain_lime(image, predict, target=1, num_samples=48, batch_size=24)
    assert res.segments.shape == image.shape
    assert np.array_equal(res.segments > 0, breast)  # inside the breast only, and all of it
    assert 40 <= res.weights.size <= 90
    areas = np.bincount(res.segments.ravel())[1:]
    assert areas.min() > 0
    assert in_box(res, res.top_positive[0], box)
    assert math.isfinite(res.score)


def test_mean_hiding_shows_each_switched_off_superpixel_as_its_mean():
    img, breast = toy_image()
    rec = Recorder()
    res = explain_lime(img, rec, target=1, num_samples=200, breast_mask=breast, n_segments=40, hide="mean", sampling="bernoulli")
    assert in_box(res, res.top_positive[0], EVIDENCE)
    sample = rec.all_images()[5]
    for seg in range(1, res.weights.size + 1):
        pixels = sample[res.segments == seg]
        original = img[res.segments == seg]
        if not np.array_equal(pixels, original):  # switched off: flat at the segment's mean
            assert np.allclose(pixels, original.mean(), atol=1e-6)
    with pytest.raises(ValueError, match="hide"):
        explain_lime(img, region_model, target=1, num_samples=10, breast_mask=breast, hide="black")
