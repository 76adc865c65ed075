"""The cascade: labels, suspicion mapping, aggregation, refusals, loading, explanations."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from mammoview.classification.cascade import (
    Cascade,
    ImageResult,
    StageModel,
    aggregate,
    aggregate_study,
    decide_label,
    suspicion_score,
)
from mammoview.classification.preprocess import Preprocessing
from mammoview.nets.store import ModelLoadError

from .conftest import BrightnessNet, phantom_breast, save_stage


def _fake_cascade(t1=0.5, t2=0.5, mal_offset=0.0):
    prep1 = Preprocessing(scale=0.5, patch=32, stride=16, threshold=t1)
    prep2 = Preprocessing(scale=0.5, patch=32, stride=16, threshold=t2)
    s1 = StageModel(BrightnessNet(gain=20.0, offset=0.5).eval(), None, prep1, path=None)
    s2 = StageModel(BrightnessNet(gain=20.0, offset=mal_offset).eval(), None, prep2, path=None)
    for s in (s1, s2):
        s.card = type("Card", (), {"version": "fake", "classes": ["a", "b"]})()
    return Cascade(s1, s2)


def test_labels_follow_the_two_thresholds():
    assert decide_label(0.2, 0.99, 0.5, 0.5) == "normal"  # stage 2 ignored for a normal call
    assert decide_label(0.7, 0.2, 0.5, 0.5) == "benign"
    assert decide_label(0.7, 0.8, 0.5, 0.5) == "malignant"
    assert decide_label(0.5, 0.5, 0.5, 0.5) == "malignant"  # thresholds are inclusive


def test_suspicion_is_monotonic_in_both_probabilities_and_banded_by_label():
    grid = np.linspace(0, 1, 41)
    for t1, t2 in [(0.5, 0.5), (0.3, 0.7), (0.8, 0.2)]:
        table = np.array([[suspicion_score(a, m, t1, t2) for m in grid] for a in grid])
        assert table.min() >= 1 and table.max() <= 10
        assert (np.diff(table, axis=0) >= 0).all() and (np.diff(table, axis=1) >= 0).all()
        for a, m in itertools.product(grid, grid):
            band = {"normal": (1, 3), "benign": (4, 6), "malignant": (7, 10)}[decide_label(a, m, t1, t2)]
            assert band[0] <= suspicion_score(a, m, t1, t2) <= band[1]
    assert suspicion_score(0.0, 0.0) == 1 and suspicion_score(1.0, 1.0) == 10


def test_bright_lesion_raises_p_abnormal_and_its_heatmap_peaks_on_it():
    cascade = _fake_cascade()
    with_lesion = cascade.classify(phantom_breast())
    without = cascade.classify(phantom_breast(lesion=False))
    assert with_lesion.classified and without.classified
    assert with_lesion.p_abnormal > without.p_abnormal
    assert with_lesion.label != "normal" and without.label == "normal"
    heat = with_lesion.heatmap
    assert heat.shape == (256, 256) and with_lesion.heatmap_scale == 0.5
    r, c = np.unravel_index(np.argmax(heat), heat.shape)
    assert abs(r - 128) < 24 and abs(c - 0.2 * 256) < 24  # the blob at (0.5, 0.2) of the image


def test_stage2_decides_benign_or_malignant_only_for_abnormal_calls():
    benign = _fake_cascade(mal_offset=2.0).classify(phantom_breast())  # stage 2 says benign everywhere
    malignant = _fake_cascade(mal_offset=-2.0).classify(phantom_breast())
    assert benign.label == "benign" and malignant.label == "malignant"
    normal = _fake_cascade(mal_offset=-2.0).classify(phantom_breast(lesion=False))
    assert normal.p_malignant > 0.9 and normal.label == "normal"


def test_progress_events_end_with_the_result():
    events = list(_fake_cascade().classify_image(phantom_breast()))
    assert events[-1].done == events[-1].total and isinstance(events[-1].partial, ImageResult)
    assert [e.done for e in events] == sorted(e.done for e in events)


@pytest.mark.parametrize("image, reason", [
    (np.full((200, 900), 0.5, np.float32), "too small"),
    (np.full((600, 600), 7, np.uint16), "blank image"),
    (np.pad(np.ones((6, 6), np.float32), ((297, 297), (0, 594))), "no breast found"),
])
def test_images_it_cannot_handle_get_a_reason_not_a_number(image, reason):
    result = _fake_cascade().classify(image)
    assert not result.classified and reason in result.reason
    assert result.p_abnormal is None and result.label is None and result.suspicion is None
    assert result.describe().startswith("not classified: ")


def test_cancel_stops_between_batches():
    from mammoview.core.progress import CancelToken, Cancelled

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        list(_fake_cascade().classify_image(phantom_breast(), cancel=token))


def _r(p_abn, p_mal, t=0.5):
    return ImageResult(p_abnormal=p_abn, p_malignant=p_mal, label=decide_label(p_abn, p_mal, t, t),
                       suspicion=suspicion_score(p_abn, p_mal, t, t))


def test_aggregation_takes_the_most_suspicious_image_per_breast_then_per_study():
    study = aggregate_study([
        ("R", _r(0.2, 0.9)), ("R", _r(0.7, 0.3)),
        ("L", _r(0.9, 0.8)), ("L", ImageResult(reason="blank image (constant grey)")),
    ])
    assert study.breasts["R"].label == "benign" and study.breasts["R"].p_abnormal == 0.7
    assert study.breasts["L"].label == "malignant"
    assert study.study.label == "malignant" and study.study.suspicion == study.breasts["L"].suspicion
    only_bad = aggregate([ImageResult(reason="no breast found")])
    assert not only_bad.classified and "no breast" in only_bad.reason


def test_load_uses_the_active_models_and_reports_versions(tiny_models):
    cascade = Cascade.load(device="cpu", folders=[tiny_models])
    cards = {s: json.loads((tiny_models / f"classifier-stage{s}.json").read_text()) for s in (1, 2)}
    assert cascade.versions == {f"classifier-stage{s}": cards[s]["version"] for s in (1, 2)}
    result = cascade.classify(phantom_breast(600))
    assert result.classified and 0 <= result.p_abnormal <= 1 and 0 <= result.p_malignant <= 1
    assert result.label in ("normal", "benign", "malignant") and 1 <= result.suspicion <= 10
    assert result.versions == cascade.versions


def test_load_refuses_missing_and_corrupt_models(tiny_models, tmp_path):
    with pytest.raises(ModelLoadError, match="no classifier-stage1 model"):
        Cascade.load(device="cpu", folders=[tmp_path])
    save_stage(tmp_path, 1)
    save_stage(tmp_path, 2)
    weights = tmp_path / "classifier-stage2.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="classifier-stage2"):
        Cascade.load(device="cpu", folders=[tmp_path])


def test_predict_fn_and_gradcam_target_for_the_explanations(tiny_models):
    cascade = Cascade.load(device="cpu", folders=[tiny_models])
    predict = cascade.predict_fn(1)
    probs = predict(np.random.default_rng(0).random((5, 32, 32), dtype=np.float32))
    assert probs.shape == (5, 2) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    module, layer = cascade.gradcam_target(2)
    assert layer in dict(module.named_modules())
    x = cascade.prepare_input(2, np.zeros((1, 32, 32), np.float32))
    assert tuple(module(x).shape) == (1, 2)
