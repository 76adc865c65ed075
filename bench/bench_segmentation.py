"""Breast and pectoral segmentation: time per image and Dice against manual outlines.

Times are the median over real images (MIAS 1024 x 1024, DDSM 960 x 480) of
``segment_breast`` and ``segment_pectoral`` (given the breast mask, as the app calls
it), beside two references measured in the same process on the same images:
scikit-image's ``threshold_otsu`` on the full image, and one ``scipy.ndimage.label``
pass over the full-size Otsu mask (the least a full-resolution Otsu + components
method must pay). Dice is on the DDSM tissue test split (6 images), which took no part
in tuning.

Run: ``.venv/bin/python bench/bench_segmentation.py`` (needs ../shared/data or
$MAMMOVIEW_DATA).
"""

from __future__ import annotations

import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu

from mammoview.segmentation import segment_breast, segment_pectoral

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MAMMOVIEW_DATA", ROOT.parent / "shared" / "data"))
REPEATS = 3


def read_gray(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


def dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def best_time(fn, *args, **kwargs) -> float:
    """Best of REPEATS wall-clock runs, in ms (the 2-core machine is shared)."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def otsu_label(image: np.ndarray) -> None:
    ndi.label(image > threshold_otsu(image))


def time_images(name: str, images: list[np.ndarray]) -> None:
    rows = {"segment_breast": [], "segment_pectoral": [], "otsu (skimage)": [], "otsu + label": []}
    for image in images:
        breast = segment_breast(image)
        rows["segment_breast"].append(best_time(segment_breast, image))
        rows["segment_pectoral"].append(best_time(segment_pectoral, image, breast_mask=breast))
        rows["otsu (skimage)"].append(best_time(threshold_otsu, image))
        rows["otsu + label"].append(best_time(otsu_label, image))
    shape = "x".join(map(str, images[0].shape))
    print(f"\n{name}: {len(images)} images of {shape}, ms per image (median, max; best of {REPEATS})")
    ref = float(np.median(rows["otsu (skimage)"]))
    for label, values in rows.items():
        med = float(np.median(values))
        print(f"  {label:18s} {med:7.1f} {max(values):7.1f}   x{med / ref:5.2f} of skimage otsu")


def dice_table() -> None:
    root = DATA / "ddsm-tissue"
    with open(root / "index.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"]
    breast_d, pect_d = [], []
    for r in rows:
        image = read_gray(root / r["image"])
        breast = segment_breast(image)
        breast_d.append(dice(breast, read_gray(root / r["mask_breast"]) > 0))
        pect = segment_pectoral(image, breast_mask=breast)
        pect_d.append(dice(pect, read_gray(root / r["mask_pectoral"]) > 0))
    print(f"\nDice on the DDSM tissue test split ({len(rows)} images)")
    for label, values in (("breast", breast_d), ("pectoral", pect_d)):
        v = np.array(values)
        print(f"  {label:9s} mean {v.mean():.3f}  median {np.median(v):.3f}  min {v.min():.3f}")


def main() -> int:
    if not (DATA / "mias").is_dir() or not (DATA / "ddsm-tissue").is_dir():
        print(f"real data not found at {DATA} (set MAMMOVIEW_DATA)", file=sys.stderr)
        return 1
    mias = [read_gray(p) for p in sorted((DATA / "mias").glob("mdb*.png"))[::8]]
    ddsm = [read_gray(p) for p in sorted((DATA / "ddsm-tissue" / "images").glob("*.png"))[::3]]
    for image in mias[:2]:  # warm up imports and caches
        segment_pectoral(image)
    time_images("MIAS", mias)
    time_images("DDSM", ddsm)
    dice_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
