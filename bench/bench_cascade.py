"""Cascade throughput per image against a plain torchvision forward pass of the same windows.

For each real MIAS image: ``Cascade.classify`` (min-max, downscale, breast segmentation,
sliding windows, batched stage 1, stage 2 on the top windows, heatmap) beside one plain
``torchvision.models.resnet18`` forward pass (3 channels, the grey repeated) over the same
number of windows in batches of the same size, in the same process. The ratio says how
much the cascade's own work (preprocessing, segmentation, stage 2, heatmap) adds over the
network's arithmetic. The models are the active ones (user's folder, then shipped
``models/``); with ``--random`` randomly initialised ResNet-18 stages with the default
settings (0.5 scale, 64 px windows, stride 32) stand in.

Run: ``.venv/bin/python bench/bench_cascade.py [--random] [--images 4] [--threads N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import torchvision

from mammoview.classification.cascade import Cascade
from mammoview.classification.preprocess import Preprocessing
from mammoview.io.raster import read_raster

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MAMMOVIEW_DATA", ROOT.parent / "shared" / "data"))
IMAGES = ("mdb001", "mdb002", "mdb023", "mdb024", "mdb028", "mdb059")


def _random_models(folder: Path) -> None:
    from mammoview.nets.resnet import ResNetClassifier
    from mammoview.nets.store import ModelCard, save_model

    prep = Preprocessing(scale=0.5, patch=64, stride=32, mean=0.5, std=0.25)
    for stage, classes in ((1, ["normal", "abnormal"]), (2, ["benign", "malignant"])):
        net = ResNetClassifier("resnet18")
        card = ModelCard(task=f"classifier-stage{stage}", architecture="resnet",
                         arch_params={"arch": "resnet18", "num_classes": 2, "in_ch": 1},
                         preprocessing=prep.to_dict(), classes=classes)
        save_model(net.state_dict(), card, folder / f"classifier-stage{stage}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--random", action="store_true", help="random-weight stages instead of the active models")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--threads", type=int, default=None)
    ns = ap.parse_args()
    if ns.threads:
        torch.set_num_threads(ns.threads)
    paths = [DATA / "mias" / f"{n}.png" for n in IMAGES[: ns.images]]
    if not all(p.is_file() for p in paths):
        print(f"MIAS images not found under {DATA / 'mias'}", file=sys.stderr)
        return 1
    tmp = tempfile.TemporaryDirectory()
    folders = None
    if ns.random:
        _random_models(Path(tmp.name))
        folders = [Path(tmp.name)]
    cascade = Cascade.load(device="cpu", folders=folders)
    prep = cascade.stages[1].prep
    plain = torchvision.models.resnet18(num_classes=2).eval()
    print(f"torch threads {torch.get_num_threads()}, models {cascade.versions}, "
          f"patch {prep.patch}, stride {prep.stride}, scale {prep.scale}")
    cascade.classify(read_raster(paths[0]))  # warm-up
    rows = []
    for path in paths:
        image = read_raster(path)
        t = time.perf_counter()
        result = cascade.classify(image)
        t_cascade = time.perf_counter() - t
        n = max(1, result.windows)
        x = torch.rand(n, 3, prep.patch, prep.patch)
        t = time.perf_counter()
        with torch.no_grad():
            for start in range(0, n, cascade.batch):
                plain(x[start : start + cascade.batch])
        t_plain = time.perf_counter() - t
        rows.append((path.stem, n, t_cascade, t_plain))
        print(f"{path.stem}: {n} windows, cascade {t_cascade:.2f} s ({n / t_cascade:.0f} windows/s), "
              f"plain resnet18 forward {t_plain:.2f} s ({n / t_plain:.0f} windows/s), "
              f"ratio {t_cascade / t_plain:.2f}; {result.describe()}")
    tc = sum(r[2] for r in rows)
    tp = sum(r[3] for r in rows)
    print(f"mean per image: cascade {tc / len(rows):.2f} s, plain forward {tp / len(rows):.2f} s, "
          f"ratio {tc / tp:.2f}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
