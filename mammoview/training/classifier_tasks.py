"""The two stages of the ResNet cascade as training tasks, trained on patches.

Whole-image training on a few hundred MIAS images is weak (a lesion is a few per cent of
the breast). Both stages therefore learn from square patches of the downscaled image
(:mod:`mammoview.classification.preprocess`) and whole images are scored from their
patches by a sliding window (image score = mean of the top-k window probabilities).

``classifier-stage1`` (normal vs abnormal):
    positives are windows centred on the MIAS lesion centres of abnormal images; negatives
    are windows at random positions inside the breast (``segment_breast``) of normal
    images. Abnormal images whose findings have no centre (``mdb059``; calcifications
    "spread through the breast", ``*NOTE 3*``) give no training patch, since where the
    lesion is is unknown, but they stay in the split and are scored at image level in
    validation (they are abnormal images a user will open).
``classifier-stage2`` (benign vs malignant):
    windows centred on lesion centres only, benign (0) against malignant (1). Images
    without a located finding are left out (nothing to centre a patch on).

Each epoch oversamples the lesion windows (``lesion_copies``) and draws fresh tissue
windows; every sample is cut from a larger context window with a random shift
(``jitter``) after the papers' augmentations (flips, rotation, zoom, brightness,
contrast), so rotation fills corners with tissue rather than black.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mammoview.classification import scoring
from mammoview.classification.cascade import decide_label
from mammoview.classification.inference import predict_patches, sliding_windows
from mammoview.classification.patches import crop_windows, dense_tissue_weights, random_tissue_centres, topk_mean
from mammoview.classification.preprocess import Preprocessing, breast_region, working_image
from mammoview.core.progress import Progress
from mammoview.nets.archs import CLASSIFIER_ARCHS, check_input_size, task_archs
from mammoview.training import hard_negatives as hn
from mammoview.training.datasets import Item, load_grey, read_mask
from mammoview.training.splits import patient_split
from mammoview.training.tasks import Prepared, TaskSpec, _seed_of

RESNETS = ("resnet18", "resnet34", "resnet50")
# Every registered classifier (ResNets, VGG-16, AlexNet, STN-ResNet-50): mammoview.nets.archs.
ARCH_NAMES = tuple(CLASSIFIER_ARCHS)
NORMAL_LABELS = {"normal", "norm"}
BENIGN, MALIGNANT = "benign", "malignant"


def _archs(num_classes: int = 2) -> dict[str, tuple[type, dict]]:
    return task_archs(num_classes)


def image_class(item: Item) -> str:
    """"normal", "benign", "malignant", or "" (unknown) for an item."""
    label = (item.label or "").strip().lower()
    if label in NORMAL_LABELS:
        return "normal"
    if label in (BENIGN, MALIGNANT):
        return label
    severities = {f.severity for f in item.findings}
    if MALIGNANT in severities:
        return MALIGNANT
    if BENIGN in severities:
        return BENIGN
    return "normal" if not item.findings and item.mask_path is None and label == "" else ""


def lesion_centres(item: Item, grey_shape: tuple[int, int], scale: float) -> list[tuple[int, int, str]]:
    """(row, col, severity) of each located finding, in working-image pixels.

    MIAS: the Info.txt centre. A labels CSV: the centroid of each connected part of the
    mask, with the image's class as severity.
    """
    out = []
    for f in item.findings:
        if f.has_location:
            out.append((int(round(f.row * scale)), int(round(f.col * scale)), f.severity or ""))
    if not out and item.mask_path is not None:
        from scipy import ndimage as ndi

        mask = read_mask(item.mask_path)
        labels, n = ndi.label(mask)
        for r, c in ndi.center_of_mass(mask, labels, range(1, n + 1)) if n else []:
            out.append((int(round(r * scale)), int(round(c * scale)), image_class(item)))
    return out


class _PatchClassifierTask(TaskSpec):
    """What both stages share: data preparation, batches, loss, metrics."""

    classes: tuple[str, ...] = ()
    archs = _archs()
    default_arch = "resnet18"
    defaults: dict[str, Any] = {
        "epochs": 12, "batch_size": 32, "lr": 1e-3, "patch": 64, "patches_per_image": 24,
        "scale": 0.5, "stride": 32, "enhance": "none", "jitter": 12, "lesion_copies": 8,
        "negative_ratio": 1.0, "dense_negative_share": 0.5, "abnormal_negatives": True, "topk": 3, "val_patches_per_image": 8, "threshold_images": 80,
        # Stage 1 only: hard negatives mined per training image after half the epochs
        # (0 = off) and their share of each epoch's negatives (mammoview.training.hard_negatives).
        "hard_negatives": 5, "hard_share": 0.5,
        # Share of the training patients kept out of training to choose the operating
        # threshold on (0 = on the validation images, reported leave-one-patient-out).
        # Off by default: measured on three splits, a threshold chosen on 15 % of the
        # training patients (30 images) was too noisy to pay for the lost training data
        # (docs/classifier-results.md, "The operating point").
        "calibration_fraction": 0.0,
        "augment": ("flip", "rotate", "zoom", "brightness", "contrast"),
    }
    main_metric = "patch_auc"
    loss_name = "cross-entropy over the classes"

    # ---- what each stage says

    def sample_label(self, severity: str) -> int | None:
        raise NotImplementedError

    def wants_tissue(self) -> bool:
        return False

    def image_label(self, item: Item) -> int | None:
        raise NotImplementedError

    # ---- preparation

    def command_options(self, settings):
        return [*(["--input-enhance", str(settings["enhance"])] if settings.get("enhance") else []),
                "--calibration-fraction", f"{float(settings.get('calibration_fraction') or 0):g}"]

    def identity_options(self, settings):
        share = float(settings.get("calibration_fraction") or 0)
        return {"calibration_fraction": share} if share else {}

    def _prep(self, settings: dict, mean: float = 0.0, std: float = 1.0, threshold: float = 0.5) -> Preprocessing:
        return Preprocessing(scale=float(settings["scale"]), patch=int(settings["patch"]),
                             stride=int(settings["stride"]), enhance=str(settings["enhance"]),
                             mean=mean, std=std, topk=int(settings["topk"]), threshold=threshold)

    def build(self, arch: str):
        net = super().build(arch)
        if getattr(net, "sr", None) is not None:
            # stn-resnet50-sr: the frozen super-resolution front comes from the active
            # superres model (refused with its reason when there is none).
            from mammoview.nets.stn import attach_superres

            attach_superres(net)
        return net

    def prepare(self, train, val, settings):
        # Before any image is read: an architecture that cannot take the patch size.
        if settings.get("arch"):
            check_input_size(settings["arch"], int(settings["patch"]))
        prep = self._prep(settings)
        patch = prep.patch
        ctx = int(np.ceil(patch * 1.5)) + 2 * int(settings["jitter"])
        ctx += ctx % 2
        per_normal = int(settings["patches_per_image"])
        val_per_normal = int(settings["val_patches_per_image"])
        calibration = set(self.calibration_ids(train, float(settings.get("calibration_fraction") or 0),
                                               settings["seed"]))
        threshold_ids = calibration or set(self._threshold_subset(
            train, int(settings.get("threshold_images", 0)), settings["seed"]))
        total = len(train) + len(val)
        done = 0
        out: dict[str, dict[str, Any]] = {}
        skipped_no_centre: list[str] = []
        mining = self.wants_tissue() and int(settings.get("hard_negatives") or 0) > 0
        pool: dict[str, dict[str, Any]] = {}
        for part, items in (("train", train), ("val", val)):
            windows, labels, kinds, owners = [], [], [], []
            images: dict[str, dict[str, Any]] = {}
            for item in items:
                grey = load_grey(item.path)
                work = working_image(grey, prep)
                breast = breast_region(work)
                cls = image_class(item)
                centres = lesion_centres(item, grey.shape, prep.scale)
                size = ctx if part == "train" else patch
                trains = part == "train" and item.id not in calibration
                if cls in (BENIGN, MALIGNANT) and (trains or part == "val"):
                    for r, c, sev in centres:
                        y = self.sample_label(sev or cls)
                        if y is None:
                            continue
                        windows.append(crop_windows(work, np.array([[r, c]]), size)[0])
                        labels.append(y)
                        kinds.append("lesion")
                        owners.append(item.id)
                    if not centres:
                        skipped_no_centre.append(item.id)
                if self.wants_tissue() and (trains or part == "val") and (
                        cls == "normal" or (part == "train" and centres and settings.get("abnormal_negatives"))):
                    rng = np.random.default_rng(_seed_of(settings["seed"], part, item.id))
                    count = per_normal if part == "train" else val_per_normal
                    if cls != "normal":
                        count = max(1, count // 2)
                    cs = self._tissue_centres(work, breast, centres, count, rng, settings, part)
                    if len(cs):
                        windows.extend(crop_windows(work, cs, size))
                        labels.extend([0] * len(cs))
                        kinds.extend(["tissue"] * len(cs))
                        owners.extend([item.id] * len(cs))
                if mining and trains and (cls == "normal" or (cls and centres)):
                    # Images whose lesion is not located cannot give a negative safely.
                    located = [(int(round(f.row * prep.scale)), int(round(f.col * prep.scale)),
                                float(f.radius or 0) * prep.scale) for f in item.findings if f.has_location]
                    located = located or [(r, c, 0.0) for r, c, _ in centres]
                    pool[item.id] = {"work": work, "breast": breast, "reach": hn.lesion_reach(located, patch)}
                y_img = self.image_label(item)
                keep_image = y_img is not None and (part == "val" or item.id in threshold_ids)
                if keep_image:
                    images[item.id] = {"work": work, "breast": breast, "label": y_img, "patient": item.patient,
                                       "centres": [(r, c) for r, c, _ in centres], "class": cls}
                done += 1
                yield Progress(done, total, f"preparing {item.path.name}")
            out[part] = {
                "windows": np.stack(windows).astype(np.float32) if windows else np.zeros((0, size, size), np.float32),
                "labels": np.asarray(labels, np.int64), "kinds": kinds, "owners": owners,
                "images": images, "ids": [i.id for i in items],
            }
        tw = out["train"]["windows"]
        if len(tw) == 0 or len(set(out["train"]["labels"].tolist())) < 2:
            from mammoview.training.datasets import DatasetError

            raise DatasetError(f"{self.name}: the training patients give patches of one class only; "
                               "more data (or another seed) is needed")
        lo = (ctx - patch) // 2
        centre_px = tw[:, lo : lo + patch, lo : lo + patch]
        prep = self._prep(settings, mean=float(centre_px.mean()), std=float(centre_px.std() or 1.0))
        out["train"]["jitter"] = min(int(settings["jitter"]), (ctx - patch) // 2)
        out["train"]["mining_pool"] = pool
        out["train"]["calibration"] = sorted(calibration)
        return Prepared(
            train=out["train"], val=out["val"], train_ids=out["train"]["ids"], val_ids=out["val"]["ids"],
            preprocessing={
                **prep.to_dict(),
                "input": "greyscale, min-max scaled per image to [0, 1], bright = dense (MONOCHROME1 inverted)",
                "resize": f"area-average downscale by {prep.scale:g} (MIAS 1024 px -> {int(1024 * prep.scale)} px)",
                "enhancement": ("wavelet (mammoview.enhance.wavelet.enhance_wavelet defaults: db4, 4 levels, "
                                "gain 2, BayesShrink denoising) on the downscaled image"
                                if prep.enhance == "wavelet" else "none"),
                "breast": "mammoview.segmentation.breast.segment_breast on the downscaled image; "
                          "sliding windows whose centre is in the breast",
                "normalisation": "(x - mean) / std with the training patches' mean and std; 1 channel "
                                 "(conv1 adapted to greyscale)",
                "window": f"{prep.patch} x {prep.patch} px, zero-padded beyond the image edge",
                "image_score": f"mean of the top {prep.topk} window probabilities (sliding window, "
                               f"stride {prep.stride} px)",
                "training_patches": self._training_description(settings),
                "split_note": "the patient split is computed over every image of the data (normal ones "
                              "included), so stage 1 and stage 2 trained with the same --seed and "
                              "--val-fraction share their validation patients",
            },
            notes=[f"{len(skipped_no_centre)} abnormal image(s) without a located finding give no "
                   f"training patch: {', '.join(sorted(skipped_no_centre))}"] if skipped_no_centre else [],
        )

    def _tissue_centres(self, work, breast, centres, count, rng, settings, part):
        """Negative windows: a share (``dense_negative_share``) drawn towards dense tissue, the
        rest uniformly in the breast; never within a patch of a located lesion."""
        avoid = np.zeros(breast.shape, bool)
        if centres:
            rr, cc = np.ogrid[: breast.shape[0], : breast.shape[1]]
            for r, c, _ in centres:
                avoid |= (rr - r) ** 2 + (cc - c) ** 2 <= int(settings["patch"]) ** 2
        share = float(settings.get("dense_negative_share", 0.0)) if part == "train" else 0.0
        n_dense = int(round(share * count))
        dense = random_tissue_centres(breast, n_dense, rng, avoid=avoid,
                                      weights=dense_tissue_weights(work, breast)) if n_dense else np.zeros((0, 2), np.int64)
        uniform = random_tissue_centres(breast, count - len(dense), rng, avoid=avoid)
        return np.concatenate([dense, uniform]) if len(dense) else uniform

    def calibration_ids(self, train: list[Item], fraction: float, seed: int) -> list[str]:
        """The training images kept out of training to choose the threshold: a seeded
        ``fraction`` of the training *patients* (both breasts together), the same for both
        stages trained with the same seed, so the cascade's two thresholds come from the
        same unseen patients."""
        if fraction <= 0 or not train:
            return []
        by_id = {i.id: i for i in train}
        held = patient_split(list(by_id), lambda i: by_id[i].patient, val_fraction=fraction,
                             seed=_seed_of(seed, "calibration")).val
        return [i for i in held if self.image_label(by_id[i]) is not None]

    def _threshold_subset(self, train: list[Item], n: int, seed: int) -> list[str]:
        """Up to ``n`` training images (all classes in proportion, seeded) scored at image
        level to choose the operating threshold."""
        usable = [i for i in train if self.image_label(i) is not None]
        if n <= 0 or not usable:
            return []
        rng = np.random.default_rng(_seed_of(seed, "threshold"))
        pick = rng.permutation(len(usable))[: min(n, len(usable))]
        return [usable[i].id for i in sorted(pick)]

    def _training_description(self, settings: dict) -> str:
        raise NotImplementedError

    # ---- epochs and batches

    def epoch_indices(self, prepared, rng, settings=None):
        s = settings or self.defaults
        kinds = np.asarray(prepared.train["kinds"])
        lesion = np.flatnonzero(kinds == "lesion")
        tissue = np.flatnonzero(kinds == "tissue")
        copies = int(s.get("lesion_copies", 8))
        chosen = [np.repeat(lesion, copies)]
        if len(tissue):
            n_neg = min(len(tissue), int(round(float(s.get("negative_ratio", 1.0)) * len(lesion) * copies)))
            chosen.append(hn.draw_negatives(kinds, n_neg, float(s.get("hard_share", 0.5)), rng))
        return rng.permutation(np.concatenate(chosen))

    def batch(self, prepared, idx, rng, aug):
        from mammoview.training.augment import augment_pair

        windows = prepared.train["windows"]
        ctx = windows.shape[-1]
        patch = int(prepared.preprocessing["patch"])
        jitter = int(prepared.train["jitter"])
        xs = []
        for i in idx:
            img, _ = augment_pair(windows[i], None, rng, aug)
            dr, dc = rng.integers(-jitter, jitter + 1, size=2) if jitter > 0 else (0, 0)
            r0 = (ctx - patch) // 2 + int(dr)
            c0 = (ctx - patch) // 2 + int(dc)
            xs.append(img[r0 : r0 + patch, c0 : c0 + patch])
        prep = Preprocessing.from_dict(prepared.preprocessing)
        x = (np.stack(xs) - prep.mean) / prep.std
        return torch.from_numpy(x[:, None].astype(np.float32)), torch.from_numpy(prepared.train["labels"][idx])

    def loss(self, output, target):
        return F.cross_entropy(output, target)

    # ---- validation

    def evaluate(self, model, prepared, device):
        val = prepared.val
        if not len(val["labels"]) or len(set(val["labels"].tolist())) < 2:
            return {}
        prep = Preprocessing.from_dict(prepared.preprocessing)
        p = predict_patches(model, val["windows"], prep)[:, 1]
        y = val["labels"]
        # The training loss on the validation patches (cross-entropy from the softmax).
        p_true = np.clip(np.where(y == 1, p, 1.0 - p), 1e-7, 1.0)
        return {"patch_auc": scoring.auc(y, p), "patch_accuracy": float(((p >= 0.5) == y).mean()),
                "patch_positives": int(y.sum()), "patch_negatives": int((1 - y).sum()),
                "val_loss": float(-np.log(p_true).mean())}

    def final_checks(self, model, prepared, settings, device):
        prep = Preprocessing.from_dict(prepared.preprocessing)
        val = prepared.val
        checks: dict[str, Any] = {}
        if len(val["labels"]) and len(set(val["labels"].tolist())) >= 2:
            p = predict_patches(model, val["windows"], prep)[:, 1]
            owners = np.asarray(val["owners"])
            patients = [self._patient(prepared, o) for o in owners]
            checks["patch_level"] = {
                "what": self._patch_description(),
                **scoring.binary_report(val["labels"], p, threshold=0.5, groups=patients, seed=settings["seed"]),
                "threshold_chosen": "fixed 0.5 (patches are trained class-balanced)",
            }
        scores = self.image_scores(model, val["images"], prep)
        ids = list(scores)
        y = [val["images"][k]["label"] for k in ids]
        groups = [val["images"][k]["patient"] for k in ids]
        threshold, calls = self._choose_threshold(model, prepared, prep, settings, checks, y,
                                                  [scores[k] for k in ids], groups)
        if scores:
            report = scoring.binary_report(y, [scores[k] for k in ids], threshold=threshold, groups=groups,
                                           seed=settings["seed"], calls=calls)
            checks["image_level"] = {"what": self._image_description(), **report,
                                     "threshold_chosen": prepared.preprocessing["threshold_chosen"],
                                     "scores": {k: round(float(v), 5) for k, v in scores.items()}}
        checks["reported_by_papers"] = PAPER_CLAIMS
        checks["why_ours_differ"] = WHY_DIFFERENT
        checks["loss"] = "cross-entropy over 2 classes (the engine's generic 'loss' entry does not apply)"
        return checks

    def _choose_threshold(self, model, prepared, prep, settings, checks, val_y, val_scores, val_groups):
        """The operating threshold (written into the preprocessing) and, when it is chosen on
        the validation images themselves, the leave-one-patient-out calls to report.

        In order of preference: the calibration images (training patients kept out of
        training, ``calibration_fraction``); else the validation images (unseen by
        training; the rates reported are then leave-one-patient-out, see
        :func:`~mammoview.classification.scoring.held_out_calls`); else, when validation
        lacks a class, a subset of training images (biased: the network fitted them).
        """
        held = prepared.train.get("calibration") or []
        seed = settings["seed"]
        if not held and len(set(val_y)) == 2:
            threshold = scoring.youden_threshold(val_y, val_scores)
            prepared.preprocessing["threshold"] = threshold
            prepared.preprocessing["threshold_chosen"] = (
                f"Youden's J on the image scores of the {len(val_y)} validation images (patients never "
                "trained on); the card's sensitivity, specificity, precision, F1, MCC and confusion matrix "
                "are leave-one-patient-out: each patient's images are called at the threshold chosen on "
                "the other validation patients, so no image's own label sets its call")
            return threshold, scoring.held_out_calls(val_y, val_scores, val_groups)
        images = prepared.train["images"]
        train_scores = self.image_scores(model, images, prep)
        ty = [images[k]["label"] for k in train_scores]
        threshold = scoring.youden_threshold(ty, list(train_scores.values())) if train_scores else 0.5
        prepared.preprocessing["threshold"] = threshold
        if not held:
            prepared.preprocessing["threshold_chosen"] = (
                f"Youden's J on the image scores of {len(train_scores)} training images "
                "(a seeded subset of the training patients; never the validation ones)")
            return threshold, None
        patients = [images[k]["patient"] for k in train_scores]
        prepared.preprocessing["threshold_chosen"] = (
            f"Youden's J on the image scores of {len(train_scores)} calibration images: "
            f"{len(set(patients))} training-side patients kept out of training (never the validation ones)")
        if len(set(ty)) == 2:
            report = scoring.binary_report(ty, list(train_scores.values()), threshold=threshold,
                                           groups=patients, seed=seed)
            checks["calibration"] = {
                "what": "the calibration patients (unseen in training; their images chose the threshold, "
                        "so sensitivity and specificity here would be optimistic, the AUC is not)",
                **{k: report[k] for k in ("n", "positives", "auc", "auc_ci95")},
                "ids": sorted(train_scores), "patients": sorted(set(patients))}
        return threshold, None

    def _patient(self, prepared, image_id: str) -> str:
        for part in (prepared.val, prepared.train):
            if image_id in part["images"]:
                return part["images"][image_id]["patient"]
        # MIAS pairs: mdb(2k-1), mdb(2k) -> k.
        from mammoview.io.mias import mias_number, mias_patient

        n = mias_number(image_id)
        return f"mias-{mias_patient(n)}" if n else image_id

    def image_scores(self, model, images: dict, prep: Preprocessing) -> dict[str, float]:
        raise NotImplementedError

    def _patch_description(self) -> str:
        raise NotImplementedError

    def _image_description(self) -> str:
        raise NotImplementedError


class Stage1Task(_PatchClassifierTask):
    """Stage 1: normal (0) vs abnormal (1) from lesion and normal-tissue patches."""

    name = "classifier-stage1"
    description = "cascade stage 1: normal vs abnormal (ResNet on patches)"
    classes = ("normal", "abnormal")

    def sample_label(self, severity):
        return 1

    def wants_tissue(self):
        return True

    def image_label(self, item):
        cls = image_class(item)
        return None if cls == "" else int(cls != "normal")

    def _training_description(self, settings):
        return (f"lesion windows centred on the located findings of abnormal images (label 1), "
                f"oversampled x{settings['lesion_copies']} per epoch, against {settings['patches_per_image']} "
                f"windows per normal image inside the breast (label 0; a share of "
                f"{settings['dense_negative_share']:g} drawn towards dense tissue, the rest uniformly)"
                + (", plus half as many from abnormal images at least a window away from their lesions"
                   if settings.get("abnormal_negatives") else "")
                + f", ratio {settings['negative_ratio']:g}; random shift up to {settings['jitter']} px"
                + (f"; from epoch {self.mine_after(settings) + 1} on, {settings['hard_share']:g} of the negatives "
                   f"are hard negatives: the {settings['hard_negatives']} highest-scoring sliding windows per "
                   "training image away from any lesion, mined with the model half-way through training"
                   if int(settings.get("hard_negatives") or 0) > 0 and self.mine_after(settings) >= 1 else ""))

    def command_options(self, settings):
        return [*super().command_options(settings), "--hard-negatives", str(int(settings["hard_negatives"]))]

    def identity_options(self, settings):
        n = int(settings.get("hard_negatives") or 0)
        return {**super().identity_options(settings), **({"hard_negatives": n} if n else {})}

    def mine_after(self, settings) -> int:
        """The epoch (0-based) before which hard negatives are mined: half-way."""
        return int(settings["epochs"]) // 2

    def before_epoch(self, model, prepared, epoch, settings, task_state):
        per_image = int(settings.get("hard_negatives") or 0)
        pool = prepared.train.get("mining_pool") or {}
        after = self.mine_after(settings)
        # A one-epoch run has no half-way point: an untrained network finds nothing hard.
        if per_image <= 0 or not pool or after < 1 or epoch < after or prepared.train.get("hard_added"):
            return
        mined = task_state.get(hn.STATE_KEY)
        if mined is None:  # a fresh run: chosen with the model as it is now
            mined = yield from hn.mine(model, pool, Preprocessing.from_dict(prepared.preprocessing), per_image)
            task_state[hn.STATE_KEY] = mined
        added = hn.add_windows(prepared.train, pool, mined)
        prepared.train["hard_added"] = True  # once per run, even when nothing was found
        yield Progress(len(pool), len(pool), f"{added} hard negative windows from {len(mined)} training images")

    def image_scores(self, model, images, prep):
        out = {}
        for key, im in images.items():
            centres, patches = sliding_windows(im["work"], im["breast"], prep)
            if not len(patches):
                continue
            out[key] = topk_mean(predict_patches(model, patches, prep)[:, 1], prep.topk)
        return out

    def _patch_description(self):
        return ("validation patients: windows centred on located lesions (abnormal) vs windows at random "
                "positions inside the breast of normal images")

    def _image_description(self):
        return ("validation patients, every image (abnormal images without a located finding included): "
                "sliding window over the breast, image score = top-k mean of p(abnormal)")


class Stage2Task(_PatchClassifierTask):
    """Stage 2: benign (0) vs malignant (1) from lesion patches."""

    name = "classifier-stage2"
    description = "cascade stage 2: benign vs malignant (ResNet on lesion patches)"
    classes = ("benign", "malignant")
    defaults = {**_PatchClassifierTask.defaults, "lesion_copies": 16}

    # select() keeps every image, normal ones included, so that the patient split is the
    # very split stage 1 gets with the same seed and fraction: the cascade can then be
    # measured on patients neither stage has seen. Normal images give stage 2 no patch.

    def sample_label(self, severity):
        return {BENIGN: 0, MALIGNANT: 1}.get(severity)

    def image_label(self, item):
        cls = image_class(item)
        return {BENIGN: 0, MALIGNANT: 1}.get(cls)

    def _training_description(self, settings):
        return (f"windows centred on the located findings: benign (0) vs malignant (1), every lesion "
                f"oversampled x{settings['lesion_copies']} per epoch; random shift up to {settings['jitter']} px")

    def image_scores(self, model, images, prep):
        """Lesion location given: mean p(malignant) over the image's located lesions, each
        scored on its centre window and four windows shifted by a quarter patch."""
        out = {}
        q = prep.patch // 4
        shifts = np.array([[0, 0], [q, 0], [-q, 0], [0, q], [0, -q]])
        for key, im in images.items():
            if not im["centres"]:
                continue
            centres = np.concatenate([np.asarray(c)[None] + shifts for c in im["centres"]])
            p = predict_patches(model, crop_windows(im["work"], centres, prep.patch), prep)[:, 1]
            out[key] = float(p.mean())
        return out

    def _patch_description(self):
        return "validation patients: windows centred on located lesions, benign vs malignant"

    def _image_description(self):
        return ("validation patients, abnormal images with a located finding: lesion location GIVEN "
                "(ground-truth centres), image score = mean p(malignant) over its lesions (5 shifted "
                "windows each). The cascade, which must find the lesion itself, is evaluated separately "
                "(docs/classifier-results.md)")


PAPER_CLAIMS = {
    "two-stage ResNet-50 paper (wavelet-enhanced input, normal/abnormal then benign/malignant, MIAS)":
        "accuracies in the high 90s (about 97-99% reported by the paper for its stages); "
        "we quote the range only, not exact per-class figures",
    "ResNet-18 + LIME paper": "high accuracy reported on its own split; not reproduced here",
}
WHY_DIFFERENT = (
    "Ours is measured on patients never seen in training (both breasts of a patient on one side), "
    "at image level, from scratch (no ImageNet start) on about 200 training images; the papers' "
    "figures come from image- or patch-level splits in which patches or the other breast of the same "
    "patient (and augmented copies of the same image) can fall on both sides, which inflates accuracy, "
    "and from pretrained networks. Our validation sets are small (tens of images), so the intervals are wide."
)


CLASSIFIER_TASKS: dict[str, TaskSpec] = {"classifier-stage1": Stage1Task(), "classifier-stage2": Stage2Task()}


def _register() -> None:
    from mammoview.training.tasks import TASKS

    TASKS.update(CLASSIFIER_TASKS)


_register()


def evaluate_cascade(cascade, data, image_ids, *, seed: int = 0, progress=None,
                     held_out: bool = True) -> dict[str, Any]:
    """The whole cascade at image level on ``image_ids`` (e.g. the shared validation patients).

    Stage 1: p_abnormal of every image (normal vs abnormal). Stage 2: p_malignant of the
    abnormal images, where the cascade must find the lesion itself (stage 1's top windows).
    Also the three-class confusion matrix of the labels. Intervals resample patients.

    ``held_out`` (default): the shipped thresholds were chosen on the validation patients,
    so the calls counted (confusion matrices, sensitivity, specificity...) use thresholds
    re-chosen for each patient on the *other* patients (Youden's J on p_abnormal, and on
    p_malignant of their abnormal images); the AUCs do not depend on a threshold. False:
    the models' own thresholds.

    Parameters
    ----------
    cascade : :class:`mammoview.classification.cascade.Cascade`
    data : the MIAS folder (or labels CSV) the ids come from.
    image_ids : the images to score (ids as in the model card's split).
    progress : optional callable(done, total).
    """
    from mammoview.io.raster import read_raster

    items = {i.id: i for i in load_dataset_items(data)}
    rows = []
    for n, image_id in enumerate(image_ids, start=1):
        item = items[image_id]
        cls = image_class(item)
        result = cascade.classify(read_raster(item.path))
        rows.append((image_id, item.patient, cls, result))
        if progress:
            progress(n, len(image_ids))
    done = [r for r in rows if r[3].classified and r[2]]
    t1 = cascade.stages[1].prep.threshold
    t2 = cascade.stages[2].prep.threshold
    thresholds = {r[0]: (t1, t2) for r in done}
    if held_out:
        thresholds = _held_out_thresholds(done)
    label_of = {r[0]: decide_label(r[3].p_abnormal, r[3].p_malignant, *thresholds[r[0]]) for r in done}
    out: dict[str, Any] = {"images": len(rows), "not_classified": {r[0]: r[3].reason for r in rows if not r[3].classified},
                           "thresholds": ("leave-one-patient-out: each patient called at thresholds chosen on the "
                                          "other patients (Youden's J)" if held_out else "the models' own")}
    out["stage1_normal_vs_abnormal"] = scoring.binary_report(
        [int(r[2] != "normal") for r in done], [r[3].p_abnormal for r in done], threshold=t1,
        groups=[r[1] for r in done], seed=seed, calls=[label_of[r[0]] != "normal" for r in done])
    abnormal = [r for r in done if r[2] in (BENIGN, MALIGNANT)]
    if abnormal:
        out["stage2_benign_vs_malignant_cascade"] = scoring.binary_report(
            [int(r[2] == MALIGNANT) for r in abnormal], [r[3].p_malignant for r in abnormal], threshold=t2,
            groups=[r[1] for r in abnormal], seed=seed,
            calls=[r[3].p_malignant >= thresholds[r[0]][1] for r in abnormal])
    labels = ("normal", BENIGN, MALIGNANT)
    out["three_class_confusion"] = {"rows": "truth", "columns": "cascade label", "labels": list(labels),
                                    "matrix": [[sum(1 for r in done if r[2] == t and label_of[r[0]] == p) for p in labels]
                                               for t in labels]}
    out["per_image"] = {r[0]: {"truth": r[2], "p_abnormal": r[3].p_abnormal, "p_malignant": r[3].p_malignant,
                               "label": r[3].label, "suspicion": r[3].suspicion} for r in rows}
    return out


def _held_out_thresholds(rows) -> dict[str, tuple[float, float]]:
    """{image id: (t_abnormal, t_malignant)} chosen on the other patients' rows
    ((id, patient, truth class, Classification)): t_malignant on their abnormal images."""
    patients = [r[1] for r in rows]
    abnormal = [r for r in rows if r[2] in (BENIGN, MALIGNANT)]
    t1 = scoring.held_out_thresholds([int(r[2] != "normal") for r in rows], [r[3].p_abnormal for r in rows], patients)
    t2 = scoring.held_out_thresholds([int(r[2] == MALIGNANT) for r in abnormal], [r[3].p_malignant for r in abnormal],
                                     [r[1] for r in abnormal], for_groups=patients)
    return {r[0]: (t1[r[1]], t2[r[1]]) for r in rows}


def load_dataset_items(data) -> list[Item]:
    from mammoview.training.datasets import load_dataset

    return load_dataset(data, needs_mask=False).items


# --------------------------------------------------------------------------- bilateral evaluation


def stage1_image_scores(model_path, data, image_ids, *, cache=None, progress=None) -> dict[str, float]:
    """Stage 1's plain image score (top-k mean of the sliding-window probabilities, as the
    card's image-level figure) of each image id; images without a window are left out.

    ``cache``: optional JSON path of {id: score} for this model (read, then extended and
    written atomically), so a re-run of the evaluation does not score the images again.
    """
    import json
    from pathlib import Path

    from mammoview.io.atomic import atomic_write
    from mammoview.nets.archs import load_classifier

    module, card = load_classifier(model_path, task="classifier-stage1", device="cpu")
    prep = Preprocessing.from_dict(card.preprocessing or {})
    # The card's own validation image scores come from this very computation at training
    # time (Stage1Task.image_scores): reused, they spare a minute of scoring per model.
    cached: dict[str, float] = {k: float(v) for k, v in
                                ((card.metrics or {}).get("image_level") or {}).get("scores", {}).items()}
    if cache is not None and Path(cache).is_file():
        cached.update({k: float(v) for k, v in json.loads(Path(cache).read_text()).items()})
    items = {i.id: i for i in load_dataset_items(data)}
    todo = [i for i in image_ids if i not in cached and i in items]
    for n, image_id in enumerate(todo, start=1):
        work = working_image(load_grey(items[image_id].path), prep)
        _, patches = sliding_windows(work, breast_region(work), prep)
        if len(patches):
            cached[image_id] = topk_mean(predict_patches(module, patches, prep)[:, 1], prep.topk)
        if progress:
            progress(n, len(todo))
        # Saved as it goes: an interrupted evaluation resumes where it stopped.
        if cache is not None and (n % 10 == 0 or n == len(todo)):
            with atomic_write(cache, "w") as fh:
                fh.write(json.dumps(cached, indent=0, sort_keys=True))
    return {i: cached[i] for i in image_ids if i in cached}


def evaluate_bilateral(model_path, data, *, weight: float = 1.0, cache=None, seed: int = 0,
                       train_patients: int = 40, progress=None) -> dict[str, Any]:
    """Stage 1 at image level, plain top-k score against the bilateral score
    (:mod:`mammoview.classification.bilateral`), on the validation patients of the model
    card's own split; everything chosen (threshold, and the weight reported as
    ``weight_chosen_on_training``) is chosen on the card's *training* images only.

    MIAS pairs come from the file names (mdb(2k-1) right, mdb(2k) left, both MLO). Intervals:
    percentile bootstrap resampling patients. ``train_patients``: how many training patients
    (both images each, a seeded subset; 0 = all) are scored to choose threshold and weight,
    because scoring every image takes minutes on a shared CPU. Returns a JSON-able dict.
    """
    from mammoview.classification import bilateral as bl
    from mammoview.nets.store import read_card

    split = read_card(model_path).split
    items = {i.id: i for i in load_dataset_items(data)}
    out: dict[str, Any] = {"model": str(model_path), "seed": split.get("seed"), "weight": weight}
    ids = {part: [i for i in split[part] if i in items and image_class(items[i])] for part in ("train", "val")}
    patients = sorted({items[i].patient for i in ids["train"]})
    if 0 < train_patients < len(patients):
        rng = np.random.default_rng(_seed_of(seed, "bilateral-train"))
        keep = {patients[j] for j in rng.permutation(len(patients))[:train_patients]}
        ids["train"] = [i for i in ids["train"] if items[i].patient in keep]
    out["train_patients_scored"] = train_patients or len(patients)
    scores = stage1_image_scores(model_path, data, ids["train"] + ids["val"], cache=cache, progress=progress)
    keys = {i: bl.mias_pair_key(i) for i in scores}
    per_part: dict[str, dict] = {}
    for part in ("train", "val"):
        sc = {i: scores[i] for i in ids[part] if i in scores}
        bil = bl.bilateral_scores(sc, keys, weight)
        per_part[part] = {"ids": list(sc), "plain": sc, "bilateral": bil,
                          "y": [int(image_class(items[i]) != "normal") for i in sc],
                          "patients": [items[i].patient for i in sc]}
    tr, va = per_part["train"], per_part["val"]
    t_plain = scoring.youden_threshold(tr["y"], list(tr["plain"].values()))
    t_bil = scoring.youden_threshold(tr["y"], [tr["bilateral"][i].score for i in tr["ids"]])
    paired_tr = [i for i in tr["ids"] if tr["bilateral"][i].paired]
    w_best, w_table = bl.choose_weight(
        [int(image_class(items[i]) != "normal") for i in paired_tr], [scores[i] for i in paired_tr],
        [scores[tr["bilateral"][i].partner] for i in paired_tr])
    out["weight_chosen_on_training"] = {"weight": w_best, "training_auc_by_weight": w_table}

    def report(part, values, threshold):
        r = scoring.binary_report(part["y"], values, threshold=threshold, groups=part["patients"], seed=seed)
        return {k: r[k] for k in ("n", "positives", "auc", "auc_ci95", "threshold", "sensitivity",
                                  "specificity", "mcc")}

    out["train"] = {"plain": report(tr, list(tr["plain"].values()), t_plain),
                    "bilateral": report(tr, [tr["bilateral"][i].score for i in tr["ids"]], t_bil)}
    out["val"] = {"plain": report(va, list(va["plain"].values()), t_plain),
                  "bilateral": report(va, [va["bilateral"][i].score for i in va["ids"]], t_bil)}
    out["val"]["auc_difference"] = _paired_auc_difference(
        va["y"], [va["bilateral"][i].score for i in va["ids"]], list(va["plain"].values()), va["patients"], seed)
    if w_best != weight:
        bil_w = bl.bilateral_scores(va["plain"], keys, w_best)
        tr_w = bl.bilateral_scores(tr["plain"], keys, w_best)
        t_w = scoring.youden_threshold(tr["y"], [tr_w[i].score for i in tr["ids"]])
        out["val"]["bilateral_chosen_weight"] = report(va, [bil_w[i].score for i in va["ids"]], t_w)
        out["val"]["auc_difference_chosen_weight"] = _paired_auc_difference(
            va["y"], [bil_w[i].score for i in va["ids"]], list(va["plain"].values()), va["patients"], seed)
    out["val"]["unpaired"] = [i for i in va["ids"] if not va["bilateral"][i].paired]
    out["train"]["unpaired"] = [i for i in tr["ids"] if not tr["bilateral"][i].paired]
    out["val"]["scores"] = {i: {"plain": round(va["plain"][i], 5), "bilateral": round(va["bilateral"][i].score, 5),
                                "truth": image_class(items[i])} for i in va["ids"]}
    return out



def _paired_auc_difference(y, a, b, patients, seed: int = 0) -> dict[str, Any]:
    """AUC(a) - AUC(b) on the same images, with a paired percentile bootstrap interval
    (patients resampled, both scores of a resample from the same images)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)

    def diff(labels, idx):
        idx = np.asarray(idx).astype(np.int64)
        return scoring.auc(labels, a[idx]) - scoring.auc(labels, b[idx])

    low, high = scoring.bootstrap_ci(y, np.arange(len(a)), diff, groups=patients, seed=seed)
    return {"difference": scoring.auc(y, a) - scoring.auc(y, b), "ci95": [low, high],
            "method": "paired percentile bootstrap, patients resampled, 2000 resamples"}
