"""LIME explanations of a classifier's prediction on a mammogram, refined progressively.

Local Interpretable Model-agnostic Explanations (Ribeiro, Singh & Guestrin, "Why should I
trust you?", KDD 2016): the image is cut into superpixels of the breast, the model is
asked about many copies with random subsets of superpixels switched off, and a weighted
linear model of "which superpixels were on" -> "probability of the target class" is fitted
around the unperturbed image. Its coefficients are the explanation: a positive weight means
the superpixel pushes the prediction towards the target class, a negative one away from it.

Written from the paper, not from the ``lime`` package (bench/bench_lime.py compares the two).

Decisions
---------
* Sampling (paper, section 3.3): each sample switches on a number of superpixels drawn
  uniformly from 1..K, then which ones uniformly; the first sample is the image itself.
  ``sampling="bernoulli"`` instead switches each superpixel on with probability 1/2, as the
  ``lime`` package's image explainer does.
* Proximity (paper, section 3.2): ``pi(z) = exp(-D(x, z)^2 / sigma^2)`` with ``D`` the
  cosine distance between the binary vectors of the sample and of the image, and
  ``sigma = 0.25`` (the ``lime`` package's image default). The cosine distance does not
  grow with the number of superpixels, so one width suits any K.
* Surrogate: ridge regression (alpha 1, intercept not penalised) weighted by ``pi``, refitted
  on all samples so far after every batch (K is ~64: a K x K solve, well under a
  millisecond), so every partial result is the plain fit on the samples it has seen. The
  samples are drawn up front from the seed, so the batch size changes neither the samples
  nor the result.
* Neutral value: a switched-off superpixel shows the breast blurred inside its own outline
  (a Gaussian of about two superpixels' width), not black and not the segment's mean.
  Black is air in a mammogram: a black hole in the breast is nothing the model has seen and
  its sharp edges are themselves strong features. The segment's mean keeps a mass's excess
  density (a segment that is the mass stays a bright blob), so switching it off would not
  remove the evidence. The local blur removes what lies inside the segment (texture,
  calcifications, spicules, a mass's density above its surroundings) while keeping the
  breast's slow density trend, so the perturbed image still looks like a mammogram.
* Outside the breast is one inert segment that is never switched off.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from mammoview.core.progress import NEVER_CANCELLED, CancelToken, Progress
from mammoview.explain.superpixels import COMPACTNESS, N_SEGMENTS, Superpixels, compute_superpixels, neutral_image

Predict = Callable[[np.ndarray], np.ndarray]
"""A batch of greyscale images (N, rows, cols) float32 in [0, 1] -> (N, C) probabilities."""

NUM_SAMPLES = 500
BATCH_SIZE = 32
KERNEL_WIDTH = 0.25
RIDGE_ALPHA = 1.0
# Width of the neutral blur in superpixel side lengths (sqrt of the mean segment area).
NEUTRAL_SIGMA_SEGMENTS = 2.0
TOP_K = 5
SAMPLINGS = ("uniform", "bernoulli")
HIDINGS = ("blur", "mean")


@dataclass(frozen=True)
class LimeResult:
    """A (partial) LIME explanation.

    Attributes
    ----------
    segments : ndarray of int32, shape (rows, cols)
        Superpixel of every pixel at the image's size; 0 is the inert background.
    weights : ndarray of float64, shape (K,)
        Surrogate coefficient of superpixel ``i + 1``: the change in the target class's
        probability when it is switched on.
    intercept : float
        The surrogate's prediction with every superpixel off.
    score : float
        Weighted R^2 of the surrogate on the samples so far (1 = perfectly linear).
    samples : int
        Number of model evaluations the fit used.
    target : int
        Class index explained.
    prediction : float
        The model's probability of ``target`` on the unperturbed image.
    local_prediction : float
        The surrogate's value with every superpixel on (compare with ``prediction``).
    top_positive, top_negative : tuple of int
        Segment ids with the largest positive (negative) weights, strongest first, at most
        :data:`TOP_K` each, only weights of that sign.
    """

    segments: np.ndarray
    weights: np.ndarray
    intercept: float
    score: float
    samples: int
    target: int
    prediction: float
    local_prediction: float
    top_positive: tuple[int, ...] = field(default=())
    top_negative: tuple[int, ...] = field(default=())

    def ranked(self, *, positive: bool = True) -> tuple[int, ...]:
        """Every segment id of that sign, strongest first."""
        return ranked_segments(self.weights, positive=positive)

    def weight_map(self) -> np.ndarray:
        """Each pixel's superpixel weight (0 outside the breast), float32 (rows, cols)."""
        lookup = np.concatenate([[0.0], self.weights]).astype(np.float32)
        return lookup[self.segments]

    def region(self, segment_ids) -> np.ndarray:
        """Boolean mask of the union of the given segments."""
        lookup = np.zeros(self.weights.size + 1, bool)
        lookup[np.asarray(list(segment_ids), np.intp)] = True
        return lookup[self.segments]


