"""One entry per trainable model: its data, network, loss and validation metrics.

``TASKS["segmentation"]``: a UNet on MIAS lesion circles at a reduced working size.
``TASKS["superres"]``: an EDSR x2 on breast-tissue patches (LR = bicubic x0.5 of HR).
The engine (:mod:`mammoview.training.engine`) runs any of them the same way.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mammoview.core.progress import Progress
from mammoview.imaging import metrics as M
from mammoview.imaging.resample import downscale_area, upscale_bicubic
from mammoview.nets.edsr import EDSR
from mammoview.nets.unet import UNet
from mammoview.training.augment import AugmentConfig, augment_pair
from mammoview.training.datasets import Item, circle_mask, load_grey, read_mask


@dataclass
class Prepared:
    """Arrays ready for training and validation, plus what the card must say about them."""

    train: dict[str, Any]
    val: dict[str, Any]
    train_ids: list[str]
    val_ids: list[str]
    preprocessing: dict[str, Any]
    baseline: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class TaskSpec:
    """Base of a task; subclasses fill in data, loss and metrics."""

    name = ""
    description = ""
    classes: tuple[str, ...] = ()
    archs: dict[str, tuple[type, dict]] = {}
    default_arch = ""
    defaults: dict[str, Any] = {}
    main_metric = ""  # higher is better
    loss_name = "L1"  # what the model card says the training loss is
    needs_mask = False

    def select(self, items: list[Item]) -> tuple[list[Item], dict[str, list[str]]]:
        """The usable items and, by reason, the ids left out."""
        return list(items), {}

    def build(self, arch: str):
        cls, params = self.archs[arch]
        return cls(**params)

    def prepare(self, train: list[Item], val: list[Item], settings: dict) -> Iterator[Progress]:
        raise NotImplementedError

    def epoch_indices(self, prepared: Prepared, rng: np.random.Generator, settings: dict | None = None) -> np.ndarray:
        """The training samples of one epoch, in order."""
        raise NotImplementedError

    def command_options(self, settings: dict) -> list[str]:
        """The ``mammoview train`` options beyond the common ones that these settings need,
        for the command line written into the model card."""
        return []

    def identity_options(self, settings: dict) -> dict[str, Any]:
        """Task settings beyond the common ones that a resumed checkpoint must match; only
        the non-default ones, so that checkpoints written before an option existed still resume."""
        return {}

    def before_epoch(self, model, prepared: Prepared, epoch: int, settings: dict,
                     task_state: dict) -> Iterator[Progress]:
        """Called before every epoch (0-based ``epoch``, also the first one after a resume):
        a task may add training samples chosen with the model so far. ``task_state`` is
        saved in the checkpoint, so a resumed run takes the same samples. Nothing by default."""
        return iter(())

    def batch(self, prepared: Prepared, idx: np.ndarray, rng: np.random.Generator, aug: AugmentConfig):
        raise NotImplementedError

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def evaluate(self, model, prepared: Prepared, device) -> dict[str, float]:
        raise NotImplementedError

    def final_checks(self, model, prepared: Prepared, settings: dict, device) -> dict[str, Any]:
        return {}


# --------------------------------------------------------------------------- helpers


def _to_working(grey: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """Area-downscale so the long side is ``size`` (never enlarged); returns (array, factor)."""
    factor = max(grey.shape) / float(size)
    if factor <= 1.0:
        return grey.astype(np.float32), 1.0
    return downscale_area(grey, factor), factor


def _pad_to(arr: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((size, size), dtype=arr.dtype)
    out[: arr.shape[0], : arr.shape[1]] = arr[:size, :size]
    return out


@torch.no_grad()
def _predict_batches(model, arrays: np.ndarray, device, batch: int = 8) -> np.ndarray:
    outs = []
    for start in range(0, len(arrays), batch):
        x = torch.from_numpy(np.ascontiguousarray(arrays[start : start + batch])[:, None]).to(device)
        outs.append(model(x)[:, 0].float().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0,) + arrays.shape[1:], np.float32)


def _seed_of(*parts: Any) -> list[int]:
    return [zlib.crc32(str(p).encode()) for p in parts]


# --------------------------------------------------------------------------- segmentation


class SegmentationTask(TaskSpec):
    """UNet lesion segmentation on MIAS circles (or CSV masks) at a reduced size.

    Images with a located finding (centre and radius) are positives, their mask the
    union of the circles. Normal images are negatives: they teach the network that
    most breasts have no lesion, and validation reports how often it marks one on
    them. Images whose findings have no location (e.g. mdb059, or calcifications
    "spread through the breast") are left out: their lesion pixels are unknown, so
    they are neither a correct positive nor a correct negative.
    """

    name = "segmentation"
    loss_name = "BCE + soft Dice"
    description = "lesion segmentation (UNet)"
    classes = ("background", "lesion")
    archs = {
        "unet": (UNet, {"in_ch": 1, "out_ch": 1, "base": 16, "depth": 4}),
        # Half the channels: about four times cheaper, what a 2-core CPU trains in minutes.
        "unet-lite": (UNet, {"in_ch": 1, "out_ch": 1, "base": 8, "depth": 4}),
        # For tests and smoke runs only.
        "unet-tiny": (UNet, {"in_ch": 1, "out_ch": 1, "base": 4, "depth": 2}),
    }
    default_arch = "unet"
    defaults = {
        "epochs": 8, "batch_size": 8, "lr": 2e-3, "size": 256, "negative_ratio": 0.5,
        "augment": ("flip", "rotate", "zoom", "shear", "brightness", "contrast"),
    }
    main_metric = "dice"
    needs_mask = True

    def select(self, items):
        keep, skipped = [], {}
        for item in items:
            located = [f for f in item.findings if f.has_location and f.radius]
            if item.mask_path is not None or not item.findings or (located and len(located) == len(item.findings)):
                keep.append(item)
            else:
                skipped.setdefault("finding without a centre and radius (lesion pixels unknown)", []).append(item.id)
        return keep, skipped

    def prepare(self, train, val, settings):
        size = int(settings["size"])
        total = len(train) + len(val)
        out: dict[str, dict] = {}
        done = 0
        for part, items in (("train", train), ("val", val)):
            images, masks, ids = [], [], []
            for item in items:
                grey = load_grey(item.path)
                full = read_mask(item.mask_path) if item.mask_path else circle_mask(grey.shape, item.findings)
                work, factor = _to_working(grey, size)
                if factor > 1.0:
                    small = downscale_area(full.astype(np.float32), factor) >= 0.5
                    # A lesion smaller than a working pixel still marks its centre pixel.
                    for f in item.findings:
                        if f.has_location and f.radius:
                            r = min(int(f.row / factor), small.shape[0] - 1)
                            c = min(int(f.col / factor), small.shape[1] - 1)
                            small[r, c] = True
                else:
                    small = full
                images.append(_pad_to(work, size))
                masks.append(_pad_to(small, size))
                ids.append(item.id)
                done += 1
                yield Progress(done, total, f"preparing {item.path.name}")
            out[part] = {"images": np.stack(images) if images else np.zeros((0, size, size), np.float32),
                         "masks": np.stack(masks) if masks else np.zeros((0, size, size), bool), "ids": ids}
        prepared = Prepared(
            train=out["train"], val=out["val"], train_ids=out["train"]["ids"], val_ids=out["val"]["ids"],
            preprocessing={
                "input": "greyscale, min-max scaled per image to [0, 1] (MONOCHROME1 inverted)",
                "resize": f"area-average downscale so the long side is {size} px (never enlarged), aspect kept",
                "pad": f"zero-padded to {size} x {size} in training; the UNet pads any size itself",
                "working_size": size,
                "output": "one logit per pixel; lesion where sigmoid > 0.5; upscale the mask to the image",
                "ground_truth": "MIAS Info.txt circles (centre, radius) or the CSV's mask, downscaled by area >= 0.5",
            },
        )
        return prepared

    def epoch_indices(self, prepared, rng, settings=None):
        masks = prepared.train["masks"]
        positive = np.flatnonzero(masks.reshape(len(masks), -1).any(axis=1))
        negative = np.flatnonzero(~masks.reshape(len(masks), -1).any(axis=1))
        ratio = float((settings or self.defaults).get("negative_ratio", 0.5))
        n_neg = min(len(negative), int(round(ratio * len(positive)))) if len(positive) else len(negative)
        chosen = np.concatenate([positive, rng.choice(negative, n_neg, replace=False) if n_neg else negative[:0]])
        return rng.permutation(chosen)

    def batch(self, prepared, idx, rng, aug):
        xs, ys = [], []
        for i in idx:
            img, msk = augment_pair(prepared.train["images"][i], prepared.train["masks"][i], rng, aug)
            xs.append(img)
            ys.append(msk)
        x = torch.from_numpy(np.stack(xs)[:, None])
        y = torch.from_numpy(np.stack(ys)[:, None].astype(np.float32))
        return x, y

    def loss(self, output, target):
        bce = F.binary_cross_entropy_with_logits(output, target)
        prob = torch.sigmoid(output)
        inter = (prob * target).sum()
        soft_dice = (2 * inter + 1.0) / (prob.sum() + target.sum() + 1.0)
        return bce + (1.0 - soft_dice)

    def evaluate(self, model, prepared, device):
        val = prepared.val
        if not len(val["ids"]):
            return {}
        logits = _predict_batches(model, val["images"], device)
        val_loss = self.loss(torch.from_numpy(logits[:, None]), torch.from_numpy(val["masks"][:, None].astype(np.float32)))
        return {**_overlap_metrics(logits > 0, val["masks"]), "val_loss": float(val_loss)}

    def final_checks(self, model, prepared, settings, device):
        extra: dict[str, Any] = {}
        extra["otsu_baseline"] = _otsu_baseline(prepared)
        if settings.get("box_check"):
            extra["cbis_ddsm_box_check"] = _box_check(model, Path(settings["box_check"]), int(settings["size"]), device)
        return extra


def _overlap_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Mean Dice and IoU over images with a lesion; false-positive rate over the others."""
    has = truth.reshape(len(truth), -1).any(axis=1)
    dices = [M.dice(p, t) for p, t, h in zip(pred, truth, has) if h]
    ious = [M.iou(p, t) for p, t, h in zip(pred, truth, has) if h]
    marked = [bool(p.any()) for p, h in zip(pred, has) if not h]
    out = {
        "dice": float(np.mean(dices)) if dices else float("nan"),
        "iou": float(np.mean(ious)) if ious else float("nan"),
        "images_with_lesion": int(has.sum()),
        "images_without_lesion": int((~has).sum()),
    }
    if marked:
        out["normal_images_marked"] = float(np.mean(marked))
    return out


