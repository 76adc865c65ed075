"""Two (or more) models of a task measured on the same validation images.

After a run, the new model and the one in use are scored on the run's validation
patients, each model with its own preprocessing (from its card), so the comparison is
fair even when the two were trained at other scales or patch sizes:

- classifiers: image-level AUC (each image scored as the cascade scores it, from the
  model's windows) with a 95 % bootstrap interval resampling patients, and the confusion
  matrix at the model's own operating threshold;
- lesion UNet: mean Dice over the validation images with a lesion (at the model's
  working size), interval resampling patients;
- super-resolution: mean PSNR on the same validation patches (interval resampling
  patches), with bicubic beside them.

Research use only, not for diagnosis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mammoview.classification import scoring
from mammoview.core.progress import run_to_end
from mammoview.nets.device import choose_device
from mammoview.nets.store import ModelLoadError, load_model, read_card
from mammoview.training.datasets import Item, load_dataset, load_grey
from mammoview.training.start import preset_of
from mammoview.training.tasks import TASKS

METRIC_TITLES = {
    "classifier-stage1": "image AUC (normal vs abnormal)",
    "classifier-stage2": "image AUC (benign vs malignant, lesion location given)",
    "segmentation": "mean Dice (images with a lesion)",
    "superres": "mean PSNR, dB",
}
METRIC_SHORT = {"classifier-stage1": "image AUC", "classifier-stage2": "image AUC", "segmentation": "Dice",
                "superres": "PSNR dB"}
N_BOOT = 2000

Progress = Callable[[int, int, str], None]


def compare_models(task: str, data, val_ids, models: dict[str, str | Path], *, settings: dict | None = None,
                   seed: int = 0, device: str = "auto", progress: Progress | None = None) -> dict[str, Any]:
    """Score each of ``models`` (label -> weights path) on the images ``val_ids`` of ``data``.

    Returns
    -------
    {"task", "metric", "images", "patients", "rows": [{"label", "path", "version",
    "architecture", "start", "value", "ci95", "n", ...}]} where classifier rows add
    "confusion", "threshold", "sensitivity", "specificity". A model that cannot be
    loaded gets a row with "error" (the store's one-line message) and no value.
    """
    spec = TASKS[task]
    wanted = set(val_ids)
    items = [i for i in load_dataset(data, needs_mask=spec.needs_mask).items if i.id in wanted]
    dev = choose_device(device)
    report = progress or (lambda d, t, m: None)
    out: dict[str, Any] = {"task": task, "metric": METRIC_TITLES[task], "metric_short": METRIC_SHORT[task],
                           "images": len(items),
                           "patients": len({i.patient for i in items}), "rows": []}
    greys: dict[str, np.ndarray] = {}
    shared: dict[str, Any] = {}
    for n, (label, path) in enumerate(models.items()):
        report(n, len(models), f"scoring the {label} model on {len(items)} validation images")
        row: dict[str, Any] = {"label": label, "path": str(path)}
        try:
            model, card = _load(spec, path, dev)
        except ModelLoadError as exc:
            out["rows"].append({**row, "error": str(exc)})
            continue
        row.update(version=card.version, architecture=preset_of(spec, card) or card.architecture,
                   start=card.start, created=card.created)
        if task.startswith("classifier"):
            row.update(_classifier_row(spec, model, card, items, greys, seed))
        elif task == "segmentation":
            row.update(_segmentation_row(spec, model, card, items, dev, seed))
        else:
            row.update(_superres_row(spec, model, items, settings or {}, shared, dev, seed))
        out["rows"].append(row)
    if task == "superres" and "bicubic" in shared:
        out["rows"].append({"label": "bicubic (no model)", **shared["bicubic"]})
    report(len(models), len(models), "compared")
    return out


def _load(spec, path, device):
    card = read_card(path)
    for cls, _ in spec.archs.values():
        if getattr(cls, "ARCHITECTURE", None) == card.architecture:
            return load_model(path, task=spec.name, build=cls, device=device)
    raise ModelLoadError(path, f"architecture {card.architecture!r} cannot be built for {spec.name}")


def _interval(values: np.ndarray, groups, seed: int) -> list[float]:
    if not len(values):
        return [math.nan, math.nan]
    low, high = scoring.bootstrap_ci(np.zeros(len(values)), values, lambda y, s: float(np.mean(s)),
                                     groups=groups, n=N_BOOT, seed=seed)
    return [_num(low), _num(high)]


# --------------------------------------------------------------------------- classifiers


def _classifier_row(spec, model, card, items: list[Item], greys: dict, seed: int) -> dict[str, Any]:
    """Image scores with the model's own preprocessing, at its own threshold."""
    from mammoview.classification.preprocess import Preprocessing, breast_region, working_image
    from mammoview.training.classifier_tasks import lesion_centres

    prep = Preprocessing.from_dict(card.preprocessing)
    images = {}
    for item in items:
        label = spec.image_label(item)
        if label is None:
            continue
        if item.id not in greys:
            greys[item.id] = load_grey(item.path)
        grey = greys[item.id]
        work = working_image(grey, prep)
        images[item.id] = {"work": work, "breast": breast_region(work), "label": label, "patient": item.patient,
                           "centres": [(r, c) for r, c, _ in lesion_centres(item, grey.shape, prep.scale)]}
    scores = spec.image_scores(model, images, prep)
    ids = list(scores)
    if not ids:
        return {"value": None, "ci95": [None, None], "n": 0, "note": "no validation image could be scored"}
    y = [images[k]["label"] for k in ids]
    rep = scoring.binary_report(y, [scores[k] for k in ids], threshold=prep.threshold,
                                groups=[images[k]["patient"] for k in ids], n_boot=N_BOOT, seed=seed)
    return {"value": _num(rep["auc"]), "ci95": [_num(v) for v in rep["auc_ci95"]], "n": rep["n"],
            "positives": rep["positives"], "negatives": rep["negatives"], "threshold": rep["threshold"],
            "confusion": rep["confusion"], "sensitivity": _num(rep["sensitivity"]),
            "specificity": _num(rep["specificity"]), "classes": list(spec.classes)}


# --------------------------------------------------------------------------- segmentation


def _segmentation_row(spec, model, card, items: list[Item], device, seed: int) -> dict[str, Any]:
    from mammoview.imaging.metrics import dice
    from mammoview.training.tasks import _predict_batches

    size = int(card.preprocessing.get("working_size") or spec.defaults["size"])
    prepared = run_to_end(spec.prepare([], items, {"size": size}))
    val = prepared.val
    if not len(val["ids"]):
        return {"value": None, "ci95": [None, None], "n": 0}
    logits = _predict_batches(model, val["images"], device)
    patient = {i.id: i.patient for i in items}
    has = val["masks"].reshape(len(val["masks"]), -1).any(axis=1)
    dices = np.array([dice(p > 0, t) for p, t, h in zip(logits, val["masks"], has) if h], np.float64)
    groups = [patient[i] for i, h in zip(val["ids"], has) if h]
    return {"value": _num(float(dices.mean())) if len(dices) else None, "ci95": _interval(dices, groups, seed),
            "n": int(len(dices)), "working_size": size}


# --------------------------------------------------------------------------- super-resolution


def _superres_row(spec, model, items: list[Item], settings: dict, shared: dict, device, seed: int) -> dict[str, Any]:
    from mammoview.imaging.metrics import psnr
    from mammoview.imaging.resample import upscale_bicubic
    from mammoview.training.tasks import _predict_batches

    if "val" not in shared:  # the same patches for every model
        keys = ("seed", "patch", "patches_per_image", "val_patch", "val_patches_per_image")
        s = {**spec.defaults, "seed": seed, **{k: settings[k] for k in keys if k in settings}}
        shared["val"] = run_to_end(spec.prepare([], items, s)).val
        val = shared["val"]
        if val["lr"] is not None:
            bic = np.array([psnr(np.clip(upscale_bicubic(lo, spec.scale), 0, 1), hi)
                            for lo, hi in zip(val["lr"], val["hr"])], np.float64)
            shared["bicubic"] = {"value": _num(float(bic.mean())), "ci95": _interval(bic, None, seed), "n": len(bic)}
    val = shared["val"]
    if val["lr"] is None:
        return {"value": None, "ci95": [None, None], "n": 0}
    sr = np.clip(_predict_batches(model, val["lr"], device), 0, 1)
    values = np.array([psnr(o, t) for o, t in zip(sr, val["hr"])], np.float64)
    return {"value": _num(float(values.mean())), "ci95": _interval(values, None, seed), "n": int(len(values))}


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
