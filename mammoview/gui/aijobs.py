"""The classifier cascade and its explanations, run in the window's process lane.

Everything that needs torch (loading the cascade, classifying, LIME's model calls,
Grad-CAM) runs in a :class:`~mammoview.gui.isolation.ProcessLane` process, so torch never
loads in the window's process; results come back as plain data (:class:`Classification`,
:class:`ExplainResult`) with their arrays through shared memory. The cascade is loaded
once per process and kept while the model files are unchanged; the device is the one
:func:`mammoview.nets.device.choose_device` picks (CUDA, then MPS, then CPU;
``MAMMOVIEW_AI_DEVICE`` forces one).

What an explanation explains (research use only, not for diagnosis)
-------------------------------------------------------------------
The cascade scores an image by a sliding window over the breast at its working scale
(see :mod:`mammoview.classification.cascade`). An explanation works on the same input:

* the working image (downscaled as the stage's card says) cropped to the breast's
  bounding box, plus half a window all round, so every window lies inside the crop;
* stage 1 (default): the score is the mean of the top-k window probabilities of
  "abnormal" over the :data:`EXPLAIN_WINDOWS` windows stage 1 finds most abnormal on the
  unperturbed image (re-scoring every window of every LIME sample would cost 5-10 times
  more; windows elsewhere in the breast hardly ever enter the top k);
* stage 2: the probability of "malignant" on stage 1's top-k windows, weighted by their
  stage-1 probabilities, exactly the cascade's ``p_malignant``.

LIME perturbs the crop (superpixels of the breast) and calls the stage's network on the
windows cut from each perturbed crop; Grad-CAM runs on each of those windows and paints
its map, weighted by the window's probability, back where the window lies. Both come
back at the working scale with the crop's origin, and the viewer maps them onto the
original image (and mirrors them in the hanging like every layer).

No Qt here: the worker processes import this module.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from mammoview.gui.overlayjobs import LAYERS, MaskDisplay

AI_LAYERS = {
    "aiheat": "AI patch heatmap",
    "gradcam": "Grad-CAM",
    "lime": "LIME explanation",
}
#: Every row of the Layers dock, in drawing order (later ones above earlier ones).
ALL_LAYERS = {**LAYERS, **AI_LAYERS}
#: LIME draws positive superpixels in the layer's colour and negative ones in this one.
LIME_NEGATIVE_COLOR = "#2979ff"
STAGE_TASKS = {1: "classifier-stage1", 2: "classifier-stage2"}  # as the cascade's
STAGE_TARGETS = {1: "abnormal", 2: "malignant"}
DEFAULT_LIME_SAMPLES = 200
#: How a Classification's ``reason`` starts when its job failed (see Classification.failed).
COULD_NOT_OPEN, FAILED = "could not open", "failed"
FAILURE_PREFIXES = (COULD_NOT_OPEN, FAILED)
LIME_SEED = 0
#: Windows an explanation looks at (stage 1): the most abnormal ones on the image.
EXPLAIN_WINDOWS = 16
#: Window patches per network call while LIME runs (samples per batch = this / windows).
LIME_PATCHES_PER_CALL = 256
#: Long side of a drawn AI layer: pyqtgraph maps an overlay through its colour table on
#: the UI thread at every new partial; a full-field working crop (~2000 px) took ~50 ms.
AI_MAX_SIDE = 1024


def reduce_codes(codes: np.ndarray, step: float, max_side: int = AI_MAX_SIDE) -> tuple[np.ndarray, float]:
    """Every k-th code (nearest) so the long side is at most ``max_side``; the new step."""
    k = int(np.ceil(max(codes.shape) / max_side))
    if k <= 1:
        return codes, step
    return np.ascontiguousarray(codes[::k, ::k]), step * k


# ================================================================== plain results
@dataclass(frozen=True)
class Classification:
    """One image's cascade result as the window keeps it (no torch types).

    ``reason`` is set ("image too small ...") when the cascade could not classify it; it
    starts with one of :data:`FAILURE_PREFIXES` when the job failed rather than the cascade
    declining the image.
    """

    uid: str
    p_abnormal: float | None = None
    p_malignant: float | None = None
    label: str | None = None
    suspicion: int | None = None
    versions: dict = field(default_factory=dict)
    reason: str | None = None
    device: str = ""
    windows: int = 0
    heat_scale: float = 1.0
    thresholds: dict = field(default_factory=dict)  # task -> the operating threshold of the call

    @property
    def classified(self) -> bool:
        return self.reason is None

    @property
    def failed(self) -> bool:
        """The job failed (the image could not be read, or an error), as opposed to the
        cascade declining the image (too small, blank...)."""
        return bool(self.reason) and self.reason.startswith(FAILURE_PREFIXES)

    def call(self) -> str:
        """"Normal", "Benign", "Malignant", or "not classified: <reason>"."""
        if not self.classified:
            return f"not classified: {self.reason}"
        return (self.label or "?").capitalize()

    def describe(self) -> str:
        if not self.classified:
            return self.call()
        return (f"{self.call()} · suspicion {self.suspicion}/10 · stage 1 p(abnormal) "
                f"{self.p_abnormal:.3f} · stage 2 p(malignant) {self.p_malignant:.3f}")


@dataclass(frozen=True)
class StudyAggregate:
    """Per breast ("R", "L", "?") and per study: the most suspicious image's result."""

    breasts: dict[str, Classification]
    study: Classification


