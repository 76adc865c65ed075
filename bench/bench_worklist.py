"""Opening a worklist of 1,000 studies, against listing the same files.

Builds once, in the temp folder: 1,000 tiny DICOM mammograms (one study each, 32 x 24,
16-bit) and 1,000 tiny PNGs (one folder, hence one study, each). Then, in one process:

* reference: an ``os.scandir`` walk that only lists the files;
* worklist: :func:`mammoview.io.discovery.discover` (headers only) +
  :func:`mammoview.reading.build_worklist` (study keys, and every reading state from a
  database where 300 of the studies have a saved reading).
  DICOM studies are keyed by Study Instance UID; PNG studies by the SHA-256 of their
  files, measured cold (empty hash cache: every file hashed) and warm (cached).

Each figure is the best of ``--repeat`` runs. Also times one reading edit (one
transaction with fsync) and a worklist refresh.

Then the window's side (offscreen Qt), on the DICOM worklist: what the study browser
does on the UI thread (:class:`mammoview.gui.panels.study_browser.StudyBrowser`): list
the studies, bind the worklist built on the worker, refresh the states, poll, filter,
sort and find the next unread study. The UI thread's budget is 50 ms per step.

Run:  QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_worklist.py [--studies 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def build_files(n: int) -> tuple[Path, Path]:
    base = Path(tempfile.gettempdir()) / f"mammoview-bench-worklist-{n}"
    dicom_dir, png_dir = base / "dicom", base / "png"
    stamp = base / ".complete"
    if stamp.exists():
        return dicom_dir, png_dir
    from PIL import Image as PILImage

    from tests.io.dicom_builders import mammo_dataset, write_dicom

    print(f"building {n} DICOM and {n} PNG studies in {base} (once)...", flush=True)
    rng = np.random.default_rng(0)
    dicom_dir.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        ds = mammo_dataset(rng.integers(0, 4095, (32, 24), dtype=np.uint16), laterality="RL"[i % 2],
                           view=("CC", "MLO")[(i // 2) % 2], patient_name=f"Bench^{i}")
        ds.StudyInstanceUID = f"1.2.826.0.1.3680043.8.498.9{i:06d}"
        ds.PatientID = f"B{i:06d}"
        write_dicom(dicom_dir / f"study{i:04d}.dcm", ds)
        folder = png_dir / f"case{i:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        PILImage.fromarray(rng.integers(0, 256, (32, 24), dtype=np.uint8)).save(folder / "image.png")
    stamp.touch()
    return dicom_dir, png_dir


def list_files(root: Path) -> int:
    count = 0
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file():
                    count += 1
    return count


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def seed_readings(store, worklist, count: int) -> None:
    from dataclasses import replace

    from mammoview.reading.model import Reading

    readings = []
    for i, row in enumerate(worklist.rows[:count]):
        state = ("in progress", "read")[i % 2]
        readings.append(replace(Reading(row.key), state=state, birads_overall=i % 7, revision=1, updated_at=1.0))
    store.replace_readings(readings)


def bench_browser(studies, worklist, repeat: int) -> None:
    """UI-thread time of the study browser's worklist steps, best of ``repeat``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from mammoview.gui.panels.study_browser import COL_BIRADS, StudyBrowser, WorklistFilterBar

    app = QApplication.instance() or QApplication([])
    browser = StudyBrowser()
    bar = WorklistFilterBar(browser)
    browser.resize(600, 800)
    browser.show()

    batches: list[float] = []

    def listed():
        browser.set_studies(studies)  # lists the first batch; the event loop lists the rest
        while True:
            start = time.perf_counter()
            more = browser.list_more()
            batches.append(time.perf_counter() - start)
            if not more:
                break
        app.processEvents()

    def bound():
        browser.set_worklist(worklist)
        app.processEvents()

    def filtered():
        bar.choose(state="Not read yet")
        bar.choose(state="Any state")

    def sorted_twice():
        browser.sort_by(COL_BIRADS, descending=True)
        browser.sort_by(None)

    steps = []
    t_first, _ = best(lambda: browser.set_studies(studies), repeat)
    steps.append(("list the studies: set_studies (first batch)", t_first))
    t_list, _ = best(listed, repeat)
    steps.append(("list the studies: longest later batch", max(batches)))
    steps.append(("list the studies: all of it (several turns)", t_list))
    t_bind, _ = best(bound, repeat)
    steps.append(("bind the worklist (set_worklist)", t_bind))
    steps.append(("refresh the states (refresh_states)", best(browser.refresh_states, repeat)[0]))
    steps.append(("poll, nothing changed (poll)", best(browser.poll, repeat)[0]))
    steps.append(("filter on, then off (2 filters)", best(filtered, repeat)[0] / 2))
    steps.append(("sort by BI-RADS, then back (2 sorts)", best(sorted_twice, repeat)[0] / 2))
    steps.append(("next unread study (next_unread)", best(lambda: browser.next_unread(0), repeat)[0]))
    print(f"\nstudy browser, {len(studies)} DICOM studies (UI thread; budget 50 ms a step):")
    for name, seconds in steps:
        print(f"  {name:<46} {1000 * seconds:8.1f} ms")
    browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    dicom_dir, png_dir = build_files(args.studies)

    from mammoview.io.discovery import discover
    from mammoview.reading import ReadingSession, ReadingStore, build_worklist
    from mammoview.reading.model import ImageContext

    work = Path(tempfile.mkdtemp(prefix="mammoview-bench-db-"))
    store = ReadingStore(work / "readings.sqlite3")
    print(f"{args.studies} studies; best of {args.repeat} runs; readings database in {work}")

    for name, folder in (("DICOM", dicom_dir), ("PNG", png_dir)):
        t_list, count = best(lambda: list_files(folder), args.repeat)
        if name == "PNG":
            cold_store = ReadingStore(work / "cold.sqlite3")
            t_cold, _ = best(lambda: build_worklist(discover(folder).studies, cold_store), 1)
        t_disc, studies = best(lambda: discover(folder).studies, args.repeat)
        first = build_worklist(studies, store)
        seed_readings(store, first, min(300, len(first.rows)))
        t_open, worklist = best(lambda: build_worklist(discover(folder).studies, store), args.repeat)
        t_build, _ = best(lambda: build_worklist(studies, store), args.repeat)
        t_refresh, _ = best(worklist.refresh, args.repeat)
        counts = worklist.counts()
        print(f"\n{name}: {count} files, {len(worklist.rows)} studies, states {counts}")
        print(f"  list files (os.scandir walk)         {1000 * t_list:8.1f} ms   (reference)")
        print(f"  discover (headers only)              {1000 * t_disc:8.1f} ms   {t_disc / t_list:7.1f} x")
        if name == "PNG":
            print(f"  worklist, cold hash cache            {1000 * t_cold:8.1f} ms   {t_cold / t_list:7.1f} x")
        print(f"  worklist (discover + keys + states)  {1000 * t_open:8.1f} ms   {t_open / t_list:7.1f} x")
        print(f"  of which keys + states (reading)     {1000 * t_build:8.1f} ms   {t_build / t_list:7.1f} x")
        print(f"  worklist refresh (states only)       {1000 * t_refresh:8.1f} ms   {t_refresh / t_list:7.1f} x")

    dicom_studies = discover(dicom_dir).studies
    bench_browser(dicom_studies, build_worklist(dicom_studies, store), args.repeat)

    row = worklist.rows[-1]
    session = ReadingSession.open(store, row.study, identity=row.identity)
    ctx = ImageContext(next(iter(row.identity.image_keys.values())), "R", "CC", (0.1, 0.1))
    times = []
    for i in range(50):
        start = time.perf_counter()
        session.add_point(ctx, "mass", (float(i), 1.0))
        times.append(time.perf_counter() - start)
    session.close()
    store.close()
    cold_store.close()
    shutil.rmtree(work, ignore_errors=True)
    times.sort()
    print(f"\none edit (one transaction, fsync): median {1000 * times[len(times) // 2]:.2f} ms, "
          f"max {1000 * times[-1]:.2f} ms over 50")
    return 0


if __name__ == "__main__":
    sys.exit(main())
