"""How long the UI thread stalls while the window classifies an image and runs LIME.

The main window (offscreen) shows one image with the LIME layer on; the AI controller
classifies it and runs LIME in the window's process lane (partial overlays streamed back
and drawn as they come). A 5 ms QTimer ticks on the UI thread throughout; the longest gap
between two ticks is the worst stall a user would feel. Target: under 50 ms.

Reference, measured first in the same process: the same work run directly (no Qt):
classification and LIME with the same models, image and sample count, i.e. how long the
UI would freeze if it ran there.

Images: a MIAS image (1024 x 1024) and a full-field image (a 4084 x 3328 synthetic
phantom by default, or ``--image PATH``). Models: the active ones (per-user, then
shipped); without any, random ResNet-18 weights with the default card preprocessing
(scale 0.5, 64-px windows, stride 32), which cost exactly what trained weights cost.
The enhancement panels are switched off so the figures are the AI work's alone.

Run:  .venv/bin/python bench/bench_classify_ui.py [--samples 64] [--image PATH] [--models DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MAMMOVIEW_SR_MODEL", "off")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.bench_ui_stall import TARGET_MS, TickMonitor, wait_for  # noqa: E402


def ensure_models(folder: str | None) -> str:
    """The models folder to use: given, active, or fresh random ResNet-18s (temp dir)."""
    from mammoview.nets.store import find_model

    if folder:
        os.environ["MAMMOVIEW_DATA_DIR"] = str(Path(folder).parent)
        return f"{folder}"
    if all(find_model(t) for t in ("classifier-stage1", "classifier-stage2")):
        return "active models"
    import torch

    from mammoview.classification.preprocess import Preprocessing
    from mammoview.nets.resnet import ResNetClassifier
    from mammoview.nets.store import ModelCard, save_model

    data = Path(tempfile.mkdtemp(prefix="mv-bench-ai-"))
    os.environ["MAMMOVIEW_DATA_DIR"] = str(data)
    prep = Preprocessing(scale=0.5, patch=64, stride=32, mean=0.4, std=0.25)
    for stage in (1, 2):
        torch.manual_seed(stage)
        net = ResNetClassifier("resnet18", num_classes=2, in_ch=1)
        card = ModelCard(task=f"classifier-stage{stage}", architecture=ResNetClassifier.ARCHITECTURE,
                         arch_params={"arch": "resnet18", "num_classes": 2, "in_ch": 1},
                         preprocessing=prep.to_dict(),
                         classes=["normal", "abnormal"] if stage == 1 else ["benign", "malignant"],
                         start="random weights (bench)")
        save_model(net.state_dict(), card, data / "models" / f"classifier-stage{stage}", half=True)
    return "random ResNet-18 (scale 0.5, 64-px windows)"


def images(args):
    from mammoview.core.image import Image, ImageRef, PatientInfo
    from mammoview.io.loader import load_image, read_header
    from mammoview.io.phantom import make_phantom

    out = []
    mias = ROOT.parent / "shared" / "data" / "mias" / "mdb001.png"
    if mias.exists():
        out.append(("MIAS mdb001 (1024 x 1024)", load_image(read_header(mias))))
    if args.image:
        image = load_image(read_header(Path(args.image)))
        out.append((f"{Path(args.image).name} {image.shape[0]} x {image.shape[1]}", image))
    else:
        pixels = make_phantom("RCC", rows=4084, cols=3328, seed=7)
        ref = ImageRef(path="phantom://bench/RCC", kind="phantom", uid="bench-RCC", study_uid="bench",
                       laterality="R", view="CC", patient=PatientInfo(id="BENCH"), rows=4084,
                       cols=3328, synthetic=True)
        out.append(("full-field phantom (4084 x 3328)", Image(pixels=pixels, ref=ref, bits_stored=12)))
    return out


def direct(image, samples: int) -> dict[str, float]:
    from mammoview.gui.aijobs import classify_parts, lime_parts, resolve_models

    paths, error = resolve_models()
    if paths is None:
        raise SystemExit(error)
    t0 = time.perf_counter()
    classify_parts(image.uid, image.pixels, image.is_monochrome1, paths)
    t1 = time.perf_counter()
    lime_parts(image.uid, image.pixels, image.is_monochrome1, paths, 1, samples, 0)
    t2 = time.perf_counter()
    return {"classify": t1 - t0, "lime": t2 - t1}


def in_window(app, image, samples: int) -> dict:
    from mammoview.core.study import Study
    from mammoview.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1500, 950)
    window.show()
    for name in ("wavelet", "clahe", "superres"):
        window.set_panel_visible(name, False)
    window.layers.set_explain_settings(1, samples, emit=False)
    window.layers.set_visible("lime", True)
    window.compute_lane.warm_up()
    window.compute_lane.wait_ready(60)
    study = Study(uid=f"s-{image.uid}", images=[image.ref], label="bench")
    window.image_cache.put(("image", image.uid), image)
    # Models loaded first: the bench phantom cannot be decoded from its address, so the
    # image must be on screen (its pixels shipped) when classification starts.
    window.ai.start()
    wait_for(app, lambda: window.ai.state in ("ready", "disabled"), 300)
    monitor = TickMonitor()
    monitor.start()
    t0 = time.perf_counter()
    window.set_studies([study])
    window.show_image(0, 0)
    uid = image.uid
    done = wait_for(app, lambda: window.ai.state == "disabled" or (
        (window.ai.lime_updates.get(uid) or [0])[-1] >= samples and window.ai.is_idle()), 1800)
    wall = time.perf_counter() - t0
    gaps = monitor.stop()
    out = {"done": done, "wall": wall, "max_gap": float(gaps.max()) if gaps.size else 0.0,
           "p99": float(np.percentile(gaps, 99)) if gaps.size else 0.0,
           "updates": len(window.ai.lime_updates.get(uid, [])), "device": window.ai.device,
           "call": window.ai.panel.fields()["call"], "error": window.ai.error}
    window.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64, help="LIME samples (default 64)")
    parser.add_argument("--image", help="a full-field mammogram file instead of the phantom")
    parser.add_argument("--models", help="a models folder (classifier-stage1/2 with cards)")
    args = parser.parse_args()
    from mammoview.gui.app import create_application

    app = create_application()
    models = ensure_models(args.models)
    print(f"models: {models}; LIME samples: {args.samples}; load average {os.getloadavg()[0]:.2f}")
    worst = 0.0
    for title, image in images(args):
        image = replace(image)
        ref = direct(image, args.samples)
        ui = in_window(app, image, args.samples)
        worst = max(worst, ui["max_gap"])
        print(f"{title}:")
        print(f"  direct (no Qt, this thread): classify {ref['classify']:.2f} s, "
              f"LIME {ref['lime']:.2f} s -> a {1000 * (ref['classify'] + ref['lime']):.0f} ms freeze")
        print(f"  window: longest UI stall {ui['max_gap']:.1f} ms (p99 {ui['p99']:.1f} ms) over "
              f"{ui['wall']:.1f} s; {ui['updates']} LIME overlays drawn; device {ui['device']}; "
              f"call {ui['call']}{'' if ui['done'] else ' (DID NOT FINISH)'}"
              + (f"; error {ui['error']}" if ui['error'] else ""))
        print(f"  stall / direct: {ui['max_gap'] / (1000 * (ref['classify'] + ref['lime'])):.4f}")
    print(f"worst stall {worst:.1f} ms (target < {TARGET_MS:.0f} ms): {'OK' if worst < TARGET_MS else 'OVER'}"
          f"; load average {os.getloadavg()[0]:.2f}")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
