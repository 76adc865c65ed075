"""Benchmark the enhancement and metric building blocks at MIAS and full-field sizes.

Run:  .venv/bin/python bench/bench_enhance.py [--repeats N]

For each operation it prints the best-of-N wall time at 1024 x 1024 (a real MIAS image,
mdb001) and at full-field size (the real 4664 x 3064 WG04 mammogram, decoded with pydicom's
JPEG 2000 plugin; a synthetic 3328 x 4084 array if that file or its decoder is missing),
next to a reference measured in the same process on the same image, and the ratio
ours / reference (< 1 means faster than the reference).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage as ndi
from skimage import exposure
from skimage.metrics import structural_similarity

from mammoview.enhance.adaptive_median import filter_adaptive_median
from mammoview.enhance.clahe import enhance_clahe
from mammoview.enhance.median_lcm import enhance_lime_pipeline
from mammoview.enhance.params import as_unit_float
from mammoview.enhance.superres import superresolve
from mammoview.enhance.views import compute_view
from mammoview.enhance.wavelet import enhance_wavelet
from mammoview.imaging.metrics import ssim

DATA = Path(os.environ.get("MAMMOVIEW_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def load_mias() -> tuple[np.ndarray, str]:
    path = DATA / "mias" / "mdb001.png"
    if path.exists():
        return np.asarray(PILImage.open(path)), "MIAS mdb001 (real, uint8)"
    rng = np.random.default_rng(0)
    return (rng.random((1024, 1024)) * 255).astype(np.uint8), "synthetic 1024x1024 uint8"


def load_full_field() -> tuple[np.ndarray, str]:
    path = DATA / "dicom-samples" / "mammo" / "wg04_MG1_J2KI.dcm"
    try:
        import pydicom

        pixels = pydicom.dcmread(path).pixel_array
        return pixels, f"WG04 MG1 (real, {pixels.shape[0]}x{pixels.shape[1]} {pixels.dtype})"
    except Exception as exc:  # missing file or decoder: fall back, and say so
        print(f"(full-field DICOM unavailable: {exc}; using a synthetic array)", file=sys.stderr)
        rng = np.random.default_rng(0)
        rr, cc = np.mgrid[0:3328, 0:4084]
        img = 2000 + 800 * np.sin(rr / 200) * np.cos(cc / 300) + rng.normal(0, 40, rr.shape)
        return img.astype(np.uint16), "synthetic 3328x4084 uint16"


def cases(img: np.ndarray):
    """(name, ours, reference name, reference) for one image."""
    x = as_unit_float(img)
    noisy = np.clip(x + np.random.default_rng(1).normal(0, 0.02, x.shape), 0, 1).astype(np.float32)
    x64, n64 = x.astype(np.float64), noisy.astype(np.float64)
    box = ("uniform_filter 5x5", lambda: ndi.uniform_filter(x, 5))
    return [
        ("wavelet db4 L4 gain2 denoise", lambda: enhance_wavelet(img), *box),
        ("clahe 0.01 8x8", lambda: enhance_clahe(img),
         "skimage equalize_adapthist", lambda: exposure.equalize_adapthist(x, clip_limit=0.01)),
        ("clahe + wiener", lambda: enhance_clahe(img, denoise="wiener"), *box),
        ("adaptive median max 7", lambda: filter_adaptive_median(img),
         "scipy median_filter 3x3", lambda: ndi.median_filter(x, 3)),
        ("lime pipeline", lambda: enhance_lime_pipeline(img), *box),
        ("superres (bicubic x2)", lambda: superresolve(img),
         "scipy zoom order=3 x2", lambda: ndi.zoom(x, 2, order=3)),
        ("ssim (full res)", lambda: ssim(x, noisy),
         "skimage structural_similarity", lambda: structural_similarity(
             x64, n64, data_range=1.0, gaussian_weights=True, sigma=1.5,
             use_sample_covariance=False)),
        ("compute_view('clahe') incl. metrics", lambda: compute_view("clahe", img), *box),
        ("compute_view('wavelet') incl. metrics", lambda: compute_view("wavelet", img), *box),
    ]


def run(img: np.ndarray, title: str, repeats: int) -> None:
    print(f"\n== {title}, best of {repeats} ==")
    print(f"{'operation':40s} {'ours s':>8s}  {'reference':30s} {'ref s':>8s} {'ratio':>6s}")
    for name, ours, ref_name, ref in cases(img):
        t_ours = best_time(ours, repeats)
        t_ref = best_time(ref, repeats)
        print(f"{name:40s} {t_ours:8.3f}  {ref_name:30s} {t_ref:8.3f} {t_ours / t_ref:6.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    img, title = load_mias()
    run(img, title, args.repeats)
    img, title = load_full_field()
    run(img, title, max(1, args.repeats - 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