def explain_lime(image: np.ndarray, predict: Predict, **kwargs) -> LimeResult:
    """Run :func:`iter_lime` to the end and return the final explanation.

    Takes the same arguments as :func:`iter_lime`.

    Examples
    --------
    >>> img = np.zeros((64, 64), np.float32); img[8:56, :40] = 0.5; img[16:24, 8:16] = 0.9
    >>> def predict(batch):  # the probability rises with the brightness of one corner
    ...     p = batch[:, 16:24, 8:16].mean(axis=(1, 2))
    ...     return np.stack([1 - p, p], axis=1)
    >>> res = explain_lime(img, predict, target=1, num_samples=64, n_segments=16)
    >>> bool(res.region(res.top_positive[:1])[20, 12])
    True
    """
    result = None
    for event in iter_lime(image, predict, **kwargs):
        result = event.partial
    return result


def iter_lime(
    image: np.ndarray,
    predict: Predict,
    *,
    target: int,
    num_samples: int = NUM_SAMPLES,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    breast_mask: np.ndarray | None = None,
    cancel: CancelToken | None = None,
    n_segments: int = N_SEGMENTS,
    compactness: float = COMPACTNESS,
    superpixels: Superpixels | None = None,
    kernel_width: float = KERNEL_WIDTH,
    alpha: float = RIDGE_ALPHA,
    sampling: str = "uniform",
    hide: str = "blur",
) -> Iterator[Progress]:
    """Explain ``predict``'s probability of class ``target`` on ``image``, batch by batch.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Greyscale mammogram, display-oriented (tissue bright). Floats already in [0, 1] are
        used as they are; anything else is rescaled by its own min/max. Not modified.
    predict : callable
        ``predict(batch)`` with ``batch`` float32 (N, rows, cols) in [0, 1] returns (N, C)
        class probabilities. It applies the model's own preprocessing.
    target : int
        Class index to explain.
    num_samples : int, optional
        Model evaluations in all, the unperturbed image included (the sample-count setting).
    batch_size : int, optional
        Images per ``predict`` call; one :class:`Progress` per batch.
    seed : int, optional
        Seed of the sampling; the same seed gives the same samples and weights.
    breast_mask : ndarray of bool, optional
        The breast region; :func:`mammoview.segmentation.segment_breast` when omitted.
    cancel : CancelToken, optional
        Checked before every batch.
    n_segments, compactness : optional
        SLIC settings (:func:`mammoview.explain.superpixels.compute_superpixels`).
    superpixels : Superpixels, optional
        Ready-made superpixels to use instead (``breast_mask`` is then their nonzero area).
    kernel_width : float, optional
        ``sigma`` of the proximity kernel on the cosine distance.
    alpha : float, optional
        Ridge penalty.
    sampling : {"uniform", "bernoulli"}, optional
        How many superpixels a sample keeps: uniform count (the paper) or each with
        probability 1/2 (the ``lime`` package).
    hide : {"blur", "mean"}, optional
        What a switched-off superpixel shows: the breast blurred inside its outline (see the
        module's notes), or the superpixel's own mean (the ``lime`` package's default).

    Yields
    ------
    Progress
        ``done`` samples of ``total``; ``partial`` is the :class:`LimeResult` fitted on
        every sample so far. The last event's is the final explanation.

    Raises
    ------
    Cancelled
        When ``cancel`` is set; no further ``predict`` call is made.
    ValueError
        For a bad argument, or when ``predict`` returns the wrong shape or non-finite values.
    """
    cancel = cancel or NEVER_CANCELLED
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if hide not in HIDINGS:
        raise ValueError(f"hide must be one of {HIDINGS}, got {hide!r}")
    if num_samples < 2 or batch_size < 1:
        raise ValueError(f"need num_samples >= 2 and batch_size >= 1, got {num_samples} and {batch_size}")
    unit = to_unit(image)
    if superpixels is None:
        mask = find_breast(unit) if breast_mask is None else np.asarray(breast_mask, bool)
        superpixels = compute_superpixels(unit, mask, n_segments=n_segments, compactness=compactness)
    elif superpixels.labels.shape != unit.shape:
        raise ValueError(f"superpixels of shape {superpixels.labels.shape} do not match the image's {unit.shape}")
    labels, k = superpixels.labels, superpixels.count
    if hide == "mean":
        neutral = segment_means(unit, labels, k)
    else:
        side = math.sqrt(float(superpixels.areas().mean()))
        neutral = neutral_image(unit, labels > 0, sigma=NEUTRAL_SIGMA_SEGMENTS * side)

    on = draw_samples(k, num_samples, np.random.default_rng(seed), sampling)
    weights = proximity(on, kernel_width)
    y = np.empty(num_samples, np.float64)
    prediction = math.nan
    done = 0
    while done < num_samples:
        cancel.raise_if_cancelled()
        stop = min(num_samples, done + batch_size)
        batch = perturb(unit, neutral, labels, on[done:stop])
        probs = checked_probabilities(predict(batch), stop - done, target)
        del batch
        y[done:stop] = probs[:, target]
        if done == 0:
            prediction = float(y[0])
        done = stop
        result = fit_result(on[:done], y[:done], weights[:done], alpha, labels, target, prediction)
        yield Progress(done, num_samples, f"LIME: {done} of {num_samples} samples, R^2 {result.score:.2f}", result)