def _otsu_baseline(prepared: Prepared) -> dict[str, Any]:
    """The Otsu-candidate segmentation on the same validation images, if it exists yet."""
    try:
        from mammoview.segmentation.lesions import segment_otsu_candidates
    except ImportError as exc:
        return {"available": False, "reason": f"mammoview.segmentation.lesions.segment_otsu_candidates not importable ({exc})"}
    val = prepared.val
    preds = []
    for img in val["images"]:
        preds.append(np.asarray(segment_otsu_candidates(img), dtype=bool))
    metrics = _overlap_metrics(np.stack(preds), val["masks"]) if preds else {}
    return {"available": True, "on": "the same validation images at the working size", **metrics}


def _box_check(model, folder: Path, size: int, device) -> dict[str, Any]:
    """Overlap of the predicted lesion with CBIS-DDSM lesion boxes (not Dice: a box is
    not an outline). Per case: share of predicted pixels inside a box, share of each box
    covered by the prediction, and whether a predicted component's centre is in a box."""
    from scipy import ndimage as ndi

    cases = []
    for full in sorted(folder.glob("*/full_mammogram_1024.png")):
        grey = load_grey(full)
        work, factor = _to_working(grey, size)
        logits = _predict_batches(model, work[None].astype(np.float32), device)[0]
        pred_small = logits > 0
        rows = np.minimum((np.arange(grey.shape[0]) / factor).astype(int), pred_small.shape[0] - 1)
        cols = np.minimum((np.arange(grey.shape[1]) / factor).astype(int), pred_small.shape[1] - 1)
        pred = pred_small[np.ix_(rows, cols)]
        boxes = [read_mask(p) for p in sorted(full.parent.glob("lesion*_bbox_mask_1024.png"))]
        if not boxes:
            continue
        union = np.logical_or.reduce(boxes)
        n_pred = int(pred.sum())
        labels, n = ndi.label(pred)
        centres = ndi.center_of_mass(pred, labels, range(1, n + 1)) if n else []
        hits = [bool(union[int(r), int(c)]) for r, c in centres]
        cases.append({
            "case": full.parent.name,
            "boxes": len(boxes),
            "predicted_pixels": n_pred,
            "predicted_components": int(n),
            "share_of_prediction_inside_boxes": (float((pred & union).sum() / n_pred) if n_pred else None),
            "box_coverage": [float((pred & b).sum() / max(1, b.sum())) for b in boxes],
            "components_centred_in_a_box": int(sum(hits)),
        })
    return {"what": "overlap of the predicted lesion with the lesion boxes (detection-style check, not Dice)",
            "folder": str(folder), "cases": cases}


