"""Metrics of a binary classifier, in plain NumPy (no scikit-learn at run time).

``auc`` (ROC area, ties counted half), ``bootstrap_ci`` (percentile interval, resampling
whole groups such as patients), ``confusion`` and the rates built on it (sensitivity,
specificity, precision, F1, ``mcc``), ``calibration`` (reliability bins, Brier score,
expected calibration error), ``youden_threshold`` and ``binary_report`` that puts them
together for a model card.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties 1/2.

    Computed from the ranks (Mann-Whitney U), O(n log n). NaN when one class is absent.

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length ({y.size} vs {s.size})")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, np.float64)
    sorted_s = s[order]
    # Average ranks over ties.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], s.size]
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = 0.5 * (a + b - 1) + 1
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def bootstrap_ci(
    labels: Sequence[int],
    scores: Sequence[float],
    metric: Callable[[np.ndarray, np.ndarray], float] = auc,
    *,
    groups: Sequence[Any] | None = None,
    n: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(labels, scores)``.

    Parameters
    ----------
    groups : optional group of each sample (e.g. the patient). When given, whole groups
        are resampled with replacement (both images of a patient together), which is the
        honest interval when samples of a group are correlated.
    n : resamples; those where the metric is NaN (one class absent) are dropped.
    level : coverage, e.g. 0.95.

    Returns
    -------
    (low, high); (nan, nan) when no resample gives a number.
    """
    y = np.asarray(labels).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    rng = np.random.default_rng(seed)
    if groups is None:
        members = [np.array([i]) for i in range(y.size)]
    else:
        g = np.asarray(groups, dtype=object).ravel()
        keys = list(dict.fromkeys(g.tolist()))
        members = [np.flatnonzero(g == k) for k in keys]
    if not members:
        return float("nan"), float("nan")
    values = []
    for _ in range(int(n)):
        pick = rng.integers(0, len(members), len(members))
        idx = np.concatenate([members[i] for i in pick])
        v = metric(y[idx], s[idx])
        if not math.isnan(v):
            values.append(v)
    if not values:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


def confusion(labels: Sequence[int], predicted: Sequence[int]) -> dict[str, int]:
    """{"tp", "fp", "tn", "fn"} of binary labels and predictions (1 = positive)."""
    y = np.asarray(labels).astype(bool).ravel()
    p = np.asarray(predicted).astype(bool).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels and predictions differ in length ({y.size} vs {p.size})")
    return {"tp": int((y & p).sum()), "fp": int((~y & p).sum()),
            "tn": int((~y & ~p).sum()), "fn": int((y & ~p).sum())}


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def rates(cm: dict[str, int]) -> dict[str, float]:
    """Sensitivity, specificity, precision, F1, accuracy and MCC of a confusion matrix."""
    tp, fp, tn, fn = cm["tp"], cm["fp"], cm["tn"], cm["fn"]
    sens, prec = _ratio(tp, tp + fn), _ratio(tp, tp + fp)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return {"sensitivity": sens, "specificity": _ratio(tn, tn + fp), "precision": prec, "f1": f1,
            "accuracy": _ratio(tp + tn, tp + tn + fp + fn), "mcc": mcc(cm)}


def mcc(cm: dict[str, int]) -> float:
    """Matthews correlation coefficient; 0 when a row or column of the matrix is empty
    (the usual convention: the classifier carries no information there).

    Examples
    --------
    >>> round(mcc({"tp": 6, "fp": 1, "tn": 3, "fn": 2}), 4)
    0.4781
    """
    tp, fp, tn, fn = (float(cm[k]) for k in ("tp", "fp", "tn", "fn"))
    den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    return float((tp * tn - fp * fn) / math.sqrt(den)) if den else 0.0


