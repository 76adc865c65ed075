"""The AI section of a headless report: the classifier cascade run on the reported images.

The window's report takes the results it already has (``gui/aicontrol.py``); the command
line (``mammoview report --ai``) classifies here, image by image, with the active models
(:meth:`mammoview.classification.cascade.Cascade.load`), and aggregates per breast and per
study exactly as the window does (:func:`~mammoview.classification.cascade.aggregate_study`).
Research use only, not for diagnosis: the suspicion 1-10 is not a BI-RADS category.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mammoview.core.image import Image
from mammoview.report.content import AiReport

SIDES = {"R": "Right breast", "L": "Left breast"}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


class AiCollector:
    """Classifies the images of each reported study and builds the :class:`AiReport`.

    ``cascade`` needs ``classify(image) -> ImageResult`` and ``versions`` (task -> version),
    as :class:`~mammoview.classification.cascade.Cascade` has.
    """

    def __init__(self, cascade: Any, *, device: str = "") -> None:
        self.cascade = cascade
        self.device = device
        self.rows: list[tuple[str, ...]] = []
        self.aggregates: list[tuple[str, str]] = []

    def add_study(self, name: str, images: Sequence[Image], ground_truth: str | None = None, *,
                  on_image: Callable[[str], None] | None = None) -> None:
        """Classify every image of one study; add its rows and its per-breast and study calls.
        ``on_image(file name)`` is called before each image (a progress line)."""
        from mammoview.classification.cascade import aggregate_study

        pairs = []
        for image in images:
            if on_image is not None:
                on_image(image.ref.display_name)
            result = self.cascade.classify(image)
            pairs.append((image.ref.laterality, result))
            self.rows.append((
                image.ref.display_name, _fmt(result.p_abnormal), _fmt(result.p_malignant),
                (result.label or "?").capitalize() if result.classified else f"not classified: {result.reason}",
                "-" if result.suspicion is None else f"{result.suspicion}/10",
                image.ref.ground_truth or "not known",
                ", ".join(f"{k} {v}" for k, v in sorted(result.versions.items())) or "-",
            ))
        if not pairs:
            return
        study = aggregate_study(pairs)
        for side, result in study.breasts.items():
            self.aggregates.append((f"{name}: {SIDES.get(side, 'Unknown side')}", result.describe()))
        truth = f" (ground truth: {ground_truth})" if ground_truth else ""
        self.aggregates.append((f"{name}: study", study.study.describe() + truth))

    def report(self) -> AiReport:
        return AiReport(rows=list(self.rows), aggregates=list(self.aggregates),
                        versions=dict(self.cascade.versions), device=self.device,
                        thresholds=dict(getattr(self.cascade, "thresholds", {})))
