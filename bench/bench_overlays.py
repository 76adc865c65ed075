"""Time to compute and show the segmentation layers, and the longest UI stall meanwhile.

Opens one image in the main window (offscreen), waits until its panels are settled, then
switches on the breast, pectoral and Otsu layers at once and measures:

* the wall time until every layer is drawn on the panels (computed in the window's worker
  processes, codes back through shared memory, drawn as one RGBA-LUT ImageItem per panel);
* the longest gap between two ticks of a 5 ms timer on the UI thread meanwhile (target
  < 50 ms);
* a restyle (colour, opacity, contour) of the three layers on every panel: UI thread only;
* reference: the same three layers computed directly (no Qt, this thread), i.e. how long
  the UI would freeze if they ran there.

Images: a MIAS film (1024 x 1024) and a synthetic full-field view (4084 x 3328 by
default). The load average is printed: other jobs on the machine lengthen every figure.

Run:  .venv/bin/python bench/bench_overlays.py [--mias PATH] [--rows R --cols C]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MAMMOVIEW_SR_MODEL", "off")
os.environ.setdefault("MAMMOVIEW_CONFIG_DIR", tempfile.mkdtemp(prefix="mv-bench-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_ui_stall import TickMonitor, wait_for  # noqa: E402

LAYERS = ("breast", "pectoral", "otsu")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def full_field_image(rows: int, cols: int):
    from mammoview.core.image import Image, ImageRef, PatientInfo
    from mammoview.io.phantom import make_phantom

    pixels = make_phantom("RMLO", rows=rows, cols=cols, seed=11)
    ref = ImageRef(path="phantom://bench/RMLO", kind="phantom", uid="bench-ff-RMLO",
                   study_uid="bench-ff", laterality="R", view="MLO",
                   patient=PatientInfo(id="BENCH"), rows=rows, cols=cols, synthetic=True)
    return Image(pixels=pixels, ref=ref, bits_stored=12)


def direct_reference(image) -> float:
    from mammoview.gui.overlayjobs import compute_layer

    t0 = time.perf_counter()
    for layer in LAYERS:
        compute_layer(layer, image.uid, image.pixels, image.is_monochrome1,
                      image.ref.view or "", "", tuple(image.findings))
    return time.perf_counter() - t0


def measure(app, window, image, label: str) -> None:
    from dataclasses import replace

    from mammoview.core.study import Study

    window.image_cache.put(("image", image.uid), image)
    study = Study(uid=image.ref.study_uid or image.uid, images=[image.ref], label=label)
    done = {"n": 0}
    window.viewsSettled.connect(lambda: done.__setitem__("n", done["n"] + 1))
    window.set_studies([study])
    wait_for(app, lambda: done["n"] > 0 and window.runner.outstanding == 0, 600)
    window.runner.wait_for_done(1000)

    monitor = TickMonitor()
    monitor.start()
    t0 = time.perf_counter()
    for layer in LAYERS:
        window.layers.set_visible(layer, True)
    ok = wait_for(app, lambda: not window._pending_layers and window.runner.outstanding == 0, 600)
    if not ok:  # a figure from unfinished work would be meaningless
        raise SystemExit("the overlay layers did not finish within 600 s")
    app.processEvents()
    wall = time.perf_counter() - t0
    gaps = monitor.stop()
    shown = all(window.viewer.panel("original").masks.is_shown(n) or
                window.overlay_cache.get(window.layer_key(image.uid, n)).codes is None
                for n in LAYERS)

    monitor.start()
    t1 = time.perf_counter()
    for layer in LAYERS:
        style = window.layers.style(layer)
        window.layers.set_style(layer, replace(style, color="#3366ff", opacity=0.7,
                                               mode="contour" if style.mode == "fill" else "fill"))
        app.processEvents()
    restyle = time.perf_counter() - t1
    restyle_gaps = monitor.stop()

    reference = direct_reference(image)
    longest = float(gaps.max()) if len(gaps) else wall * 1000
    print(f"{label:28s} layers on: {wall * 1000:7.0f} ms wall, longest UI stall "
          f"{longest:5.1f} ms ({'met' if longest < 50 else 'NOT met'}), drawn: {shown}; "
          f"restyle x3: {restyle * 1000:5.1f} ms (longest gap "
          f"{float(restyle_gaps.max()) if len(restyle_gaps) else restyle * 1000:4.1f} ms); "
          f"direct (no Qt) {reference * 1000:6.0f} ms = what the UI would freeze")
    for layer in LAYERS:
        print(f"    {layer:9s} {window.layers.status(layer)}")
    for layer in LAYERS:
        window.layers.set_visible(layer, False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mias", default=str(DATA / "mias" / "mdb001.png"))
    parser.add_argument("--rows", type=int, default=4084)
    parser.add_argument("--cols", type=int, default=3328)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"({os.cpu_count()} CPUs)")

    from mammoview.gui.app import create_application
    from mammoview.gui.main_window import MainWindow
    from mammoview.io.loader import load_image, read_header

    app = create_application()
    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    window.decoder.wait_ready(120)
    images = []
    if Path(args.mias).exists():
        images.append((load_image(read_header(Path(args.mias))), f"MIAS {Path(args.mias).name}"))
    images.append((full_field_image(args.rows, args.cols), f"full-field {args.rows}x{args.cols}"))
    for image, label in images:
        measure(app, window, image, label)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    window.close()
    from mammoview.gui.shm import leaked_segments, own_prefix

    window.runner.wait_for_done(5000)
    print(f"shared-memory blocks left: {len(leaked_segments(own_prefix()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