def to_unit(image: np.ndarray) -> np.ndarray:
    """float32 copy in [0, 1]: floats already in range kept, anything else min/max scaled."""
    arr = np.asarray(image)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"expected a non-empty 2-D greyscale image, got shape {arr.shape}")
    out = arr.astype(np.float32, copy=True)
    if not np.isfinite(out).all():
        raise ValueError("the image has non-finite pixels")
    lo, hi = float(out.min()), float(out.max())
    if np.issubdtype(arr.dtype, np.floating) and lo >= 0.0 and hi <= 1.0:
        return out
    return (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)


def find_breast(unit: np.ndarray) -> np.ndarray:
    """The breast mask from :func:`segment_breast` (imported here: it is not always needed)."""
    from mammoview.segmentation.breast import segment_breast

    return segment_breast(unit)


def segment_means(unit: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Every pixel replaced by its superpixel's mean (the background, label 0, kept as is)."""
    sums = np.bincount(labels.ravel(), weights=unit.ravel().astype(np.float64), minlength=k + 1)
    counts = np.bincount(labels.ravel(), minlength=k + 1)
    means = (sums / np.maximum(counts, 1)).astype(np.float32)
    return np.where(labels > 0, means[labels], unit)


def draw_samples(k: int, n: int, rng: np.random.Generator, sampling: str) -> np.ndarray:
    """Binary samples (n, k): row 0 all on, the rest drawn as the ``sampling`` rule says."""
    if sampling == "bernoulli":
        on = rng.random((n, k)) < 0.5
    else:
        keep = rng.integers(1, k + 1, size=n)
        ranks = np.argsort(np.argsort(rng.random((n, k)), axis=1), axis=1)
        on = ranks < keep[:, None]
    on[0] = True
    return on


def proximity(on: np.ndarray, kernel_width: float) -> np.ndarray:
    """``exp(-D^2 / sigma^2)`` with D the cosine distance of each row to the all-on row."""
    kept = on.sum(axis=1).astype(np.float64)
    # cos(z, 1) = |z| / (sqrt(|z|) sqrt(K)) for a binary z.
    distance = 1.0 - np.sqrt(kept / on.shape[1])
    return np.exp(-(distance**2) / kernel_width**2)


def perturb(image: np.ndarray, neutral: np.ndarray, labels: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Images (n, rows, cols) with the switched-off superpixels replaced by ``neutral``.

    A selection, not ``neutral + on * (image - neutral)``: kept pixels are the image's
    exactly, so the all-on sample is the unperturbed image bit for bit.
    """
    table = np.ones((on.shape[0], on.shape[1] + 1), bool)  # column 0: the inert background
    table[:, 1:] = on
    keep = table[:, labels]  # (n, rows, cols): True where the pixel's superpixel is on
    # Written into a C-ordered array: the fancy index above has an odd memory layout, and
    # a model's reductions over it could round differently from the same images in order.
    out = np.empty(keep.shape, np.float32)
    out[...] = neutral
    np.copyto(out, image, where=keep)
    return out


def checked_probabilities(probs, n: int, target: int) -> np.ndarray:
    """``predict``'s output as float64 (n, C), or a ValueError saying what is wrong."""
    out = np.asarray(probs, dtype=np.float64)
    if out.ndim != 2 or out.shape[0] != n:
        raise ValueError(f"predict must return (N, C) probabilities for N = {n} images, got shape {out.shape}")
    if not 0 <= target < out.shape[1]:
        raise ValueError(f"target class {target} is out of range for {out.shape[1]} classes")
    if not np.isfinite(out).all():
        raise ValueError("predict returned non-finite values")
    return out


def fit_result(
    on: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    alpha: float,
    labels: np.ndarray,
    target: int,
    prediction: float,
) -> LimeResult:
    """Weighted ridge fit of ``y`` on the binary samples, packed as a :class:`LimeResult`."""
    x = on.astype(np.float64)
    coef, intercept = weighted_ridge(x, y, w, alpha)
    fitted = intercept + x @ coef
    score = weighted_r2(y, fitted, w)
    return LimeResult(
        segments=labels,
        weights=coef,
        intercept=float(intercept),
        score=score,
        samples=int(y.size),
        target=int(target),
        prediction=prediction,
        local_prediction=float(intercept + coef.sum()),
        top_positive=ranked_segments(coef, positive=True)[:TOP_K],
        top_negative=ranked_segments(coef, positive=False)[:TOP_K],
    )


def weighted_ridge(x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Minimise sum w (y - b - x.beta)^2 + alpha |beta|^2; the intercept b is not penalised."""
    total = w.sum()
    x_mean = w @ x / total
    y_mean = float(w @ y / total)
    xc = x - x_mean
    yc = y - y_mean
    gram = (xc * w[:, None]).T @ xc
    gram[np.diag_indices_from(gram)] += alpha
    coef = np.linalg.solve(gram, (xc * w[:, None]).T @ yc)
    return coef, y_mean - float(x_mean @ coef)


def weighted_r2(y: np.ndarray, fitted: np.ndarray, w: np.ndarray) -> float:
    """Weighted coefficient of determination; 1.0 when ``y`` is constant and fitted exactly."""
    y_mean = w @ y / w.sum()
    ss_tot = float(w @ (y - y_mean) ** 2)
    ss_res = float(w @ (y - fitted) ** 2)
    if ss_tot <= 1e-30:
        return 1.0 if ss_res <= 1e-30 else 0.0
    return 1.0 - ss_res / ss_tot


def ranked_segments(weights: np.ndarray, *, positive: bool) -> tuple[int, ...]:
    """Segment ids (1-based) with weights of that sign, strongest first (ties: lower id)."""
    signed = weights if positive else -weights
    order = np.argsort(-signed, kind="stable")
    return tuple(int(i) + 1 for i in order if signed[i] > 0)