@dataclass(frozen=True)
class ExplainResult:
    """A (partial or final) explanation at the working scale of the explained stage.

    ``labels`` (LIME: superpixel of each crop pixel) or ``heat`` (Grad-CAM, float32 in
    [0, 1]) cover the crop whose top-left corner is ``box[:2]`` in working pixels;
    ``scale`` = working size / original size.
    """

    method: str  # "lime" or "gradcam"
    stage: int
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    scale: float = 1.0
    weights: np.ndarray | None = None
    samples: int = 0
    total: int = 0
    score: float = float("nan")
    prediction: float = float("nan")
    top_positive: tuple[int, ...] = ()
    top_negative: tuple[int, ...] = ()
    versions: dict = field(default_factory=dict)
    reason: str | None = None
    labels: np.ndarray | None = None
    heat: np.ndarray | None = None


# ================================================================== parent side (no torch)
def resolve_models() -> tuple[dict[int, str] | None, str | None]:
    """The active stage models' paths, or (None, the store's message) when one is missing.

    Only file presence is checked here (cheap, no torch): loading happens in the lane.
    """
    from mammoview.nets.store import find_model

    paths = {}
    for stage, task in STAGE_TASKS.items():
        path = find_model(task)
        if path is None:
            return None, f"{task}.safetensors: no {task} model (train one with 'mammoview train {task}')"
        paths[stage] = str(path)
    return paths, None


def models_key(paths: dict[int, str] | None) -> tuple:
    """Identity of the model files (path, size, mtime): a new file is a new key."""
    if not paths:
        return ()
    key = []
    for stage in sorted(paths):
        p = Path(paths[stage])
        try:
            st = p.stat()
            key.append((str(p), st.st_size, st.st_mtime_ns))
        except OSError:
            key.append((str(p), -1, -1))
    return tuple(key)


def active_cards() -> list[dict[str, Any]]:
    """The model card of every active model (every task with a model), as dicts.

    Read from the JSON beside the weights (no torch); a card that cannot be read is
    listed with its error.
    """
    from mammoview.nets.store import find_model, read_card

    tasks = ["classifier-stage1", "classifier-stage2", "segmentation", "superres"]
    cards = []
    for task in tasks:
        path = find_model(task)
        if path is None:
            cards.append({"task": task, "error": "no model installed"})
            continue
        try:
            card = dataclasses.asdict(read_card(path))
        except Exception as exc:  # noqa: BLE001 (a corrupt card is shown, not raised)
            cards.append({"task": task, "error": str(exc), "path": str(path)})
            continue
        card["path"] = str(path)
        cards.append(card)
    return cards


