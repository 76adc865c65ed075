"""How long the UI thread stalls while the window works on full-field images.

Starts the main window offscreen on a 4-view study of full-field images (synthetic
phantoms at 4084 x 3328 by default, or ``--image PATH`` for the first view, such as the
WG04 JPEG 2000 mammogram) and goes through what a reader does:

1. first display of the RCC image with all four panels (original, wavelet, CLAHE,
   super-resolution) computing;
2. four parameter edits (wavelet levels, CLAHE tiles, CLAHE clip, wavelet gain), each
   past the debounce so it really computes;
3. switching to the 4-view hanging of the study, then back to the panels;
4. stepping to the next image (LCC), whose three enhancements compute.

A 5 ms QTimer ticks on the UI thread throughout; the longest gap between two ticks is
the worst stall a user would feel. Target: under 50 ms in every phase.

The decoded images are put in the window's image cache first (decoding is measured by
bench/bench_first_display.py); everything after decoding is measured: preparing the
images and views for display, computing the enhancements, handing them to the viewer.

Reference for each phase, measured in the same process first: the time the same work
takes when run directly (no Qt), i.e. how long the UI would freeze if it ran there.

Enhancements run in the window's worker processes (mammoview.gui.viewjobs, arrays back
through shared memory); ``--threads`` runs them on worker threads instead (the fallback,
and the design before), for comparison. The super-resolution panel uses bicubic unless
``--sr-model`` (the trained EDSR takes minutes on a full-field image on a CPU). The load
average is printed before and after: other jobs on the machine lengthen every stall.

Run:  .venv/bin/python bench/bench_ui_stall.py [--image PATH] [--rows R --cols C] [--threads]
      [--sr-model] [--profile]
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
TARGET_MS = 50.0
SLOTS = ("RCC", "LCC", "RMLO", "LMLO")


def full_field_study(args):
    """The four decoded images of a synthetic full-field study (RCC optionally a file)."""
    from dataclasses import replace

    from mammoview.core.image import Image, ImageRef, PatientInfo
    from mammoview.core.study import Study
    from mammoview.io.phantom import make_phantom

    images = []
    for i, slot in enumerate(SLOTS):
        if i == 0 and args.image:
            from mammoview.io.loader import load_image, read_header

            image = load_image(read_header(Path(args.image)))
            # It hangs as the study's RCC whatever its header says.
            image = replace(image, ref=replace(image.ref, laterality="R", view="CC",
                                               study_uid="bench", uid="bench-RCC"))
            images.append(image)
            continue
        pixels = make_phantom(slot, rows=args.rows, cols=args.cols, seed=7 + i)
        ref = ImageRef(path=f"phantom://bench/{slot}", kind="phantom", uid=f"bench-{slot}",
                       study_uid="bench", laterality=slot[0], view=slot[1:],
                       patient=PatientInfo(id="BENCH"), rows=args.rows, cols=args.cols,
                       synthetic=True)
        images.append(Image(pixels=pixels, ref=ref, bits_stored=12))
    return images, Study(uid="bench", images=[img.ref for img in images], label="bench")


def timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def direct_references(images, edits):
    """Seconds each phase's work takes when run directly, on this thread (no Qt)."""
    from mammoview.enhance.params import ClaheParams, SuperresParams, WaveletParams
    from mammoview.enhance.views import compute_view
    from mammoview.gui.main_window import _content_from
    from mammoview.gui.viewer.prepare import prepare_content, prepare_image

    os.environ.setdefault("MAMMOVIEW_SR_MODEL", "off")

    def view(image, name, params):
        result = compute_view(name, image.pixels, params)
        prepare_content(_content_from(name, result))

    first = {"prepare": timed(prepare_image, images[0])}
    for name, params in (("wavelet", WaveletParams()), ("clahe", ClaheParams()),
                         ("superres", SuperresParams())):
        first[name] = timed(view, images[0], name, params)
    edit = sum(timed(view, images[0], name, params) for name, params in edits)
    hanging = sum(timed(prepare_image, image) for image in images)
    step = sum(timed(view, images[1], name, params) for name, params in edits[-1:]
               + [("clahe", edits[-2][1]), ("superres", SuperresParams())])
    return first, {"first display": sum(first.values()), "4 edits": edit,
                   "hanging (4 views)": hanging, "back to panels": 0.0,
                   "next image": step}


