"""Bilateral comparison: pairing, the score's maths, the fallback, and the cascade's use of it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mammoview.classification import bilateral as bl
from mammoview.core.image import ImageRef


def test_mias_names_pair_odd_right_with_the_next_even_left():
    keys = {n: bl.mias_pair_key(f"/data/{n}.pgm") for n in ("mdb001", "mdb002", "mdb005", "mdb006", "mdb009")}
    assert keys["mdb001"] == bl.PairKey("mias-patient-1", "R", "MLO")
    assert keys["mdb002"].laterality == "L" and keys["mdb005"].study == keys["mdb006"].study == "mias-patient-3"
    partners = bl.pair_images(keys)
    assert partners == {"mdb001": "mdb002", "mdb002": "mdb001", "mdb005": "mdb006", "mdb006": "mdb005",
                        "mdb009": None}  # mdb010 absent: no partner
    assert bl.mias_pair_key("scan.png") is None


def _ref(study, side, view, name):
    return ImageRef(path=f"/d/{name}.dcm", kind="dicom", uid=name, study_uid=study, laterality=side, view=view)


def test_dicom_pairs_need_the_same_study_and_view_and_opposite_sides():
    refs = [_ref("S1", "R", "CC", "rcc"), _ref("S1", "L", "CC", "lcc"), _ref("S1", "R", "MLO", "rmlo"),
            _ref("S1", "L", "mlo", "lmlo"), _ref("S2", "L", "CC", "other-study"),
            _ref("S1", None, "CC", "no-side"), _ref("S3", "R", "CC", "a"), _ref("S3", "R", "CC", "b"),
            _ref("S3", "L", "CC", "c")]
    partners = bl.pair_images({r.uid: bl.ref_pair_key(r) for r in refs})
    assert partners["rcc"] == "lcc" and partners["lcc"] == "rcc"
    assert partners["rmlo"] == "lmlo" and partners["lmlo"] == "rmlo"  # view compared case-insensitively
    assert partners["other-study"] is None and partners["no-side"] is None
    # Two right CCs: which one is the partner of the left CC is unknown, so nobody is paired.
    assert partners["a"] is None and partners["b"] is None and partners["c"] is None


def test_bilateral_value_is_the_difference_mapped_onto_0_1():
    assert bl.bilateral_value(0.9, 0.3) == pytest.approx(0.8)
    assert bl.bilateral_value(0.4, 0.4) == pytest.approx(0.5)
    assert bl.bilateral_value(1.0, 0.0) == 1.0 and bl.bilateral_value(0.0, 1.0) == 0.0
    assert bl.bilateral_value(0.7, 0.9, 0.0) == pytest.approx(0.7)  # weight 0: the plain score
    assert bl.bilateral_value(0.8, 0.4, 0.5) == pytest.approx((0.8 - 0.2 + 0.5) / 1.5)
    with pytest.raises(ValueError):
        bl.bilateral_value(0.5, 0.5, -1)
    # Rank order follows own - other: a symmetric dense pair scores below an asymmetric one.
    assert bl.bilateral_value(0.95, 0.9) < bl.bilateral_value(0.7, 0.2)


def test_bilateral_from_windows_uses_the_top_k_of_each_image():
    own = np.array([0.1, 0.9, 0.8, 0.7, 0.2])
    other = np.array([0.5, 0.3, 0.1, 0.2])
    expected = (0.8 - (0.5 + 0.3 + 0.2) / 3 + 1) / 2
    assert bl.bilateral_from_windows(own, other, 3) == pytest.approx(expected)
    assert math.isnan(bl.bilateral_from_windows(own, np.array([]), 3))


def test_missing_or_unscored_partner_falls_back_to_the_plain_score_and_says_so():
    keys = {i: bl.mias_pair_key(i) for i in ("mdb001", "mdb002", "mdb003", "mdb004", "mdb007")}
    out = bl.bilateral_scores({"mdb001": 0.9, "mdb002": 0.3, "mdb003": 0.6, "mdb004": None, "mdb007": 0.4}, keys)
    assert out["mdb001"].paired and out["mdb001"].partner == "mdb002" and out["mdb001"].score == pytest.approx(0.8)
    assert out["mdb002"].score == pytest.approx(0.2)
    assert not out["mdb003"].paired and out["mdb003"].score == 0.6 and out["mdb003"].note == bl.NO_PARTNER
    assert out["mdb004"].score is None
    assert out["mdb007"].score == 0.4 and out["mdb007"].note == bl.NO_PARTNER


def test_weight_is_chosen_by_auc_with_ties_to_the_smaller_weight():
    # Positives are asymmetric, negatives symmetric and dense: subtracting helps.
    labels = [1, 1, 0, 0]
    own, other = [0.8, 0.6, 0.9, 0.7], [0.2, 0.1, 0.9, 0.7]
    w, table = bl.choose_weight(labels, own, other)
    assert table[0.0] == 0.25 and table[0.25] == 0.75 and table[1.0] == 1.0
    assert w == 0.5  # the smallest weight that separates them
    w, _ = bl.choose_weight([1, 0], [0.9, 0.1], [0.5, 0.5])
    assert w == 0.0

