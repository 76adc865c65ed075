"""The two-stage ResNet cascade: stage 1 normal vs abnormal, stage 2 benign vs malignant.

Both stages are patch classifiers (:mod:`mammoview.training.classifier_tasks`). An image
is scored by a sliding window over the breast (:mod:`~mammoview.classification.preprocess`
for the input, the card's settings for window and stride):

``p_abnormal``
    stage 1's image score: the mean of the top-k window probabilities of "abnormal"
    (k from the card, 3 by default).
``p_malignant``
    stage 2's probability of "malignant" on the regions stage 1 finds most abnormal: the
    stage-2 probabilities of stage 1's top-k windows, averaged with the stage-1
    probabilities as weights. It is computed for every classified image so it can be
    shown and exported, but it is the probability that *the most suspicious region* is
    malignant *if it is a lesion*; it decides the label only when stage 1 calls the image
    abnormal.
``label``
    "normal" when ``p_abnormal`` is below stage 1's operating threshold; otherwise
    "malignant" when ``p_malignant`` reaches stage 2's threshold, else "benign". The
    thresholds are in the cards (chosen on training images, see the cards).
``suspicion`` (1-10, see :func:`suspicion_score`)
    1-3 for a normal call (rising with ``p_abnormal`` up to the threshold), 4-6 for a
    benign call and 7-10 for a malignant call (rising with ``p_malignant``). It is
    non-decreasing in each probability. It is not a BI-RADS category.
``heatmap``
    stage 1's window probabilities painted over the working image (mean of the windows
    covering a pixel), with ``heatmap_scale`` = working size / image size.

An image the cascade cannot handle (smaller than 256 px a side, constant, no breast found)
gets a result with ``reason`` ("not classified: <reason>") and no numbers. Non-mammography
files are refused earlier, by the readers.

Research use only, not for diagnosis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mammoview.classification.inference import BATCH, iter_predict_patches, sliding_windows
from mammoview.classification.patches import crop_windows, paint_heatmap, topk_indices, topk_mean
from mammoview.classification.preprocess import (
    Preprocessing,
    breast_region,
    to_grey,
    unclassifiable_reason,
    working_image,
)
from mammoview.core.progress import CancelToken, Progress
from mammoview.nets.archs import load_classifier, num_classes_of, target_layer_of
from mammoview.nets.store import ModelLoadError, find_model

STAGE_TASKS = {1: "classifier-stage1", 2: "classifier-stage2"}
LABELS = ("normal", "benign", "malignant")


@dataclass
class StageModel:
    """One loaded stage: the network (eval mode, on its device), its card and preprocessing."""

    module: Any
    card: Any
    prep: Preprocessing
    path: Path

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)


@dataclass
class ImageResult:
    """The cascade's answer for one image (or the reason it has none)."""

    p_abnormal: float | None = None
    p_malignant: float | None = None
    label: str | None = None
    suspicion: int | None = None
    heatmap: np.ndarray | None = None
    heatmap_scale: float = 1.0
    versions: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    windows: int = 0

    @property
    def classified(self) -> bool:
        return self.reason is None

    def describe(self) -> str:
        if not self.classified:
            return f"not classified: {self.reason}"
        return (f"{self.label} (suspicion {self.suspicion}/10; p_abnormal {self.p_abnormal:.3f}, "
                f"p_malignant {self.p_malignant:.3f})")


def decide_label(p_abnormal: float, p_malignant: float, t_abnormal: float, t_malignant: float) -> str:
    """The cascade's label from the two probabilities and the operating thresholds."""
    if p_abnormal < t_abnormal:
        return "normal"
    return "malignant" if p_malignant >= t_malignant else "benign"


def suspicion_score(p_abnormal: float, p_malignant: float, t_abnormal: float = 0.5,
                    t_malignant: float = 0.5) -> int:
    """A 1-10 suspicion score consistent with the label.

    normal call: ``1 + floor(3 * p_abnormal / t_abnormal)`` (1-3);
    benign call: ``4 + floor(3 * p_malignant / t_malignant)`` (4-6);
    malignant call: ``7 + floor(4 * (p_malignant - t_malignant) / (1 - t_malignant))`` (7-10);
    each clipped to its band. Non-decreasing in ``p_abnormal`` and in ``p_malignant``.

    Examples
    --------
    >>> suspicion_score(0.1, 0.9), suspicion_score(0.8, 0.2), suspicion_score(0.8, 0.99)
    (1, 5, 10)
    """
    label = decide_label(p_abnormal, p_malignant, t_abnormal, t_malignant)
    if label == "normal":
        return int(np.clip(1 + math.floor(3 * p_abnormal / max(t_abnormal, 1e-9)), 1, 3))
    if label == "benign":
        return int(np.clip(4 + math.floor(3 * p_malignant / max(t_malignant, 1e-9)), 4, 6))
    return int(np.clip(7 + math.floor(4 * (p_malignant - t_malignant) / max(1 - t_malignant, 1e-9)), 7, 10))


