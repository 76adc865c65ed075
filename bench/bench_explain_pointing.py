"""Do the explanations point at the finding? LIME and Grad-CAM on held-out MIAS lesions.

A pointing game (Zhang et al., "Top-down neural attention by excitation backprop", ECCV
2016) over every image of a stage-1 model's validation patients (never trained on) that has
a located MIAS finding, with the window's own explanation code (mammoview.gui.aijobs, the
functions the worker processes run) and its defaults (stage 1, LIME 200 samples, seed 0):

* **window**: the classifier's most abnormal window; a hit when its centre lies inside a
  finding's circle. Both explanations look at the windows around it, so this bounds them.
* **Grad-CAM**: a hit when the hottest pixel of the map lies inside a finding's circle.
* **LIME**, for each perturbation (``hide`` x ``sampling``, see mammoview.explain.lime):
  a hit when the superpixel with the largest positive weight overlaps a finding's circle.

Chance, per image: for LIME the share of the breast's superpixels that overlap a circle (what
a superpixel picked at random would score); for Grad-CAM and the window the share of the
breast's area inside a circle. Each is averaged over the images like the hit rates.

Also printed: top-5 agreement between the perturbations on the same superpixels
(|top-5 of one ∩ top-5 of the other| / 5), the measure bench_lime.py uses against the lime
package, here on real images at the window's settings.

Circles are MIAS's (centre, radius of the enclosing circle); a finding without a radius, or
a smaller one, counts as 5 mm (25 pixels at MIAS's 200 microns) so a point is still a region.
Rates come with a 95 % Wilson interval: with 15-20 lesions per split they are wide.

Run:  .venv/bin/python bench/bench_explain_pointing.py [--model STAGE1.safetensors ...]
      [--samples 200] [--limit N]
(each model is explained with the shipped stage 2 beside it; stage 2 plays no part in a
stage-1 explanation.)
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mammoview.classification.patches import topk_indices  # noqa: E402
from mammoview.gui.aijobs import (  # noqa: E402
    DEFAULT_LIME_SAMPLES,
    LIME_SEED,
    explain_setup,
    gradcam_parts,
    lime_parts,
    load_cascade,
)
from mammoview.io.loader import load_image, read_header  # noqa: E402
from mammoview.io.mias import load_info  # noqa: E402
from mammoview.nets.store import read_card  # noqa: E402

MIN_RADIUS_PX = 25.0  # 5 mm at 200 microns
PERTURBATIONS = (("blur", "uniform"), ("mean", "uniform"), ("mean", "bernoulli"))
DEFAULT = PERTURBATIONS[0]  # the window's (mammoview.explain.lime)
TOP_K = 5


def data_root() -> Path:
    return Path(os.environ.get("MAMMOVIEW_DATA", ROOT.parent / "shared" / "data"))


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def circles_mask(shape, circles, scale: float, origin=(0, 0)) -> np.ndarray:
    """Pixels (of a grid at ``scale`` x the original, top-left at ``origin``) in any circle."""
    rows = np.arange(shape[0])[:, None] + origin[0]
    cols = np.arange(shape[1])[None, :] + origin[1]
    inside = np.zeros(shape, bool)
    for r, c, radius in circles:
        inside |= (rows - r * scale) ** 2 + (cols - c * scale) ** 2 <= (radius * scale) ** 2
    return inside


def explain_image(paths, pixels, circles, samples: int) -> dict:
    """Every measure of one image (see the module notes)."""
    cascade = load_cascade(paths)
    setup = explain_setup(cascade, pixels, False, 1)
    if setup.reason:
        return {"reason": setup.reason}
    r0, c0, r1, c1 = setup.box
    breast = setup.breast[r0:r1, c0:c1]
    inside = circles_mask(breast.shape, circles, setup.scale, origin=(r0, c0))
    breast_share = float((inside & breast).sum()) / max(1, int(breast.sum()))
    out = {"area_chance": breast_share}
    top = setup.centres[topk_indices(setup.probs, 1)[0]]
    out["window"] = bool(circles_mask((1, 1), circles, setup.scale, origin=tuple(top))[0, 0])

    result, (heat,) = gradcam_parts(None, pixels, False, paths, 1)
    hot = np.unravel_index(int(np.argmax(heat)), heat.shape)
    out["gradcam"] = bool(inside[hot])

    tops = {}
    for hide, sampling in PERTURBATIONS:
        t0 = time.perf_counter()
        result, (labels,) = lime_parts(None, pixels, False, paths, 1, samples, LIME_SEED,
                                       hide=hide, sampling=sampling)
        out[f"lime_seconds_{hide}_{sampling}"] = time.perf_counter() - t0
        ids = np.arange(1, len(result.weights) + 1)
        touching = np.zeros(len(ids) + 1, bool)
        touching[np.unique(labels[inside & (labels > 0)])] = True
        out["lime_chance"] = float(touching[1:].mean())
        best = int(np.argmax(result.weights)) + 1
        out[f"lime_{hide}_{sampling}"] = bool(result.weights[best - 1] > 0 and touching[best])
        tops[(hide, sampling)] = set(np.argsort(result.weights)[::-1][:TOP_K] + 1)
    for pair in PERTURBATIONS[1:]:
        out[f"agree_{pair[0]}_{pair[1]}"] = len(tops[DEFAULT] & tops[pair]) / TOP_K
    return out


def lesion_images(card_path: Path, limit: int | None):
    """(refnum, path, circles) of the card's validation images with a located finding."""
    card = read_card(card_path)
    mias = data_root() / "mias"
    info = load_info(mias / "Info.txt")
    out = []
    for ref in card.split["val"]:
        entry = info.get(ref)
        findings = [f for f in entry.findings() if f.has_location] if entry else []
        if not findings:
            continue
        circles = [(f.row, f.col, max(float(f.radius or 0), MIN_RADIUS_PX)) for f in findings]
        out.append((ref, mias / f"{ref}.png", circles))
    return out[:limit] if limit else out


