"""Lesion UNet inference per 1024 x 1024 image against a plain forward pass.

``segment_unet`` (preprocessing from the card: min-max, area-downscale to the working
size; the UNet; bilinear upsampling of the logits; threshold) on a real MIAS image, beside
one forward pass of the same network on the same working-size tensor, measured in the
same process. The model is the active one (user's folder, then shipped ``models/``); with
``--random`` a randomly initialised UNet of the shipped architecture (base 16, depth 4,
working size 256) stands in, which times the same work when no model has shipped.

Run: ``.venv/bin/python bench/bench_unet.py [--random] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mammoview.segmentation.lesions import segment_otsu_candidates, segment_unet
from mammoview.segmentation.unet_infer import load_segmentation_model, prepare_input

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MAMMOVIEW_DATA", ROOT.parent / "shared" / "data"))


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def _random_model(folder: Path) -> Path:
    from mammoview.nets.store import ModelCard, save_model
    from mammoview.nets.unet import UNet

    params = {"in_ch": 1, "out_ch": 1, "base": 16, "depth": 4}
    card = ModelCard(task="segmentation", architecture="unet", arch_params=params,
                     preprocessing={"working_size": 256})
    return save_model(UNet(**params).state_dict(), card, folder / "segmentation")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--random", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ns = ap.parse_args()
    import torch

    img = np.asarray(Image.open(DATA / "mias" / "mdb001.png"))
    with tempfile.TemporaryDirectory() as tmp:
        path = _random_model(Path(tmp)) if ns.random else None
        t0 = time.perf_counter()
        model = load_segmentation_model(path, device="cpu")
        t_load = time.perf_counter() - t0
    print(f"model {model.label} ({'random weights' if ns.random else model.path.name}), "
          f"working size {model.working_size}, loaded in {t_load:.2f} s; "
          f"torch threads {torch.get_num_threads()}")
    x = torch.from_numpy(prepare_input(img, model.working_size))[None, None]

    def forward():
        with torch.inference_mode():
            model.module(x)

    segment_unet(img, model=model)  # warm-up
    best_seg, med_seg = _best(lambda: segment_unet(img, model=model), ns.repeat)
    best_fwd, med_fwd = _best(forward, ns.repeat)
    best_otsu, _ = _best(lambda: segment_otsu_candidates(img), 1)
    print(f"segment_unet, 1024 x 1024:   best {best_seg * 1000:7.1f} ms, median {med_seg * 1000:7.1f} ms")
    print(f"forward pass only ({x.shape[-1]} px): best {best_fwd * 1000:7.1f} ms, median {med_fwd * 1000:7.1f} ms")
    print(f"ratio segment_unet / forward: {best_seg / best_fwd:.2f}")
    print(f"(for scale) segment_otsu_candidates: {best_otsu * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