# --------------------------------------------------------------------------- super-resolution


class SuperresTask(TaskSpec):
    """EDSR x2 on breast-tissue patches: HR = the original patch, LR = bicubic x0.5 of it.

    Patches lie wholly inside the breast (``segment_breast``): background patches are
    flat black and would teach nothing a reader looks at.
    """

    name = "superres"
    description = "x2 super-resolution (EDSR)"
    archs = {
        "edsr": (EDSR, {"scale": 2, "features": 32, "blocks": 8, "res_scale": 0.1}),
        # The shipped preset: about 8x fewer operations than "edsr", so a 1024 x 1024
        # image enlarges in seconds on a 2-core CPU (the review window's budget).
        "edsr-lite": (EDSR, {"scale": 2, "features": 16, "blocks": 4, "res_scale": 0.1}),
        # For tests and smoke runs only.
        "edsr-tiny": (EDSR, {"scale": 2, "features": 8, "blocks": 1, "res_scale": 0.1}),
    }
    default_arch = "edsr"
    defaults = {
        "epochs": 4, "batch_size": 16, "lr": 5e-4, "patch": 48, "patches_per_image": 16,
        "val_patch": 96, "val_patches_per_image": 4, "augment": ("flip", "rotate"),
    }
    main_metric = "psnr"
    scale = 2

    def prepare(self, train, val, settings):
        from mammoview.segmentation.breast import segment_breast

        total = len(train) + len(val)
        done = 0
        out = {}
        for part, items, patch, per in (
            ("train", train, int(settings["patch"]), int(settings["patches_per_image"])),
            ("val", val, int(settings["val_patch"]), int(settings["val_patches_per_image"])),
        ):
            hr, ids = [], []
            for item in items:
                grey = load_grey(item.path)
                breast = segment_breast(grey)
                rng = np.random.default_rng(_seed_of(settings["seed"], part, item.id))
                for r, c in _tissue_corners(breast, patch, per, rng):
                    hr.append(grey[r : r + patch, c : c + patch].copy())
                ids.append(item.id)
                done += 1
                yield Progress(done, total, f"preparing {item.path.name}")
            hr_arr = np.stack(hr).astype(np.float32) if hr else np.zeros((0, patch, patch), np.float32)
            out[part] = {"hr": hr_arr, "ids": ids}
        lr = np.stack([np.clip(upscale_bicubic(p, 1 / self.scale), 0, 1) for p in out["val"]["hr"]]) if len(out["val"]["hr"]) else None
        out["val"]["lr"] = lr
        prepared = Prepared(
            train=out["train"], val=out["val"], train_ids=out["train"]["ids"], val_ids=out["val"]["ids"],
            preprocessing={
                "input": "greyscale, min-max scaled per image to [0, 1] (MONOCHROME1 inverted)",
                "scale": self.scale,
                "degradation": "LR = bicubic x0.5 of HR (mammoview.imaging.resample.upscale_bicubic, Pillow, antialiased)",
                "patch_hr": int(settings["patch"]),
                "patch_lr": int(settings["patch"]) // self.scale,
                "patches_per_image": int(settings["patches_per_image"]),
                "patch_selection": "whole patch inside the breast (segment_breast), random positions, seeded per image",
                "validation_patch_hr": int(settings["val_patch"]),
                "output": "greys in [0, 1] (clip), twice the input size",
            },
        )
        if lr is not None:
            bic = [np.clip(upscale_bicubic(lo, self.scale), 0, 1) for lo in lr]
            prepared.baseline = _sr_metrics(bic, out["val"]["hr"], prefix="bicubic_")
        return prepared

    def epoch_indices(self, prepared, rng, settings=None):
        return rng.permutation(len(prepared.train["hr"]))

    def batch(self, prepared, idx, rng, aug):
        hs, ls = [], []
        for i in idx:
            hr, _ = augment_pair(prepared.train["hr"][i], None, rng, aug)
            hs.append(hr)
            ls.append(np.clip(upscale_bicubic(hr, 1 / self.scale), 0, 1))
        return torch.from_numpy(np.stack(ls)[:, None]), torch.from_numpy(np.stack(hs)[:, None])

    def loss(self, output, target):
        return F.l1_loss(output, target)

    def evaluate(self, model, prepared, device):
        if prepared.val["lr"] is None:
            return {}
        sr = np.clip(_predict_batches(model, prepared.val["lr"], device), 0, 1)
        # The training loss (L1) on the validation patches.
        return {**_sr_metrics(sr, prepared.val["hr"], prefix=""), "val_loss": float(np.abs(sr - prepared.val["hr"]).mean())}

    def final_checks(self, model, prepared, settings, device):
        return {"bicubic_baseline": {"psnr": prepared.baseline.get("bicubic_psnr"),
                                      "ssim": prepared.baseline.get("bicubic_ssim"),
                                      "on": "the same validation patches"}}