def rate(rows, key) -> str:
    values = [r[key] for r in rows if key in r]
    hits = sum(bool(v) for v in values)
    lo, hi = wilson(hits, len(values))
    return f"{hits}/{len(values)} = {hits / max(1, len(values)):.2f} [{lo:.2f}, {hi:.2f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", type=Path,
                        help="a stage-1 .safetensors with its card (repeatable; default: models/)")
    parser.add_argument("--samples", type=int, default=DEFAULT_LIME_SAMPLES)
    parser.add_argument("--limit", type=int, help="only the first N lesion images per model")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    stage2 = ROOT / "models" / "classifier-stage2.safetensors"
    models = args.model or [ROOT / "models" / "classifier-stage1.safetensors"]
    rows = []
    for model in models:
        paths = {1: str(model), 2: str(stage2)}
        for ref, path, circles in lesion_images(model, args.limit):
            pixels = load_image(read_header(path)).pixels
            row = {"model": model.parent.name, "image": ref, **explain_image(paths, pixels, circles,
                                                                             args.samples)}
            rows.append(row)
            marks = " ".join(f"{k}={'hit' if v else 'miss'}" for k, v in row.items()
                             if isinstance(v, bool))
            print(f"{row['model']} {ref}: {marks}", flush=True)
    done = [r for r in rows if "reason" not in r]
    print(f"\n{len(done)} lesion images ({len(rows) - len(done)} not classified), "
          f"{len(models)} model(s), LIME {args.samples} samples, seed {LIME_SEED}")
    print(f"{'explanation':30s} {'hit rate [95 % CI]':28s} chance")
    area = np.mean([r["area_chance"] for r in done])
    lime_chance = np.mean([r["lime_chance"] for r in done])
    print(f"{'top window (classifier)':30s} {rate(done, 'window'):28s} {area:.2f}")
    print(f"{'Grad-CAM hottest pixel':30s} {rate(done, 'gradcam'):28s} {area:.2f}")
    for hide, sampling in PERTURBATIONS:
        key = f"lime_{hide}_{sampling}"
        secs = np.mean([r[f"lime_seconds_{hide}_{sampling}"] for r in done])
        label = f"LIME {hide}/{sampling}" + (" (default)" if (hide, sampling) == DEFAULT else "")
        print(f"{label:30s} {rate(done, key):28s} {lime_chance:.2f}   ({secs:.1f} s per image)")
    for hide, sampling in PERTURBATIONS[1:]:
        key = f"agree_{hide}_{sampling}"
        print(f"top-{TOP_K} agreement, default vs {hide}/{sampling}: "
              f"{np.mean([r[key] for r in done]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