def heat_display(layer: str, uid: str, shape: tuple[int, int], heat_codes: np.ndarray,
                 *, scale: float, origin_work: tuple[int, int] = (0, 0), status: str = "",
                 version: str | None = None) -> MaskDisplay:
    """A heat layer (uint8 0-255 at the working scale) placed over the original image."""
    step = 1.0 / scale
    origin = (origin_work[0] * step, origin_work[1] * step)
    heat_codes, step = reduce_codes(heat_codes, step)
    return MaskDisplay(layer, uid, heat_codes, tuple(shape), status, kind="heat", step=step,
                       origin=origin,
                       model_version=version,
                       area_fraction=float(np.count_nonzero(heat_codes > 38)) / max(1, heat_codes.size))


def lime_display(uid: str, shape: tuple[int, int], labels: np.ndarray, result: ExplainResult
                 ) -> MaskDisplay:
    """LIME weights as signed codes per superpixel (strength relative to the largest)."""
    weights = np.asarray(result.weights, np.float64)
    biggest = float(np.abs(weights).max()) if weights.size else 0.0
    lookup = np.full(weights.size + 1, 128, np.uint8)
    if biggest > 0:
        lookup[1:] = (128 + np.round(127 * weights / biggest)).clip(1, 255).astype(np.uint8)
    step = 1.0 / result.scale
    origin = (result.box[0] * step, result.box[1] * step)
    labels, step = reduce_codes(labels, step)
    codes = lookup[np.clip(labels, 0, weights.size)]
    return MaskDisplay("lime", uid, codes, tuple(shape), lime_status(result), kind="signed",
                       step=step, origin=origin,
                       model_version=result.versions.get(STAGE_TASKS[result.stage]))


def lime_status(result: ExplainResult) -> str:
    if result.reason:
        return f"not classified: {result.reason}"
    state = "done" if result.samples >= result.total else "refining"
    return (f"stage {result.stage} p({STAGE_TARGETS[result.stage]}) {result.prediction:.3f}: "
            f"{result.samples}/{result.total} samples ({state}), R² {result.score:.2f}")


# ================================================================== child side
_loaded: dict[str, Any] = {}


def load_cascade(paths: dict[int, str]):
    """The cascade of these model files, loaded once per process (torch loads here)."""
    key = models_key(paths)
    if _loaded.get("key") != key:
        _loaded.clear()
        from mammoview.classification.cascade import Cascade

        device = os.environ.get("MAMMOVIEW_AI_DEVICE", "auto")
        cascade = Cascade.load(device=device, paths={int(k): v for k, v in paths.items()})
        _loaded.update(key=key, cascade=cascade)
    return _loaded["cascade"]


def cascade_device(cascade) -> str:
    return str(next(cascade.stages[1].module.parameters()).device)


def probe_models(paths: dict[int, str]) -> dict[str, Any]:
    """{"device", "versions"} when both stages load, else {"error": the store's message}."""
    try:
        cascade = load_cascade(paths)
    except Exception as exc:  # noqa: BLE001 (ModelLoadError, or torch missing/broken)
        from mammoview.core.errors import MammoViewError

        return {"error": str(exc) if isinstance(exc, MammoViewError) else f"{type(exc).__name__}: {exc}"}
    return {"device": cascade_device(cascade), "versions": dict(cascade.versions),
            "thresholds": dict(cascade.thresholds)}


def classify_parts(uid, pixels, monochrome1, paths, *, cancel=None, report=None):
    """Classify one image: (Classification, [heatmap codes uint8 at the working scale])."""
    cascade = load_cascade(paths)
    image = SimpleNamespace(pixels=pixels, is_monochrome1=bool(monochrome1))
    last = None
    for event in cascade.classify_image(image, cancel=cancel):
        if report is not None:
            report(event.done, event.total)
        last = event
    res = last.partial
    plain = Classification(uid, res.p_abnormal, res.p_malignant, res.label, res.suspicion,
                           dict(res.versions), res.reason, cascade_device(cascade), res.windows,
                           float(res.heatmap_scale), dict(cascade.thresholds))
    arrays = []
    if res.heatmap is not None:
        arrays.append(np.round(np.clip(res.heatmap, 0, 1) * 255).astype(np.uint8))
    return plain, arrays