class StallWatchdog:
    """A thread that prints every thread's stack when the UI tick is late (diagnosis)."""

    def __init__(self, monitor, late_ms: float = 45.0):
        import threading

        self.monitor = monitor
        self.late_s = late_ms / 1000.0
        self.ui_ident = threading.get_ident()
        self.reports: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()

    def _run(self):
        import traceback

        last_reported = None
        while not self._stop.wait(0.01):
            times = self.monitor.times
            if not times or not self.monitor.timer.isActive():
                continue
            last = times[-1]
            late = time.perf_counter() - last
            if late > self.late_s and last != last_reported:
                last_reported = last
                frames = sys._current_frames()
                lines = [f"--- UI tick late by {late * 1000:.0f} ms; stacks:"]
                for ident, frame in frames.items():
                    who = "UI" if ident == self.ui_ident else str(ident)
                    stack = traceback.format_stack(frame)[-4:]
                    lines.append(f"[{who}]\n" + "".join(stack))
                self.reports.append("\n".join(lines))


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
        return np.diff(np.array(self.times)) * 1000.0


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
    parser.add_argument("--image", help="a full-field mammogram file as the first view")
    parser.add_argument("--rows", type=int, default=4084)
    parser.add_argument("--cols", type=int, default=3328)
    parser.add_argument("--threads", action="store_true",
                        help="compute enhancements on worker threads (no process lane)")
    parser.add_argument("--sr-model", action="store_true",
                        help="use the trained super-resolution model (slow on a CPU)")
    parser.add_argument("--watchdog", action="store_true",
                        help="print every thread's stack when the UI tick is over 45 ms late")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the UI thread and print its slowest functions")
    args = parser.parse_args()

    import tempfile

    if not args.sr_model:
        os.environ["MAMMOVIEW_SR_MODEL"] = "off"
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"({os.cpu_count()} CPUs)")
    os.environ.setdefault("MAMMOVIEW_CONFIG_DIR", tempfile.mkdtemp(prefix="mv-bench-"))
    from mammoview.enhance.params import ClaheParams, WaveletParams
    from mammoview.gui.app import create_application
    from mammoview.gui.main_window import MainWindow

    images, study = full_field_study(args)
    first = images[0]
    print(f"study: 4 views, {first.shape[0]} x {first.shape[1]} {first.pixels.dtype} "
          f"(first: {first.ref.display_name})")
    edits = [("wavelet", WaveletParams(levels=3)), ("clahe", ClaheParams(tiles=4)),
             ("clahe", ClaheParams(tiles=4, clip_limit=0.02)),
             ("wavelet", WaveletParams(levels=3, gain=3.0))]
    parts, references = direct_references(images, edits)
    print("direct (no Qt): " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in parts.items()))

    app = create_application()
    window = MainWindow()
    if args.threads:
        window.compute_lane = None
    window.resize(1600, 1000)
    window.show()
    for image in images:  # decoding is not what is measured here
        window.image_cache.put(("image", image.uid), image)
    window.decoder.wait_ready(60)
    monitor = TickMonitor()
    watchdog = StallWatchdog(monitor) if args.watchdog else None
    if watchdog is not None:
        watchdog.start()
    counts = {"settled": 0, "hanging": 0}
    window.viewsSettled.connect(lambda: counts.__setitem__("settled", counts["settled"] + 1))
    window.hangingShown.connect(lambda: counts.__setitem__("hanging", counts["hanging"] + 1))

    def idle():
        return not window._debounce.isActive() and window.runner.outstanding == 0

    def settled_after(n):
        return lambda: counts["settled"] > n and idle()

    def first_display():
        window.set_studies([study])
        return settled_after(0)

    def edit_all():
        panel = window.enhancement
        for name, params in edits:
            if name == "wavelet":
                panel.wavelet_levels.setValue(params.levels)
                panel.wavelet_gain.setValue(params.gain)
            else:
                panel.clahe_tiles.setValue(params.tiles)
                panel.clahe_clip.setValue(params.clip_limit)
            # Past the debounce, so each edit really computes.
            wait_for(app, lambda: idle() and not window._pending_views, 600)
        return idle

    def to_hanging():
        n = counts["hanging"]
        window.set_hanging(True)
        return lambda: counts["hanging"] > n and idle()

    def to_panels():
        n = counts["settled"]
        window.set_hanging(False)
        return settled_after(n)

    def next_image():
        n = counts["settled"]
        window.next_image()
        return settled_after(n)

    phases = [("first display", first_display), ("4 edits", edit_all),
              ("hanging (4 views)", to_hanging), ("back to panels", to_panels),
              ("next image", next_image)]
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    rows = []
    for label, start in phases:
        monitor.start()
        t0 = time.perf_counter()
        done = start()
        ok = wait_for(app, done, 600)
        wall = time.perf_counter() - t0
        gaps = monitor.stop()
        if not ok:
            print(f"{label}: did not finish")
            return 1
        rows.append((label, wall, gaps))
    if watchdog is not None:
        watchdog.stop()
        for report in watchdog.reports:
            print(report)
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)

    print(f"{'phase':18s} {'wall':>8s} {'longest':>8s} {'p99':>6s} {'ticks':>6s} "
          f"{'direct':>8s}  target < {TARGET_MS:.0f} ms")
    worst = 0.0
    for label, wall, gaps in rows:
        gaps = gaps if len(gaps) else np.array([wall * 1000.0])
        longest = float(gaps.max())
        worst = max(worst, longest)
        ref = references[label] * 1000
        print(f"{label:18s} {wall * 1000:6.0f} ms {longest:5.1f} ms {np.percentile(gaps, 99):4.1f} "
              f"{len(gaps):6d} {ref:6.0f} ms  {'met' if longest < TARGET_MS else 'NOT met'}")
    print(f"worst UI stall {worst:.1f} ms (target < {TARGET_MS:.0f} ms: "
          f"{'met' if worst < TARGET_MS else 'NOT met'}); the same work run directly on the UI "
          f"thread would freeze it {references['first display'] * 1000:.0f} ms on first display; "
          f"view cache hits {window.view_cache.hits}")
    print(f"mode: {'threads' if args.threads else 'process lane + shared memory'}; "
          f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    window.close()
    from mammoview.gui.shm import leaked_segments, own_prefix

    window.runner.wait_for_done(5000)
    print(f"shared-memory blocks left: {len(leaked_segments(own_prefix()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
