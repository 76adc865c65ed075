"""Metrics against values computed by hand (and by the textbook definitions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mammoview.classification import scoring as S


def test_auc_known_values_and_ties():
    assert S.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert S.auc([0, 1], [0.2, 0.9]) == 1.0
    assert S.auc([0, 1], [0.9, 0.2]) == 0.0
    # One tie between a positive and a negative counts one half: (1 + 0.5) / 2.
    assert S.auc([0, 0, 1], [0.5, 0.1, 0.5]) == pytest.approx(0.75)
    assert math.isnan(S.auc([1, 1], [0.3, 0.4]))


def test_auc_matches_the_pairwise_definition_on_random_data():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.random(60), 1)  # many ties
    pos, neg = s[y == 1], s[y == 0]
    pairwise = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert S.auc(y, s) == pytest.approx(pairwise)


def test_confusion_rates_and_mcc():
    y = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    p = [1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0]
    cm = S.confusion(y, p)
    assert cm == {"tp": 6, "fp": 1, "tn": 3, "fn": 2}
    r = S.rates(cm)
    assert r["sensitivity"] == pytest.approx(0.75)
    assert r["specificity"] == pytest.approx(0.75)
    assert r["precision"] == pytest.approx(6 / 7)
    assert r["f1"] == pytest.approx(12 / 15)
    assert r["mcc"] == pytest.approx(16 / math.sqrt(7 * 8 * 4 * 5))
    assert S.mcc({"tp": 5, "fp": 0, "tn": 5, "fn": 0}) == 1.0
    assert S.mcc({"tp": 0, "fp": 0, "tn": 5, "fn": 5}) == 0.0  # no positive call: defined as 0


def test_calibration_brier_and_bins():
    c = S.calibration([0, 1, 1, 0], [0.1, 0.9, 0.7, 0.3], bins=2)
    assert c["brier"] == pytest.approx((0.01 + 0.01 + 0.09 + 0.09) / 4)
    low, high = c["bins"]
    assert low["count"] == 2 and low["observed_rate"] == 0.0 and low["mean_predicted"] == pytest.approx(0.2)
    assert high["count"] == 2 and high["observed_rate"] == 1.0 and high["mean_predicted"] == pytest.approx(0.8)
    assert c["ece"] == pytest.approx(0.2)


def test_bootstrap_ci_brackets_the_estimate_and_groups_resample_together():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(40), np.ones(40)].astype(int)
    s = np.r_[rng.normal(0, 1, 40), rng.normal(1.5, 1, 40)]
    lo, hi = S.bootstrap_ci(y, s, n=400, seed=1)
    assert lo < S.auc(y, s) < hi and 0 <= lo and hi <= 1
    # Duplicated samples that share a group: grouped resampling gives a wider interval
    # than pretending the copies are independent.
    y2, s2 = np.repeat(y, 4), np.repeat(s, 4)
    groups = np.repeat(np.arange(80), 4)
    naive = S.bootstrap_ci(y2, s2, n=400, seed=1)
    grouped = S.bootstrap_ci(y2, s2, groups=groups, n=400, seed=1)
    assert grouped[1] - grouped[0] > 1.5 * (naive[1] - naive[0])


def test_youden_threshold_separates_separable_scores():
    t = S.youden_threshold([0, 0, 1, 1], [0.1, 0.2, 0.6, 0.7])
    assert 0.2 < t <= 0.6
    report = S.binary_report([0, 0, 1, 1], [0.1, 0.2, 0.6, 0.7], threshold=t, n_boot=50)
    assert report["confusion"] == {"tp": 2, "fp": 0, "tn": 2, "fn": 0}
    assert report["auc"] == 1.0 and {"auc_ci95", "mcc", "f1", "calibration"} <= set(report)


def test_held_out_calls_never_use_a_patients_own_label():
    # Patient "c" is a positive scoring among the negatives, patient "b" a negative patient
    # scoring as high as it. On all images Youden's threshold (0.31) is set knowing both:
    # one false positive, nothing missed; left out, each is called at the threshold the
    # others give, and the rates get worse, as they would on a new patient.
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    s = [0.10, 0.20, 0.30, 0.35, 0.32, 0.80, 0.85, 0.90]
    g = ["a", "a", "b", "b", "c", "d", "d", "e"]
    calls = S.held_out_calls(y, s, g)
    # Without b, 0.26 separates the rest perfectly, so b's two images are called positive;
    # without c, nothing pulls the threshold below 0.35, so c is missed.
    assert calls.tolist() == [False, False, True, True, False, True, True, True]
    t_all = S.youden_threshold(y, s)
    assert S.confusion(y, np.asarray(s) >= t_all) == {"tp": 4, "fp": 1, "tn": 3, "fn": 0}
    report = S.binary_report(y, s, threshold=t_all, groups=g, n_boot=50, calls=calls)
    assert report["confusion"] == {"tp": 3, "fp": 2, "tn": 2, "fn": 1}
    assert report["specificity"] == 0.5 and report["threshold"] == t_all
