"""How long the UI thread stalls while the window computes enhancements of a full-field image.

Starts the main window offscreen on a full-field image (a synthetic phantom at
4084 x 3328 by default, or ``--image PATH`` such as the WG04 JPEG 2000 mammogram), lets
the four panels compute, then changes the wavelet and CLAHE parameters several times.
A 5 ms QTimer ticks on the UI thread throughout; the longest gap between two ticks is
the worst stall a user would feel (the target is under 50 ms).

Reference, measured in the same process first: the time the same enhancements take
when run directly (no Qt), i.e. how long the UI would freeze if they ran on it.

Run:  .venv/bin/python bench/bench_ui_stall.py [--image PATH] [--rows R --cols C]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

TICK_MS = 5


def full_field_image(args):
    from mammoview.core.image import Image, ImageRef, PatientInfo
    from mammoview.io.phantom import make_phantom

    if args.image:
        from mammoview.io.loader import load_image, read_header

        return load_image(read_header(Path(args.image)))
    pixels = make_phantom("RCC", rows=args.rows, cols=args.cols, seed=7)
    ref = ImageRef(path="phantom://bench/RCC", kind="phantom", uid="bench-full-field",
                   study_uid="bench", laterality="R", view="CC",
                   patient=PatientInfo(id="BENCH"), rows=args.rows, cols=args.cols,
                   synthetic=True)
    return Image(pixels=pixels, ref=ref, bits_stored=16)


def direct_reference(image, steps):
    """Seconds each enhancement takes when called directly, first parameters and per edit."""
    from mammoview.enhance.params import ClaheParams, SuperresParams, WaveletParams
    from mammoview.enhance.views import compute_view

    timings = {}
    for name, params in (("wavelet", WaveletParams()), ("clahe", ClaheParams()),
                         ("superres", SuperresParams())):
        t0 = time.perf_counter()
        compute_view(name, image.pixels, params)
        timings[name] = time.perf_counter() - t0
    edits = 0.0
    for name, params in steps:
        t0 = time.perf_counter()
        compute_view(name, image.pixels, params)
        edits += time.perf_counter() - t0
    return timings, edits


class TickMonitor:
    """Records the time of every tick of a fast timer on the UI thread."""

    def __init__(self):
        from PySide6.QtCore import QTimer

        self.times: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(lambda: self.times.append(time.perf_counter()))

    def start(self):
        self.times.clear()
        self.timer.start()

    def stop(self):
        self.timer.stop()
        gaps = np.diff(np.array(self.times)) * 1000.0
        return gaps


def wait_for(app, predicate, timeout_s):
    """Run the event loop until ``predicate()`` holds (no processEvents busy loop)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(10)
    poll.timeout.connect(lambda: loop.quit() if predicate() else None)
    poll.start()
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    poll.stop()
    return predicate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", help="a full-field mammogram file instead of the phantom")
    parser.add_argument("--rows", type=int, default=4084)
    parser.add_argument("--cols", type=int, default=3328)
    args = parser.parse_args()

    import tempfile

    os.environ.setdefault("MAMMOVIEW_CONFIG_DIR", tempfile.mkdtemp(prefix="mv-bench-"))
    from mammoview.core.study import Study
    from mammoview.enhance.params import ClaheParams, WaveletParams
    from mammoview.gui.app import create_application
    from mammoview.gui.main_window import MainWindow

    image = full_field_image(args)
    print(f"image: {image.ref.display_name} {image.shape[0]} x {image.shape[1]} {image.pixels.dtype}")
    edits = [("wavelet", WaveletParams(levels=3)), ("clahe", ClaheParams(tiles=4)),
             ("clahe", ClaheParams(tiles=4, clip_limit=0.02)),
             ("wavelet", WaveletParams(levels=3, gain=3.0))]
    timings, edit_total = direct_reference(image, edits)
    first_total = sum(timings.values())
    for name, seconds in timings.items():
        print(f"direct {name:9s} {seconds * 1000:8.0f} ms")
    print(f"direct: first display {first_total * 1000:.0f} ms, "
          f"the {len(edits)} edits {edit_total * 1000:.0f} ms (UI frozen that long if run on it)")

    app = create_application()
    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    window.image_cache.put(("image", image.uid), image)  # loading is not what is measured
    study = Study(uid="bench", images=[image.ref], label="bench")
    monitor = TickMonitor()

    settled = {"n": 0}
    window.viewsSettled.connect(lambda: settled.__setitem__("n", settled["n"] + 1))
    monitor.start()
    t0 = time.perf_counter()
    window.set_studies([study])
    ok = wait_for(app, lambda: settled["n"] >= 1 and window.runner.outstanding == 0, 600)
    first_wall = time.perf_counter() - t0
    first_gaps = monitor.stop()
    if not ok:
        print("first display did not finish")
        return 1

    monitor.start()
    t0 = time.perf_counter()
    panel = window.enhancement
    for name, params in edits:
        if name == "wavelet":
            panel.wavelet_levels.setValue(params.levels)
            panel.wavelet_gain.setValue(params.gain)
        else:
            panel.clahe_tiles.setValue(params.tiles)
            panel.clahe_clip.setValue(params.clip_limit)
        # Past the debounce, so each edit really computes.
        wait_for(app, lambda: not window._debounce.isActive() and window.runner.outstanding == 0, 600)
    edit_wall = time.perf_counter() - t0
    edit_gaps = monitor.stop()
    hits = window.view_cache.hits

    def describe(gaps):
        return (f"longest gap {gaps.max():.1f} ms, p99 {np.percentile(gaps, 99):.1f} ms, "
                f"median {np.median(gaps):.1f} ms over {len(gaps)} ticks")

    print(f"window, first display: {first_wall * 1000:.0f} ms wall; {describe(first_gaps)}")
    print(f"window, {len(edits)} edits: {edit_wall * 1000:.0f} ms wall; {describe(edit_gaps)}")
    worst = max(first_gaps.max(), edit_gaps.max())
    print(f"worst UI stall {worst:.1f} ms vs {first_total * 1000:.0f} ms if computed on the UI "
          f"thread (ratio {first_total * 1000 / worst:.0f}x); target < 50 ms: "
          f"{'met' if worst < 50 else 'NOT met'}; cache hits {hits}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
