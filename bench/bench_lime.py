"""LIME: mammoview.explain against the ``lime`` package's default image pipeline, and Grad-CAM.

Needs the ``bench`` extra (``pip install -e '.[test,bench]'``) and the MIAS images
(../shared/data/mias or $MAMMOVIEW_DATA/mias).

The model
---------
The bench trains its own model, deterministically (seed 0), in a minute or two on the CPU,
so the comparison does not move when the shipped weights change (bench_explain_pointing.py
measures the explanations of the shipped model on held-out lesions): a torchvision
ResNet-18 (random init, 2 classes, grey replicated to 3 channels) that tells a MIAS
finding from normal breast tissue on 64 x 64 patches at 0.8 mm per pixel (MIAS
block-averaged 4 x 4). Positives are windows on MIAS findings (jittered,
flipped), negatives windows inside the breast of normal images; the patient of the
explained image is held out, as are 15 % of the other patients for the accuracy printed.
The weights are cached in the temp folder (``--retrain`` ignores the cache).

The explained image is a 256 x 256 crop at full resolution (51 mm) around the held-out
finding; ``predict`` block-averages it to the model's 64 x 64 and returns softmax
probabilities. Both explainers see the same crop and call the same ``predict``.

Agreement (the two methods cut the image differently, so two measures)
---------------------------------------------------------------------
* **area**: the lime package with its defaults (quickshift segmentation, segment-mean
  hiding, 1000 samples, batch 10) gives its top-5 positive superpixels (largest positive
  weights); agreement = the fraction of their area (within the breast) that our top-5
  positive superpixels cover.
* **same segments**: the lime package run on *our* superpixels (``segmentation_fn``), still
  with its own sampling, hiding and regression at 1000 samples; agreement =
  |our top-5 positive ∩ its top-5 positive| / 5.
Each is also measured between two seeds of the lime package itself: the ceiling one can
expect, since LIME is a random estimate.

Run: ``python bench/bench_lime.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TQDM_DISABLE", "1")  # the lime package's progress bar
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torchvision  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from mammoview.explain import explain_lime  # noqa: E402
from mammoview.explain.gradcam import gradcam, gradcam_for_image  # noqa: E402
from mammoview.explain.lime import to_unit  # noqa: E402
from mammoview.explain.superpixels import compute_superpixels  # noqa: E402
from mammoview.io.mias import mias_patient, parse_info  # noqa: E402
from mammoview.io.raster import read_raster  # noqa: E402
from mammoview.segmentation import segment_breast  # noqa: E402

STEP = 4  # 1024 -> 256: 0.8 mm pixels for the model
PATCH = 64  # model input, at 0.8 mm
CROP = PATCH * STEP  # the explained image, at full resolution
EPOCHS = 4
SEED = 0
TOP = 5


def data_dir() -> Path:
    env = os.environ.get("MAMMOVIEW_DATA")
    path = (Path(env) if env else ROOT.parent / "shared" / "data") / "mias"
    if not (path / "Info.txt").exists():
        sys.exit(f"MIAS not found at {path} (set MAMMOVIEW_DATA)")
    return path


def block_mean(a: np.ndarray, step: int) -> np.ndarray:
    """(..., H, W) -> (..., H/step, W/step) mean; H and W are multiples of step."""
    h, w = a.shape[-2] // step, a.shape[-1] // step
    return a.reshape(*a.shape[:-2], h, step, w, step).mean(axis=(-3, -1))


# ---------------------------------------------------------------- the model


def build_model() -> torch.nn.Module:
    torch.manual_seed(SEED)
    return torchvision.models.resnet18(num_classes=2)


def as_input(patches: np.ndarray) -> torch.Tensor:
    """(N, 64, 64) in [0, 1] -> (N, 3, 64, 64) standardised as in training."""
    x = torch.from_numpy(np.ascontiguousarray(patches, np.float32))
    x = (x - 0.5) / 0.25
    return x[:, None].expand(-1, 3, -1, -1)


def make_patches(mias: Path, info, held_out_patient: int):
    """Positive windows on findings, negative windows in normal breasts, and patient ids."""
    rng = np.random.default_rng(SEED)
    xs, ys, pats = [], [], []
    half = PATCH // 2
    for ref, entry in sorted(info.items()):
        patient = mias_patient(ref)
        if patient == held_out_patient:
            continue
        small = block_mean(read_raster(mias / f"{ref}.png").pixels.astype(np.float32) / 255.0, STEP)
        padded = np.pad(small, half, mode="constant")
        if entry.ground_truth == "normal":
            breast = segment_breast(small)
            rr, cc = np.nonzero(breast)
            picks = rng.choice(rr.size, size=3, replace=False)
            centres = [(rr[i], cc[i]) for i in picks]
            label = 0
        else:
            centres = []
            for f in entry.findings():
                if f.has_location:
                    for _ in range(3):
                        jr, jc = rng.integers(-8, 9, size=2)
                        centres.append((int(f.row / STEP) + jr, int(f.col / STEP) + jc))
            label = 1
        for r, c in centres:
            r = int(np.clip(r, 0, small.shape[0] - 1)) + half
            c = int(np.clip(c, 0, small.shape[1] - 1)) + half
            xs.append(padded[r - half : r + half, c - half : c + half])
            ys.append(label)
            pats.append(patient)
    return np.stack(xs), np.array(ys), np.array(pats)


def train_model(mias: Path, info, held_out_patient: int, *, retrain: bool) -> tuple[torch.nn.Module, str]:
    key = hashlib.sha256(f"{SEED}-{EPOCHS}-{PATCH}-{STEP}-{held_out_patient}-v1".encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"mammoview-bench-lime-resnet18-{key}.safetensors"
    model = build_model()
    if cache.exists() and not retrain:
        model.load_state_dict(load_file(str(cache)))
        return model.eval(), f"cached weights {cache}"
    t0 = time.perf_counter()
    x, y, pats = make_patches(mias, info, held_out_patient)
    patients = np.unique(pats)
    val_patients = np.random.default_rng(SEED).choice(patients, size=max(1, int(0.15 * patients.size)), replace=False)
    val = np.isin(pats, val_patients)
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    xt, yt = x[~val], torch.from_numpy(y[~val])
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(xt), generator=gen).numpy()
        for start in range(0, len(order), 32):
            idx = order[start : start + 32]
            batch = xt[idx]
            flips = torch.rand(2, generator=gen) < 0.5
            batch = batch[:, ::-1] if flips[0] else batch
            batch = batch[:, :, ::-1] if flips[1] else batch
            loss = torch.nn.functional.cross_entropy(model(as_input(batch)), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(as_input(x[val])).argmax(1).numpy()
    acc = float((pred == y[val]).mean())
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(cache))
    note = (
        f"trained in {time.perf_counter() - t0:.0f} s: {int((~val).sum())} patches "
        f"({int(y[~val].sum())} findings), {EPOCHS} epochs; held-out patients' patch accuracy "
        f"{acc:.2f} on {int(val.sum())} patches ({int(y[val].sum())} findings)"
    )
    return model, note


def make_predict(model: torch.nn.Module):
    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = model(as_input(block_mean(np.asarray(batch, np.float32), STEP)))
        return torch.softmax(logits, 1).numpy().astype(np.float64)

    return predict


# ---------------------------------------------------------------- comparisons


def lime_package(image: np.ndarray, predict, *, seed: int, segmentation=None):
    """The lime package's image explainer with its defaults (timed by the caller)."""
    from lime import lime_image

    explainer = lime_image.LimeImageExplainer(random_state=seed)
    kwargs = {} if segmentation is None else {"segmentation_fn": lambda _img: segmentation}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ex = explainer.explain_instance(
            image, lambda imgs: predict(imgs[..., 0]), num_samples=1000, batch_size=10, **kwargs
        )
    return ex


