"""Bilateral comparison: an image's stage-1 score against the other breast's.

A reader looks for what differs between the left and right breast of the same view; dense
tissue is usually roughly symmetrical, a lesion is not. Stage 1's plain image score (the
top-k mean of the window probabilities, ``p_abnormal``) is high for dense normal breasts as
well as for lesions, so the bilateral figure subtracts the contralateral image's score:

    d = topk(own) - w * topk(contralateral)          (w = 1: plain difference)
    p_abnormal_bilateral = (d + w) / (1 + w)         (mapped onto [0, 1]; 0.5 = both equal
                                                      when w = 1)

It is a *score* in [0, 1] (monotone in d, so it ranks like d), not a calibrated probability.
The contralateral image is the one of the same study (patient) with the other laterality and
the same view; with none (a single image, an unknown laterality, two candidates that cannot be
told apart) the image keeps its plain score and the result says so.

Measured on three patient splits of MIAS (docs/classifier-results.md, "Bilateral
comparison"): +0.08 image AUC on the shipped split, none on the other two, so the app's
per-breast and per-study figures do not use it; :func:`mammoview.training.classifier_tasks.evaluate_bilateral`
repeats the measurement for a new model.

No torch here: this works on window probabilities or image scores already computed.
Research use only, not for diagnosis.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mammoview.classification.patches import topk_mean

# Default weight of the contralateral score (see docs/classifier-results.md, "Bilateral").
WEIGHT = 1.0
NO_PARTNER = "no contralateral image of the same view: plain score"


@dataclass(frozen=True)
class PairKey:
    """What pairing needs of an image: its study (patient), laterality ("R"/"L") and view."""

    study: str
    laterality: str | None
    view: str | None


@dataclass(frozen=True)
class Bilateral:
    """One image's bilateral figure: ``score`` (the bilateral score, or the plain one when
    ``partner`` is None), the partner's id and a note when it fell back."""

    score: float | None
    partner: Hashable | None = None
    note: str | None = None

    @property
    def paired(self) -> bool:
        return self.partner is not None


def bilateral_value(own: float, other: float, weight: float = WEIGHT) -> float:
    """(own - weight * other + weight) / (1 + weight): the difference mapped onto [0, 1].

    >>> bilateral_value(0.9, 0.3), bilateral_value(0.5, 0.5), bilateral_value(0.8, 0.4, 0.0)
    (0.8, 0.5, 0.8)
    """
    w = float(weight)
    if w < 0:
        raise ValueError(f"the contralateral weight must be >= 0, not {weight}")
    return float((float(own) - w * float(other) + w) / (1.0 + w))


def bilateral_from_windows(own_probs: np.ndarray, other_probs: np.ndarray, k: int,
                           weight: float = WEIGHT) -> float:
    """The bilateral score from both images' window probabilities (top-k mean of each).
    NaN when either image has no window."""
    own, other = topk_mean(own_probs, k), topk_mean(other_probs, k)
    if math.isnan(own) or math.isnan(other):
        return float("nan")
    return bilateral_value(own, other, weight)


def _side(laterality: str | None) -> str | None:
    side = (laterality or "").strip().upper()[:1]
    return side if side in ("R", "L") else None


def _view(view: str | None) -> str:
    return (view or "").strip().upper()


def pair_images(keys: Mapping[Hashable, PairKey | None]) -> dict[Hashable, Hashable | None]:
    """The contralateral partner of each image (or None).

    Partners share the study and the view (compared case-insensitively; two unknown views
    count as the same view) and have opposite lateralities. An image is paired only when
    exactly one image of its study and view is on each side, so a repeated view never gets
    an arbitrary partner.
    """
    groups: dict[tuple[str, str], dict[str, list[Hashable]]] = {}
    for image_id, key in keys.items():
        side = _side(key.laterality) if key else None
        if key is None or side is None:
            continue
        groups.setdefault((key.study, _view(key.view)), {}).setdefault(side, []).append(image_id)
    out: dict[Hashable, Hashable | None] = {image_id: None for image_id in keys}
    for sides in groups.values():
        right, left = sides.get("R", []), sides.get("L", [])
        if len(right) == 1 and len(left) == 1:
            out[right[0]], out[left[0]] = left[0], right[0]
    return out


def bilateral_scores(scores: Mapping[Hashable, float | None], keys: Mapping[Hashable, PairKey | None],
                     weight: float = WEIGHT) -> dict[Hashable, Bilateral]:
    """Each image's :class:`Bilateral` from the plain image scores (top-k means).

    An image whose partner is missing or has no score (not classified) keeps its own plain
    score with the note :data:`NO_PARTNER`; an image without a score gets ``score=None``.
    """
    partners = pair_images({i: keys.get(i) for i in scores})
    out = {}
    for image_id, own in scores.items():
        partner = partners.get(image_id)
        other = scores.get(partner) if partner is not None else None
        if own is None or (isinstance(own, float) and math.isnan(own)):
            out[image_id] = Bilateral(None, None, "not classified")
        elif other is None or (isinstance(other, float) and math.isnan(other)):
            out[image_id] = Bilateral(float(own), None, NO_PARTNER)
        else:
            out[image_id] = Bilateral(bilateral_value(own, other, weight), partner)
    return out


def mias_pair_key(name: str | Path) -> PairKey | None:
    """MIAS: mdb(2k-1) is the right and mdb(2k) the left MLO of patient k; None for other names."""
    from mammoview.io.mias import mias_laterality, mias_number, mias_patient

    number = mias_number(name)
    if number is None or number < 1:
        return None
    return PairKey(f"mias-patient-{mias_patient(number)}", mias_laterality(number), "MLO")


def ref_pair_key(ref: Any) -> PairKey:
    """From an :class:`~mammoview.core.image.ImageRef` (or an Image): DICOM study UID,
    ImageLaterality and ViewPosition as the readers normalised them (MIAS files get their
    patient, side and MLO view from the raster reader)."""
    ref = getattr(ref, "ref", ref)
    return PairKey(str(ref.study_uid), ref.laterality, ref.view)


def choose_weight(labels: Sequence[int], own: Sequence[float], other: Sequence[float],
                  candidates: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> tuple[float, dict[float, float]]:
    """The candidate weight with the highest AUC on (training) images that have a partner;
    ties go to the smaller weight. Returns (weight, {weight: AUC})."""
    from mammoview.classification.scoring import auc

    table = {float(w): auc(labels, [bilateral_value(a, b, w) for a, b in zip(own, other)]) for w in candidates}
    best = max(table, key=lambda w: (table[w], -w))
    return best, table