def calibration(labels: Sequence[int], probs: Sequence[float], *, bins: int = 5) -> dict[str, Any]:
    """Reliability bins (equal width over [0, 1]), Brier score and expected calibration error.

    Returns
    -------
    {"brier": float, "ece": float, "bins": [{"low", "high", "count", "mean_predicted",
    "observed_rate"}, ...]} (empty bins have count 0 and None for the means).
    """
    y = np.asarray(labels, dtype=np.float64).ravel()
    p = np.asarray(probs, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels and probabilities differ in length ({y.size} vs {p.size})")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    out_bins, ece = [], 0.0
    for b in range(bins):
        sel = which == b
        count = int(sel.sum())
        mp = float(p[sel].mean()) if count else None
        obs = float(y[sel].mean()) if count else None
        if count:
            ece += count / y.size * abs(mp - obs)
        out_bins.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": count,
                         "mean_predicted": mp, "observed_rate": obs})
    brier = float(np.mean((p - y) ** 2)) if y.size else float("nan")
    return {"brier": brier, "ece": float(ece) if y.size else float("nan"), "bins": out_bins}


def youden_threshold(labels: Sequence[int], scores: Sequence[float]) -> float:
    """The score threshold (predict positive when score >= t) maximising sensitivity +
    specificity - 1; midway between neighbouring scores. 0.5 when a class is absent."""
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.all() or not y.any():
        return 0.5
    values = np.unique(s)
    cands = np.r_[values[0] - 1e-6, (values[:-1] + values[1:]) / 2, values[-1] + 1e-6]
    best_t, best_j = 0.5, -np.inf
    for t in cands:
        pred = s >= t
        j = pred[y].mean() + (~pred[~y]).mean() - 1
        if j > best_j + 1e-12:
            best_t, best_j = float(t), j
    return best_t


def held_out_thresholds(labels: Sequence[int], scores: Sequence[float], groups: Sequence[Any], *,
                        for_groups: Sequence[Any] | None = None) -> dict[Any, float]:
    """{group: the Youden threshold chosen on the samples of every *other* group}, for each
    group in ``for_groups`` (default: the groups of the samples; a group with no sample gets
    the threshold of all of them).

    Examples
    --------
    >>> held_out_thresholds([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.6], ["a", "a", "b", "b"])
    {'a': 0.4, 'b': 0.5}
    """
    y = np.asarray(labels).astype(int).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    groups = list(groups)
    out = {}
    for group in dict.fromkeys(groups if for_groups is None else for_groups):
        others = np.fromiter((g != group for g in groups), bool, len(groups))
        out[group] = youden_threshold(y[others], s[others])
    return out


def held_out_calls(labels: Sequence[int], scores: Sequence[float], groups: Sequence[Any]) -> np.ndarray:
    """Leave-one-group-out calls: each sample is called positive when its score reaches the
    Youden threshold chosen on the *other* groups (patients), so no sample's own label sets
    its call. The rates of these calls are an honest estimate of how a threshold chosen on
    such a set performs on a new patient, where the rates at the threshold chosen on all of
    them would be optimistic.

    Examples
    --------
    >>> held_out_calls([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], ["a", "b", "c", "d"]).tolist()
    [False, False, True, True]
    """
    thresholds = held_out_thresholds(labels, scores, groups)
    s = np.asarray(scores, dtype=np.float64).ravel()
    return s >= np.array([thresholds[g] for g in groups], dtype=np.float64)


def binary_report(
    labels: Sequence[int],
    scores: Sequence[float],
    *,
    threshold: float,
    groups: Sequence[Any] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    calls: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Everything a model card reports about one binary task on one set of samples.

    ``calls``: the positive/negative calls the confusion matrix and its rates count (e.g.
    :func:`held_out_calls`); default ``scores >= threshold``.
    """
    y = np.asarray(labels).astype(int).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    cm = confusion(y, s >= threshold if calls is None else np.asarray(calls, bool).ravel())
    low, high = bootstrap_ci(y, s, auc, groups=groups, n=n_boot, seed=seed)
    return {
        "n": int(y.size), "positives": int(y.sum()), "negatives": int((1 - y).sum()),
        "auc": auc(y, s),
        "auc_ci95": [low, high],
        "auc_ci_method": ("percentile bootstrap, patients resampled (both images of a patient together), "
                          f"{n_boot} resamples" if groups is not None else
                          f"percentile bootstrap, samples resampled, {n_boot} resamples"),
        "threshold": float(threshold),
        "confusion": cm,
        **rates(cm),
        "calibration": calibration(y, np.clip(s, 0, 1)),
    }
