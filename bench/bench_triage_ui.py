"""Reading while Models > Classify all studies runs: UI stalls, and how long the reader waits
for the AI result of the image in front of them.

The main window (offscreen, 1500 x 950, enhancement panels off so the figures are the AI's)
opens a folder of MIAS studies. The reader steps forward (Right arrow) as soon as the
current image's AI result is in (at least STEP_S apart), for ``--steps`` images. A 5 ms
QTimer ticks on the UI thread throughout; the longest gap is the worst stall a user feels
(target < 50 ms). Two runs, each in a fresh window (empty caches, same images):

1. reference: reading alone (the window classifies the shown image, the study's other
   image and prefetches the next one, as always);
2. reading while "Classify all studies" classifies every study in the background, started
   on the first image (triage starts at the current study and goes forward, as the reader
   does, so some of the reader's images are ready before they are shown).

Reported per run: the longest UI stall, the median and longest wait from a key press to the
current image's result, and (run 2) how many images triage had classified by the end.

Run:  .venv/bin/python bench/bench_triage_ui.py [--patients 20] [--steps 12]
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
os.environ.setdefault("MAMMOVIEW_DATA_DIR", tempfile.mkdtemp(prefix="mv-bench-data-"))
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.bench_ui_stall import TARGET_MS, TickMonitor, wait_for  # noqa: E402

STEP_S = 0.7  # a reader glancing at each image for at least this long


def read(app, folder: Path, steps: int, triage: bool) -> dict:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from mammoview.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1500, 950)
    window.show()
    for name in ("wavelet", "clahe", "superres"):
        window.set_panel_visible(name, False)
    window.compute_lane.warm_up()
    window.compute_lane.wait_ready(60)
    window.open_paths([str(folder)])
    ai = window.ai
    if not wait_for(app, lambda: ai.ready and window.current_ref() is not None
                    and ai.result_for(window.current_ref().uid) is not None, 300):
        raise SystemExit(f"the AI never classified the first image ({ai.error or ai.state})")
    monitor = TickMonitor()
    monitor.start()
    if triage:
        ai.triage.action.trigger()
    waits = []
    for _ in range(steps):
        t0 = time.perf_counter()
        QTest.keyClick(window.viewer, Qt.Key.Key_Right)
        ref = window.current_ref()
        if not wait_for(app, lambda r=ref: ai.result_for(r.uid) is not None, 120):
            raise SystemExit(f"no AI result for {ref.display_name} within 120 s")
        waits.append(time.perf_counter() - t0)
        wait_for(app, lambda: False, max(0.0, STEP_S - waits[-1]))
    gaps = monitor.stop()
    done, total, _failed = ai.triage.counts()
    if triage and ai.triage.active:
        ai.triage.stop("stopped (bench over)")
    window.close()
    return {"max_gap": float(gaps.max()), "p99": float(np.percentile(gaps, 99)),
            "wait_median": float(np.median(waits)), "wait_max": float(max(waits)),
            "triaged": (done, total) if triage else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20, help="MIAS patients opened (default 20)")
    parser.add_argument("--steps", type=int, default=12, help="images the reader steps through (default 12)")
    args = parser.parse_args()
    from mammoview.gui.app import create_application
    from mammoview.gui.training_screenshot import mias_folder, subset

    source = mias_folder()
    if not (source / "Info.txt").is_file():
        raise SystemExit(f"{source}: the MIAS data is not there")
    app = create_application()
    folder = subset(source, Path(tempfile.mkdtemp(prefix="mv-bench-triage-")) / "mias", args.patients)
    print(f"{args.patients} MIAS patients, {args.steps} steps; load average {os.getloadavg()[0]:.2f}")
    worst = 0.0
    for title, triage in (("1. reading alone", False), ("2. reading while classifying all studies", True)):
        r = read(app, folder, args.steps, triage)
        worst = max(worst, r["max_gap"])
        line = (f"{title}: longest UI stall {r['max_gap']:.1f} ms (p99 {r['p99']:.1f} ms); wait for the "
                f"shown image's result: median {1000 * r['wait_median']:.0f} ms, longest {1000 * r['wait_max']:.0f} ms")
        if r["triaged"]:
            line += f"; triage had classified {r['triaged'][0]}/{r['triaged'][1]} images"
        print(line)
    print(f"worst stall {worst:.1f} ms (target < {TARGET_MS:.0f} ms): {'OK' if worst < TARGET_MS else 'OVER'}"
          f"; load average {os.getloadavg()[0]:.2f}")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
