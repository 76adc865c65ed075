"""How long the UI thread stalls while a model trains in the background.

The main window (offscreen) shows a MIAS study with its enhancement panels; Models >
Train or fine-tune… runs a real training (classifier stage 1 from scratch on MIAS
patients, the dialog's defaults otherwise) in its child process. A 5 ms QTimer ticks on
the UI thread throughout; the longest gap between two ticks is the worst stall a user
would feel. Target: under 50 ms. Phases:

0. the window idle, nothing running: what the machine's load alone does to the ticks;
1. reading alone: a Right-arrow key press every 0.7 s through the studies' images
   (decode, enhanced panels, layers, in the window's lanes), no training: the baseline;
2. training, window idle: from Start to the end of the run (data preparation, every
   epoch's curves, the comparison with the model in use, the results tab);
3. training while reading: a second run, stepping through the images as in 1.

Reference, measured last in the same process: the same run's first epoch run directly
on this thread (no Qt): how long the UI would freeze if training ran there.

Run:  .venv/bin/python bench/bench_training_stall.py [--patients 40] [--epochs 3] [--watchdog]
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
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.bench_ui_stall import TARGET_MS, StallWatchdog, TickMonitor, wait_for  # noqa: E402

STEP_S = 0.7
WATCH = False


def stats(gaps: np.ndarray) -> dict[str, float]:
    return {"max": float(gaps.max()) if gaps.size else 0.0,
            "p99": float(np.percentile(gaps, 99)) if gaps.size else 0.0, "ticks": int(gaps.size)}


def stepping(app, window, seconds: float | None = None, until=None) -> None:
    """Right-arrow key presses every STEP_S (back with Left at the last image), as a reader
    steps through the images, for ``seconds`` or until ``until()``."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    end = None if seconds is None else time.perf_counter() + seconds
    key = Qt.Key.Key_Right
    while True:
        wait_for(app, lambda: False, STEP_S)
        if (end is not None and time.perf_counter() >= end) or (until is not None and until()):
            return
        before = window.current_ref()
        QTest.keyClick(window.viewer, key)
        if window.current_ref() is before:  # the end of the list: turn round
            key = Qt.Key.Key_Left if key == Qt.Key.Key_Right else Qt.Key.Key_Right
            QTest.keyClick(window.viewer, key)


def run_in_dialog(app, window, data: Path, epochs: int, *, read: bool) -> dict:
    dialog = window.open_training()
    assert wait_for(app, lambda: dialog.probe is not None, 300), "no probe"
    if dialog.record is not None:
        dialog.new_run()
    form = dialog.form
    form.mias_row.edit.setText(str(data))
    form.radio_scratch.setChecked(True)
    form.epochs.setValue(epochs)
    assert wait_for(app, lambda: dialog.plan is not None or bool(dialog.plan_view.refusal), 300), "no plan"
    assert dialog.plan is not None, dialog.plan_view.refusal
    wait_for(app, lambda: dialog.spare is not None and dialog.spare.alive, 30)
    wait_for(app, lambda: False, 8.0)  # the spare process imports torch before Start, as for a user
    finished = {}
    dialog.compared.connect(lambda: finished.setdefault("at", time.perf_counter()))
    dialog.runEnded.connect(lambda status: finished.setdefault("status", status))
    monitor = TickMonitor()
    monitor.start()
    watchdog = StallWatchdog(monitor) if WATCH else None
    if watchdog:
        watchdog.start()
    t0 = time.perf_counter()
    dialog.start_training()
    done = lambda: "at" in finished or finished.get("status") == "failed"  # noqa: E731
    if read:
        stepping(app, window, until=done)
    wait_for(app, done, 1800)
    wait_for(app, lambda: False, 1.0)  # the results tab painted
    gaps = monitor.stop()
    if watchdog:
        watchdog.stop()
        print("\n".join(watchdog.reports))
    return {**stats(gaps), "wall": time.perf_counter() - t0, "status": finished.get("status"),
            "epochs": dialog.monitor.epoch_points(), "device": dialog.monitor.device.text()}