def aggregate_parts(items, *, cancel=None, report=None):
    """Per breast and per study (the cascade's :func:`aggregate_study`): (aggregate, [])."""
    from mammoview.classification.cascade import ImageResult, aggregate_study

    pairs = []
    for laterality, c in items:
        pairs.append((laterality, ImageResult(p_abnormal=c.p_abnormal, p_malignant=c.p_malignant,
                                              label=c.label, suspicion=c.suspicion,
                                              versions=dict(c.versions), reason=c.reason)))
    study = aggregate_study(pairs)

    def plain(uid, r):
        return Classification(uid, r.p_abnormal, r.p_malignant, r.label, r.suspicion,
                              dict(r.versions), r.reason)

    return StudyAggregate({side: plain(f"breast {side}", r) for side, r in study.breasts.items()},
                          plain("study", study.study)), []


@dataclass
class _Setup:
    work: np.ndarray  # the stage's working image
    breast: np.ndarray
    centres: np.ndarray  # windows explained, (M, 2) working pixels
    probs: np.ndarray  # their probability of the explained class
    weights: np.ndarray | None  # stage 2: stage-1 weights of the windows
    topk: int
    patch: int
    scale: float  # working size / original size
    box: tuple[int, int, int, int]
    reason: str | None = None


def explain_setup(cascade, pixels, monochrome1: bool, stage: int) -> _Setup:
    """The stage's working image, breast, explained windows and the crop around them."""
    from mammoview.classification.inference import sliding_windows
    from mammoview.classification.patches import crop_windows, topk_indices
    from mammoview.classification.preprocess import (
        breast_region,
        to_grey,
        unclassifiable_reason,
        working_image,
    )

    arr = np.asarray(pixels)
    reason = unclassifiable_reason(arr)
    empty = _Setup(np.zeros((1, 1), np.float32), np.zeros((1, 1), bool), np.zeros((0, 2), np.int64),
                   np.zeros(0), None, 1, 1, 1.0, (0, 0, 1, 1), reason)
    if reason:
        return empty
    s1 = cascade.stages[1]
    grey = to_grey(arr, monochrome1=monochrome1)
    work = working_image(grey, s1.prep)
    breast = breast_region(work)
    reason = unclassifiable_reason(arr, breast)
    centres, patches = sliding_windows(work, breast, s1.prep)
    if reason or not len(centres):
        return dataclasses.replace(empty, reason=reason or "no breast found")
    p1 = cascade.predict_fn(1)(patches)[:, 1]
    if stage == 1:
        top = topk_indices(p1, EXPLAIN_WINDOWS)
        chosen, probs, weights, prep = centres[top], p1[top], None, s1.prep
    else:
        s2 = cascade.stages[2]
        top = topk_indices(p1, s1.prep.topk)
        if (s2.prep.scale, s2.prep.enhance) != (s1.prep.scale, s1.prep.enhance):
            work = working_image(grey, s2.prep)
            breast = breast_region(work)
        chosen = np.rint(centres[top] * (s2.prep.scale / s1.prep.scale)).astype(np.int64)
        probs = cascade.predict_fn(2)(crop_windows(work, chosen, s2.prep.patch))[:, 1]
        weights, prep = np.maximum(p1[top], 1e-6), s2.prep
    rows, cols = np.nonzero(breast)
    pad = prep.patch // 2 + 1
    box = (max(0, int(rows.min()) - pad), max(0, int(cols.min()) - pad),
           min(work.shape[0], int(rows.max()) + 1 + pad), min(work.shape[1], int(cols.max()) + 1 + pad))
    return _Setup(work, breast, chosen, probs, weights, prep.topk, prep.patch,
                  work.shape[0] / arr.shape[0], box)


def window_score(probs: np.ndarray, setup: _Setup) -> np.ndarray:
    """(N, M) window probabilities -> (N,) the stage's image score (see the module notes)."""
    if setup.weights is None:
        k = max(1, min(setup.topk, probs.shape[1]))
        return np.sort(probs, axis=1)[:, -k:].mean(axis=1)
    return (probs * setup.weights).sum(axis=1) / setup.weights.sum()


