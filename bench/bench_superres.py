"""x2 super-resolution of a 1024 x 1024 MIAS image with the shipped EDSR, tile by tile.

Figures, all measured in this process on the same image: the tiled EDSR
(``iter_superresolve``, default 256-pixel tiles with a 16-pixel overlap), bicubic
(``superresolve`` without a model), and one whole-image forward pass of the same network
(no tiling; the reference the tiling overhead is measured against). Also: the number of
progress events and the largest difference between tiled and whole-image outputs.

Run: ``.venv/bin/python bench/bench_superres.py [--tile 256] [--repeat 1]`` (needs the
shipped ``models/superres.*`` or a user model, and ../shared/data or $MAMMOVIEW_DATA).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mammoview.enhance.params import as_unit_float
from mammoview.enhance.superres import iter_superresolve, superres_model_status, superresolve

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MAMMOVIEW_DATA", ROOT.parent / "shared" / "data"))


def _best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--overlap", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=1)
    ns = ap.parse_args()
    import torch

    img = np.asarray(Image.open(DATA / "mias" / "mdb001.png"))
    t0 = time.perf_counter()
    model, reason = superres_model_status(device="cpu")
    if model is None:
        print(f"no model: {reason}")
        return 1
    print(f"model {model.label}, loaded in {time.perf_counter() - t0:.2f} s; "
          f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}")

    t_bic, _ = _best(lambda: superresolve(img), ns.repeat)
    events: list = []

    def tiled():
        events.clear()
        for e in iter_superresolve(img, model, tile=ns.tile, overlap=ns.overlap):
            events.append((time.perf_counter(), e))
        return events[-1][1].partial.array

    t_tiled, out_tiled = _best(tiled, ns.repeat)
    gaps = np.diff([t for t, _ in events])

    def whole():
        with torch.inference_mode():
            x = torch.from_numpy(as_unit_float(img))[None, None]
            return model.module(x)[0, 0].clamp(0, 1).numpy()

    t_whole, out_whole = _best(whole, ns.repeat)
    diff = float(np.abs(out_tiled - out_whole).max())
    print(f"image 1024 x 1024 -> {out_tiled.shape[1]} x {out_tiled.shape[0]}")
    print(f"bicubic                 {t_bic:7.2f} s")
    print(f"EDSR whole image, 1 pass {t_whole:7.2f} s")
    print(f"EDSR tiled {ns.tile}+{ns.overlap}       {t_tiled:7.2f} s  "
          f"(x{t_tiled / t_whole:.2f} of one pass, x{t_tiled / t_bic:.0f} of bicubic)")
    print(f"progress: {len(events)} events ({len(events) - 1} tiles), "
          f"median gap {np.median(gaps):.2f} s, longest {gaps.max():.2f} s")
    print(f"max |tiled - whole| = {diff:.2e} (one 8-bit grey level = {1 / 255:.2e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