def direct_epoch(data: Path) -> float:
    """Seconds from the start of ``train()`` to its first epoch, on this thread."""
    from mammoview.gui.trainjobs import TrainRequest
    from mammoview.training.engine import train

    out = Path(tempfile.mkdtemp(prefix="mv-bench-direct-"))
    req = TrainRequest(task="classifier-stage1", data=str(data), epochs=1, arch="resnet18", batch_size=32,
                       lr=1e-3, augment=["flip", "rotate", "zoom", "brightness", "contrast"],
                       extra={"patch": 64, "scale": 0.5})
    t0 = time.perf_counter()
    for p in train("classifier-stage1", req.config(out)):
        if p.partial.kind == "epoch":
            break
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=40, help="MIAS patients in the run (default 40)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--read-seconds", type=float, default=20.0, help="length of the reading-alone phase")
    parser.add_argument("--watchdog", action="store_true",
                        help="print every thread's stack when the UI tick is over 45 ms late")
    args = parser.parse_args()
    global WATCH
    WATCH = args.watchdog
    home = Path(tempfile.mkdtemp(prefix="mv-bench-train-"))
    os.environ["MAMMOVIEW_DATA_DIR"] = str(home / "data")
    os.environ["MAMMOVIEW_CONFIG_DIR"] = str(home / "config")
    from mammoview.gui.app import create_application
    from mammoview.gui.main_window import MainWindow
    from mammoview.gui.training_screenshot import mias_folder, subset

    data = subset(mias_folder(), home / "mias", args.patients)
    app = create_application()
    print(f"MIAS patients: {args.patients}; epochs: {args.epochs}; load average {os.getloadavg()[0]:.2f}")
    window = MainWindow()
    window.resize(1500, 950)
    window.show()
    window.open_paths([str(p) for p in sorted(data.glob("mdb00[1-4].png"))])
    wait_for(app, lambda: window.current_ref() is not None, 120)
    wait_for(app, lambda: False, 10.0)  # first views, lanes warm

    monitor = TickMonitor()
    monitor.start()
    wait_for(app, lambda: False, args.read_seconds)
    quiet = stats(monitor.stop())
    monitor.start()
    stepping(app, window, seconds=args.read_seconds)
    reading = stats(monitor.stop())
    print(f"  (phases 0-1 done; load average {os.getloadavg()[0]:.2f})", flush=True)
    idle = run_in_dialog(app, window, data, args.epochs, read=False)
    print(f"  (phase 2 done: {idle['max']:.1f} ms)", flush=True)
    busy = run_in_dialog(app, window, data, args.epochs, read=True)
    window.training_dialog.shutdown()
    window.close()
    reference = direct_epoch(data)

    print(f"  0. window idle, no training ({args.read_seconds:.0f} s): longest UI stall {quiet['max']:.1f} ms "
          f"(p99 {quiet['p99']:.1f} ms): the machine's own jitter")
    print(f"  1. reading alone ({args.read_seconds:.0f} s, an image every {STEP_S} s): longest UI stall "
          f"{reading['max']:.1f} ms (p99 {reading['p99']:.1f} ms)")
    for n, (title, r) in enumerate((("training, window idle", idle), ("training while reading", busy)), start=2):
        print(f"  {n}. {title}: longest UI stall {r['max']:.1f} ms (p99 {r['p99']:.1f} ms) over {r['wall']:.1f} s; "
              f"{r['epochs']} epochs, run {r['status']}; {r['device']}")
    print(f"  reference: the first epoch run directly on this thread: {reference:.1f} s "
          f"-> a {1000 * reference:.0f} ms freeze")
    worst = max(idle["max"], busy["max"])
    print(f"worst stall while training {worst:.1f} ms (target < {TARGET_MS:.0f} ms): "
          f"{'OK' if worst < TARGET_MS else 'OVER'}; load average {os.getloadavg()[0]:.2f}")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