def _sr_metrics(outputs, targets, *, prefix: str) -> dict[str, float]:
    psnrs = [M.psnr(o, t) for o, t in zip(outputs, targets)]
    ssims = [M.ssim(o, t) for o, t in zip(outputs, targets)]
    return {f"{prefix}psnr": float(np.mean(psnrs)), f"{prefix}ssim": float(np.mean(ssims)),
            f"{prefix}patches": len(psnrs)}


def _tissue_corners(breast: np.ndarray, patch: int, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Up to ``count`` top-left corners of patches lying wholly inside ``breast``."""
    rows, cols = breast.shape
    if rows < patch or cols < patch:
        return []
    integral = np.pad(breast.astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    inside = (
        integral[patch:, patch:] - integral[:-patch, patch:] - integral[patch:, :-patch] + integral[:-patch, :-patch]
    ) == patch * patch
    candidates = np.argwhere(inside)
    if not len(candidates):
        return []
    pick = rng.choice(len(candidates), size=min(count, len(candidates)), replace=False)
    return [tuple(map(int, candidates[i])) for i in sorted(pick)]


TASKS: dict[str, TaskSpec] = {"segmentation": SegmentationTask(), "superres": SuperresTask()}
import mammoview.training.classifier_tasks  # noqa: E402,F401  (registers classifier-stage1 and -stage2 in TASKS)
