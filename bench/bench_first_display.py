"""Time from opening files to the image painted on screen, against the decoder alone.

(a) A real MIAS mammogram (mdb001.png, 1024 x 1024, 8-bit): ``MainWindow.open_paths``
    to the original panel painted, against Pillow's raw decode of the same file.
(b) A synthetic 4-view study of 3328 (cols) x 4084 (rows) 16-bit (12 bits stored)
    JPEG 2000 Lossless DICOM files, built here from ``make_phantom`` pixels with
    pydicom + pylibjpeg-openjpeg and cached in the temp folder between runs:
    - panels mode, the study's first image (RCC) painted, against pydicom's own
      decode (``dcmread`` + ``pixel_array``) of that file; target <= 1.5x;
    - hanging mode, all four views painted, against the sum of the four decodes;
      target <= 1.2x (the window decodes in two processes at once, so it may beat it).

"Painted" means: the window said the viewer has the content (``imageShown(uid)`` /
``hangingShown()``), then the next event-loop turn repainted the panel(s)
synchronously (``viewport().repaint()``). Each figure is the best of ``--repeat`` runs,
each in a fresh window; the decoding processes are started and warm first (the window
starts them when it opens, long before a user picks a file). A 5 ms UI-thread timer
also records the longest UI stall during each run (target < 50 ms).

Run:  .venv/bin/python bench/bench_first_display.py [--repeat 3] [--rows 4084 --cols 3328]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SLOTS = ("RCC", "LCC", "RMLO", "LMLO")
MIAS = Path(os.environ.get("MAMMOVIEW_DATA", ROOT.parent / "shared" / "data")) / "mias" / "mdb001.png"


def build_study(rows: int, cols: int) -> Path:
    """Four JPEG 2000 Lossless MG files of phantom pixels, built once per size."""
    folder = Path(tempfile.gettempdir()) / f"mammoview-bench-j2k-{rows}x{cols}"
    paths = [folder / f"{slot}.dcm" for slot in SLOTS]
    if all(p.exists() for p in paths):
        return folder
    from pydicom.uid import JPEG2000Lossless

    from mammoview.io.phantom import make_phantom
    from tests.io.dicom_builders import mammo_dataset

    folder.mkdir(parents=True, exist_ok=True)
    print(f"building the 4-view JPEG 2000 study in {folder} (once)...", flush=True)
    for i, (slot, path) in enumerate(zip(SLOTS, paths)):
        pixels = make_phantom(slot, rows=rows, cols=cols, seed=11 + i)
        ds = mammo_dataset(pixels, laterality=slot[0], view=slot[1:], window=(1200.0, 2400.0))
        ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg", generate_instance_uid=False)
        tmp = path.with_suffix(".tmp")
        ds.save_as(tmp, enforce_file_format=True)
        tmp.replace(path)  # a half-written file is never taken for a cached one
    return folder


def best_of(n: int, fn) -> float:
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def pillow_decode(path: Path) -> None:
    from PIL import Image as PILImage

    with PILImage.open(path) as img:
        np.asarray(img)


def pydicom_decode(path: Path) -> None:
    import pydicom

    pydicom.dcmread(path).pixel_array  # noqa: B018 (decoding is the point)


class Run:
    """One timed opening in a fresh window: open, wait for the signal, paint, stamp."""

    def __init__(self, app, *, hanging: bool):
        from PySide6.QtCore import QTimer

        from mammoview.gui.main_window import MainWindow

        self.app = app
        self.window = MainWindow()
        self.window.resize(1600, 1000)
        self.window.set_hanging(hanging)
        self.window.show()
        decoder = getattr(self.window, "decoder", None)  # absent before the decoding processes
        if decoder is not None:
            decoder.wait_ready(120)
        app.processEvents()
        self.t_done: float | None = None
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def _paint(self, names) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()  # pending layout of the new panels
        for name in names:
            self.window.viewer.panel(name).view.viewport().repaint()
        self.t_done = time.perf_counter()

    def open(self, paths, *, wait_uid: str | None = None) -> tuple[float, float]:
        """Seconds from open_paths to painted, and the longest UI stall (ms)."""
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()

        def painted(names):
            self._paint(names)
            loop.quit()

        if wait_uid is None:
            self.window.hangingShown.connect(
                lambda: QTimer.singleShot(0, lambda: painted(SLOTS)))
        else:
            self.window.imageShown.connect(
                lambda uid: QTimer.singleShot(0, lambda: painted(["original"]))
                if uid == wait_uid else None)
        QTimer.singleShot(300_000, loop.quit)
        self.timer.start()
        t0 = time.perf_counter()
        self.window.open_paths(paths, remember=False)
        loop.exec()
        self.timer.stop()
        if self.t_done is None:
            raise RuntimeError("the image never appeared")
        gaps = np.diff(np.array(self.ticks)) * 1000.0
        return self.t_done - t0, float(gaps.max()) if len(gaps) else 0.0

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()
        self.app.processEvents()


def timed_opening(app, repeat: int, paths, *, hanging: bool, wait_uid: str | None):
    results = []
    for _ in range(repeat):
        run = Run(app, hanging=hanging)
        try:
            results.append(run.open(paths, wait_uid=wait_uid))
        finally:
            run.close()
    best = min(r[0] for r in results)
    return best, max(r[1] for r in results), [r[0] for r in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=4084)
    parser.add_argument("--cols", type=int, default=3328)
    args = parser.parse_args()
    os.environ.setdefault("MAMMOVIEW_CONFIG_DIR", tempfile.mkdtemp(prefix="mv-bench-"))

    from mammoview.gui.app import create_application
    from mammoview.io.loader import read_header

    app = create_application()

    # (a) MIAS PNG ------------------------------------------------------------------
    if MIAS.exists():
        ref = read_header(MIAS)
        decode = best_of(args.repeat, lambda: pillow_decode(MIAS))
        shown, stall, runs = timed_opening(app, args.repeat, [MIAS], hanging=False, wait_uid=ref.uid)
        print(f"(a) MIAS {MIAS.name}: on screen {shown * 1000:.0f} ms "
              f"(runs {', '.join(f'{r * 1000:.0f}' for r in runs)}) vs Pillow decode "
              f"{decode * 1000:.1f} ms: {shown / decode:.1f}x; longest UI stall {stall:.0f} ms")
    else:
        print(f"(a) skipped: {MIAS} not found")

    # (b) 4-view JPEG 2000 study ---------------------------------------------------
    folder = build_study(args.rows, args.cols)
    paths = [folder / f"{slot}.dcm" for slot in SLOTS]
    decodes = [best_of(args.repeat, lambda p=p: pydicom_decode(p)) for p in paths]
    print("pydicom decode (dcmread + pixel_array, best of "
          f"{args.repeat}): " + ", ".join(f"{s} {d * 1000:.0f} ms" for s, d in zip(SLOTS, decodes)))
    first_uid = read_header(paths[0]).uid
    shown, stall, runs = timed_opening(app, args.repeat, [folder], hanging=False, wait_uid=first_uid)
    ratio = shown / decodes[0]
    print(f"(b) first image (RCC) on screen {shown * 1000:.0f} ms "
          f"(runs {', '.join(f'{r * 1000:.0f}' for r in runs)}) vs its decode "
          f"{decodes[0] * 1000:.0f} ms: {ratio:.2f}x (target <= 1.5x: "
          f"{'met' if ratio <= 1.5 else 'NOT met'}); longest UI stall {stall:.0f} ms")
    total = sum(decodes)
    shown, stall, runs = timed_opening(app, args.repeat, [folder], hanging=True, wait_uid=None)
    ratio = shown / total
    print(f"(b) hanging, all four on screen {shown * 1000:.0f} ms "
          f"(runs {', '.join(f'{r * 1000:.0f}' for r in runs)}) vs summed decode "
          f"{total * 1000:.0f} ms: {ratio:.2f}x (target <= 1.2x: "
          f"{'met' if ratio <= 1.2 else 'NOT met'}); longest UI stall {stall:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