class Cascade:
    """Stage 1 then stage 2, with what the GUI, the CLI and the explanations need.

    Build it with :meth:`load` (the active models) or from two :class:`StageModel`.
    """

    def __init__(self, stage1: StageModel, stage2: StageModel, *, batch: int = BATCH) -> None:
        self.stages = {1: stage1, 2: stage2}
        self.batch = batch

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, *, device: str = "auto", paths: dict[int, str | Path] | None = None,
             folders: list[Path] | None = None) -> "Cascade":
        """The active stage models (:func:`~mammoview.nets.store.find_model`), checked.

        Parameters
        ----------
        device : "auto" (CUDA, then MPS, then CPU), "cpu", "cuda" or "mps".
        paths : explicit model paths by stage (1, 2), else the active models.
        folders : where :func:`find_model` looks (tests); default per-user then shipped.

        Raises
        ------
        ModelLoadError
            A stage's model is missing, corrupt, of another task or architecture, or its
            card's preprocessing is unusable. Callers disable classification with the
            message (``str(err)``) and carry on.
        """
        from mammoview.nets.device import choose_device

        dev = choose_device(device)
        stages = {}
        for stage, task in STAGE_TASKS.items():
            path = (paths or {}).get(stage) or find_model(task, folders=folders)
            if path is None:
                raise ModelLoadError(f"{task}.safetensors",
                                     f"no {task} model (train one with 'mammoview train {task}')")
            # Any registered classifier (ResNet, VGG-16, AlexNet, STN-ResNet-50), by its card.
            module, card = load_classifier(path, task=task, device=dev)
            try:
                prep = Preprocessing.from_dict(card.preprocessing or {})
            except (TypeError, ValueError) as exc:
                raise ModelLoadError(path, f"the card's preprocessing is unusable ({exc})") from exc
            if len(card.classes) != 2 or num_classes_of(module) != 2:
                raise ModelLoadError(path, f"expected a 2-class model, the card lists {card.classes}")
            stages[stage] = StageModel(module, card, prep, Path(path))
        return cls(stages[1], stages[2])

    @property
    def versions(self) -> dict[str, str]:
        return {STAGE_TASKS[s]: m.version for s, m in self.stages.items()}

    @property
    def thresholds(self) -> dict[str, float]:
        """Task -> the operating threshold its card sets (a version names the weights only:
        the same weights can ship with another threshold, so results carry both)."""
        return {STAGE_TASKS[s]: float(m.prep.threshold) for s, m in self.stages.items()}

    # ------------------------------------------------------------------ inference

    def classify_image(self, image: Any, *, cancel: CancelToken | None = None) -> Iterator[Progress]:
        """Classify one image, yielding progress; the last event's ``partial`` is the
        :class:`ImageResult`.

        Parameters
        ----------
        image : a :class:`mammoview.core.Image` or a 2-D array (bright = dense).
        cancel : CancelToken; raises :class:`~mammoview.core.Cancelled` between batches.
        """
        pixels = getattr(image, "pixels", image)
        mono1 = bool(getattr(image, "is_monochrome1", False))
        arr = np.asarray(pixels)
        reason = unclassifiable_reason(arr)
        if reason:
            yield Progress(1, 1, f"not classified: {reason}", ImageResult(reason=reason, versions=self.versions))
            return
        s1, s2 = self.stages[1], self.stages[2]
        grey = to_grey(arr, monochrome1=mono1)
        work = working_image(grey, s1.prep)
        breast = breast_region(work)
        reason = unclassifiable_reason(arr, breast)
        if reason:
            yield Progress(1, 1, f"not classified: {reason}", ImageResult(reason=reason, versions=self.versions))
            return
        centres, patches = sliding_windows(work, breast, s1.prep)
        if not len(centres):
            reason = "no breast found"
            yield Progress(1, 1, f"not classified: {reason}", ImageResult(reason=reason, versions=self.versions))
            return
        total = len(patches) + s1.prep.topk
        probs = []
        for done, p in iter_predict_patches(s1.module, patches, s1.prep, batch=self.batch, cancel=cancel):
            probs.append(p[:, 1])
            yield Progress(done, total, "stage 1: normal vs abnormal")
        p1 = np.concatenate(probs)
        p_abnormal = topk_mean(p1, s1.prep.topk)
        top = topk_indices(p1, s1.prep.topk)
        work2 = work if _same_input(s1.prep, s2.prep) else working_image(grey, s2.prep)
        factor = s2.prep.scale / s1.prep.scale
        centres2 = np.rint(centres[top] * factor).astype(np.int64)
        patches2 = crop_windows(work2, centres2, s2.prep.patch)
        p2 = np.concatenate([p[:, 1] for _, p in iter_predict_patches(s2.module, patches2, s2.prep,
                                                                       batch=self.batch, cancel=cancel)])
        weights = np.maximum(p1[top], 1e-6)
        p_malignant = float(np.sum(p2 * weights) / np.sum(weights))
        t1, t2 = s1.prep.threshold, s2.prep.threshold
        result = ImageResult(
            p_abnormal=float(p_abnormal), p_malignant=p_malignant,
            label=decide_label(p_abnormal, p_malignant, t1, t2),
            suspicion=suspicion_score(p_abnormal, p_malignant, t1, t2),
            heatmap=paint_heatmap(centres, p1, work.shape, s1.prep.patch),
            heatmap_scale=work.shape[0] / arr.shape[0],
            versions=self.versions, windows=len(centres),
        )
        yield Progress(total, total, result.describe(), result)

    def classify(self, image: Any, *, cancel: CancelToken | None = None) -> ImageResult:
        """:meth:`classify_image` run to the end."""
        last = None
        for last in self.classify_image(image, cancel=cancel):
            pass
        return last.partial

    # ------------------------------------------------------------------ explanations

    def predict_fn(self, stage: int) -> Callable[[np.ndarray], np.ndarray]:
        """The function LIME perturbs: (N, H, W) float32 greys in [0, 1] -> (N, 2) probabilities.

        Inputs are windows (or whole images) at the stage's working scale; they get the
        card's standardisation. Classes are the card's (stage 1: normal, abnormal;
        stage 2: benign, malignant).
        """
        model = self.stages[stage]

        def predict(batch: np.ndarray) -> np.ndarray:
            arr = np.asarray(batch, dtype=np.float32)
            if arr.ndim == 2:
                arr = arr[None]
            out = [p for _, p in iter_predict_patches(model.module, arr, model.prep, batch=self.batch)]
            return np.concatenate(out) if out else np.zeros((0, 2), np.float32)

        return predict

    def gradcam_target(self, stage: int) -> tuple[Any, str]:
        """(torch module, target layer name) for Grad-CAM on ``stage``'s windows
        (:func:`~mammoview.nets.archs.target_layer_of`: "layer3" for a ResNet on 64 px)."""
        model = self.stages[stage]
        return model.module, target_layer_of(model.module, model.prep.patch)

    def prepare_input(self, stage: int, patches: np.ndarray):
        """(N, H, W) greys in [0, 1] -> the (N, 1, H, W) tensor the stage's network takes."""
        import torch

        from mammoview.classification.preprocess import standardise

        model = self.stages[stage]
        device = next(model.module.parameters()).device
        return torch.from_numpy(standardise(np.asarray(patches, np.float32), model.prep)).to(device)