def their_top(ex, label: int, *, exclude=()) -> list[int]:
    pairs = [(int(s), float(w)) for s, w in ex.local_exp[label] if w > 0 and int(s) not in exclude]
    return [s for s, _ in sorted(pairs, key=lambda p: -p[1])[:TOP]]


def area_agreement(ref_segments, ref_top, our_region, breast) -> float:
    ref_region = np.isin(ref_segments, ref_top) & breast
    return float((ref_region & our_region).sum() / max(1, ref_region.sum()))


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", default="mdb028", help="held-out MIAS image with a located finding")
    parser.add_argument("--samples", default="150,300", help="our sample counts to try")
    parser.add_argument("--ceiling", action="store_true", help="also run the lime package with seed 1 (2 more runs)")
    parser.add_argument("--batch", type=int, default=50, help="our batch size")
    parser.add_argument("--retrain", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(SEED)
    mias = data_dir()
    info = parse_info(mias / "Info.txt")
    finding = next(f for f in info[args.image].findings() if f.has_location)
    model, model_note = train_model(mias, info, mias_patient(args.image), retrain=args.retrain)
    predict = make_predict(model)

    full = read_raster(mias / f"{args.image}.png").pixels.astype(np.float32) / 255.0
    # The finding off-centre in the crop, so that "the middle" is not the answer by luck.
    r0 = int(np.clip(finding.row - 0.4 * CROP, 0, full.shape[0] - CROP))
    c0 = int(np.clip(finding.col - 0.6 * CROP, 0, full.shape[1] - CROP))
    image = full[r0 : r0 + CROP, c0 : c0 + CROP].copy()
    breast = segment_breast(full)[r0 : r0 + CROP, c0 : c0 + CROP]
    rr, cc = np.mgrid[:CROP, :CROP]
    lesion = (rr + r0 - finding.row) ** 2 + (cc + c0 - finding.col) ** 2 <= finding.radius**2
    p = predict(image[None])[0, 1]
    print(f"model: torchvision ResNet-18, {model_note}")
    print(f"image: {args.image} crop rows {r0}:{r0 + CROP} cols {c0}:{c0 + CROP} (breast {breast.mean():.0%}), "
          f"finding r={finding.radius:.0f} px; P(finding) = {p:.3f}; torch threads {torch.get_num_threads()}")

    predict(np.repeat(image[None], 10, 0))  # warm-up, outside every timing
    ref, t_ref = timed(lime_package, image, predict, seed=0)
    ours_sp = compute_superpixels(to_unit(image), breast)
    same, t_same = timed(lime_package, image, predict, seed=0, segmentation=ours_sp.labels)
    ref_top, same_top = their_top(ref, 1), their_top(same, 1, exclude={0})
    print(f"\nlime 0.2.0.1 default (quickshift: {ref.segments.max() + 1} segments), 1000 samples, batch 10: "
          f"{t_ref:.2f} s; on our superpixels: {t_same:.2f} s; its top-{TOP} touch the finding: "
          f"{bool(np.isin(ref.segments, ref_top)[lesion].any())}")
    if args.ceiling:
        ref2 = lime_package(image, predict, seed=1)
        same2 = lime_package(image, predict, seed=1, segmentation=ours_sp.labels)
        ceiling_area = area_agreement(ref.segments, ref_top, np.isin(ref2.segments, their_top(ref2, 1)) & breast, breast)
        ceiling_same = len(set(same_top) & set(their_top(same2, 1, exclude={0}))) / TOP
        print(f"  lime seed 0 vs seed 1: area agreement {ceiling_area:.2f}, same-segments agreement {ceiling_same:.2f}")

    print(f"\nours (SLIC on the breast: {ours_sp.count} segments, batch {args.batch}):")
    print(f"{'settings':>34} {'samples':>8} {'time s':>8} {'speed-up':>9} {'area agr.':>10} {'same-seg agr.':>14} "
          f"{'R^2':>6} {'top-1 on finding':>17}")
    runs = [("default (blur hiding, paper sampling)", {}, int(n)) for n in args.samples.split(",")]
    runs.append(("lime's (mean hiding, bernoulli)", {"hide": "mean", "sampling": "bernoulli"}, int(args.samples.split(",")[-1])))
    for name, settings, n in runs:
        res, t = timed(
            explain_lime, image, predict, target=1, num_samples=n, batch_size=args.batch, seed=0, breast_mask=breast, **settings
        )
        area = area_agreement(ref.segments, ref_top, res.region(res.top_positive), breast)
        same_agr = len(set(res.top_positive) & set(same_top)) / TOP
        on_finding = bool(res.region(res.top_positive[:1])[lesion].any())
        print(f"{name:>34} {n:>8} {t:>8.2f} {t_ref / t:>8.1f}x {area:>10.2f} {same_agr:>14.2f} {res.score:>6.2f} "
              f"{on_finding!s:>17}")

    x = as_input(block_mean(image, STEP)[None])
    times = []
    for _ in range(11):
        heat, t = timed(gradcam, model, x, target_layer="layer4", class_index=1)
        times.append(t)
    mapped, t_map = timed(
        gradcam_for_image, model, x, target_layer="layer4", class_index=1, image_shape=full.shape, crop_box=(r0, c0, r0 + CROP, c0 + CROP)
    )
    peak = np.unravel_index(np.argmax(mapped), mapped.shape)
    in_lesion = (peak[0] - finding.row) ** 2 + (peak[1] - finding.col) ** 2 <= finding.radius**2
    print(f"\nGrad-CAM (layer4, 64 x 64 input): median {1000 * statistics.median(times[1:]):.1f} ms "
          f"({t_ref / statistics.median(times[1:]):.0f}x faster than the lime package); mapped onto the "
          f"1024 x 1024 image {1000 * t_map:.1f} ms; peak {peak} inside the finding: {bool(in_lesion)}")


if __name__ == "__main__":
    main()