def lime_parts(uid, pixels, monochrome1, paths, stage, num_samples, seed, *, cancel=None,
               report=None, publish=None, hide="blur", sampling="uniform"):
    """LIME of one stage's score: ((ExplainResult, labels)) with partials through ``publish``.

    ``hide`` and ``sampling`` are :func:`~mammoview.explain.lime.iter_lime`'s; the window
    keeps the defaults (bench/bench_explain_pointing.py compares them).
    """
    from mammoview.classification.patches import crop_windows
    from mammoview.explain.lime import iter_lime

    cascade = load_cascade(paths)
    versions = dict(cascade.versions)
    setup = explain_setup(cascade, pixels, bool(monochrome1), int(stage))
    if setup.reason:
        return ExplainResult("lime", stage, versions=versions, reason=setup.reason), []
    r0, c0, r1, c1 = setup.box
    crop = setup.work[r0:r1, c0:c1]
    breast = setup.breast[r0:r1, c0:c1]
    local = setup.centres - np.array([r0, c0])
    predict_windows = cascade.predict_fn(int(stage))
    m = len(local)

    def predict(batch: np.ndarray) -> np.ndarray:
        windows = np.concatenate([crop_windows(img, local, setup.patch) for img in batch])
        probs = predict_windows(windows)[:, 1].reshape(len(batch), m)
        score = window_score(probs, setup)
        return np.stack([1.0 - score, score], axis=1)

    batch = max(2, LIME_PATCHES_PER_CALL // max(1, m))
    final = None
    labels = None
    for event in iter_lime(crop, predict, target=1, num_samples=int(num_samples), batch_size=batch,
                           seed=int(seed), breast_mask=breast, cancel=cancel, hide=hide,
                           sampling=sampling):
        res = event.partial
        final = ExplainResult("lime", int(stage), setup.box, setup.scale, res.weights.copy(),
                              res.samples, int(num_samples), res.score, res.prediction,
                              tuple(res.top_positive), tuple(res.top_negative), versions)
        if report is not None:
            report(event.done, event.total)
        if publish is not None:
            if labels is None:  # the superpixels, once; the parent must take them
                labels = res.segments.astype(np.int32)
                publish(dataclasses.replace(final, labels=labels), keep=True)
            else:
                publish(final)
        elif labels is None:
            labels = res.segments.astype(np.int32)
    return final, [labels]


def gradcam_parts(uid, pixels, monochrome1, paths, stage, *, cancel=None, report=None):
    """Grad-CAM of one stage over its explained windows: (ExplainResult, [heat uint8])."""
    from mammoview.classification.patches import crop_windows
    from mammoview.explain.gradcam import gradcam

    cascade = load_cascade(paths)
    versions = dict(cascade.versions)
    setup = explain_setup(cascade, pixels, bool(monochrome1), int(stage))
    if setup.reason:
        return ExplainResult("gradcam", stage, versions=versions, reason=setup.reason), []
    module, layer = cascade.gradcam_target(int(stage))
    heat = np.zeros(setup.work.shape, np.float32)
    half = setup.patch // 2
    for i, (r, c) in enumerate(setup.centres):
        if cancel is not None:
            cancel.raise_if_cancelled()
        x = cascade.prepare_input(int(stage), crop_windows(setup.work, [[r, c]], setup.patch))
        cam = gradcam(module, x, target_layer=layer, class_index=1) * float(setup.probs[i])
        ra, ca = r - half, c - half
        rs, cs = max(0, ra), max(0, ca)
        re, ce = min(heat.shape[0], ra + setup.patch), min(heat.shape[1], ca + setup.patch)
        if re > rs and ce > cs:
            region = heat[rs:re, cs:ce]
            np.maximum(region, cam[rs - ra:re - ra, cs - ca:ce - ca], out=region)
        if report is not None:
            report(i + 1, len(setup.centres))
    r0, c0, r1, c1 = setup.box
    heat = heat[r0:r1, c0:c1]
    top = float(heat.max())
    codes = np.round(255 * heat / top).astype(np.uint8) if top > 0 else np.zeros(heat.shape, np.uint8)
    result = ExplainResult("gradcam", int(stage), setup.box, setup.scale, samples=len(setup.centres),
                           total=len(setup.centres), prediction=float(window_score(setup.probs[None], setup)[0]),
                           versions=versions)
    return result, [codes]