def _same_input(a: Preprocessing, b: Preprocessing) -> bool:
    return a.scale == b.scale and a.enhance == b.enhance


# --------------------------------------------------------------------------- aggregation


def _rank(r: ImageResult) -> tuple:
    return (r.suspicion, r.p_abnormal, r.p_malignant)


def aggregate(results: Iterable[ImageResult]) -> ImageResult:
    """The most suspicious of several results (max over images of a breast, or over the
    breasts of a study): highest suspicion, then p_abnormal, then p_malignant.

    Unclassified images are ignored; when none is classified the result is unclassified
    with the reasons joined.
    """
    results = list(results)
    done = [r for r in results if r.classified]
    if not done:
        reasons = sorted({r.reason for r in results if r.reason}) or ["no image"]
        return ImageResult(reason="; ".join(reasons))
    best = max(done, key=_rank)
    return ImageResult(p_abnormal=best.p_abnormal, p_malignant=best.p_malignant, label=best.label,
                       suspicion=best.suspicion, versions=dict(best.versions))


@dataclass
class StudyResult:
    """Per-breast results (key: laterality "R", "L" or "?") and the study's (max over breasts)."""

    breasts: dict[str, ImageResult]
    study: ImageResult


def aggregate_study(items: Sequence[tuple[str | None, ImageResult]]) -> StudyResult:
    """Group image results by breast (laterality) and take the max per breast, then over breasts.

    It ranks by the plain figures: the bilateral score was measured on three patient splits
    and did not help beyond the first (docs/classifier-results.md, "Bilateral comparison").
    """
    groups: dict[str, list[ImageResult]] = {}
    for laterality, result in items:
        groups.setdefault((laterality or "?").upper()[:1] or "?", []).append(result)
    breasts = {side: aggregate(rs) for side, rs in sorted(groups.items())}
    return StudyResult(breasts=breasts, study=aggregate(breasts.values()))

