"""Window/level frame time on a full-field mammogram (4664 x 3064 uint16).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_window_level.py

One frame = set a new VOI on the ViewerArea (one LUT per distinct image range, handed
to every panel as levels + LUT) and repaint every panel synchronously. References,
measured in the same process on the same array:

- full-res ImageItem: the same item drawing the whole array, re-rendered once with
  a fixed LUT (what a viewer without a display-resolution copy pays per frame);
- autoDownsample=True ImageItem: pyqtgraph's own downsampling, which reduces the full
  array again on every render;
- numpy LUT: applying the LUT to the full array (what recomputing the display image
  per mouse move would cost at the very least).
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from mammoview.core import Image, ImageRef, Voi  # noqa: E402
from mammoview.gui.viewer import ViewContent, ViewerArea  # noqa: E402
from mammoview.imaging.display import display_lut  # noqa: E402

ROWS, COLS = 4664, 3064
FRAMES = 40


def full_field_image() -> Image:
    """A deterministic 12-bit breast-like image at full-field size."""
    rng = np.random.default_rng(0)
    r, c = np.mgrid[0:ROWS, 0:COLS].astype(np.float32)
    breast = ((r - ROWS / 2) / (ROWS / 2.2)) ** 2 + (c / (COLS * 0.9)) ** 2 <= 1
    px = np.where(breast, 1800 + 900 * np.cos(r / 97.0) * np.sin(c / 53.0), 150).astype(np.float32)
    px += rng.normal(0, 40, px.shape).astype(np.float32)
    pixels = np.clip(px, 0, 4095).astype(np.uint16)
    ref = ImageRef(path="bench", kind="raster", uid="bench", study_uid="bench")
    return Image(pixels, ref, bits_stored=12)


def vois(n: int) -> list[Voi]:
    return [Voi(center=1500.0 + 20 * i, width=1500.0 + 30 * i) for i in range(n)]


def time_ms(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def summary(name: str, samples: list[float]) -> float:
    med = statistics.median(samples)
    p95 = sorted(samples)[int(0.95 * (len(samples) - 1))]
    print(f"{name:<48} median {med:7.1f} ms   p95 {p95:7.1f} ms")
    return med


def bench_viewer(app: QApplication, image: Image, views: dict[str, ViewContent], label: str) -> float:
    area = ViewerArea()
    area.resize(1600, 1000)
    area.show()
    area.show_panels(image, views)
    for _ in range(5):
        app.processEvents()
    panels = [area.panel(n) for n in area.panel_names()]
    for p in panels:
        p.view.viewport().repaint()
    steps = vois(FRAMES)

    def frame(i: int) -> None:
        area.set_voi(steps[i])
        for p in panels:
            p.view.viewport().repaint()  # synchronous paint: ImageItem.render + draw

    samples = time_ms(frame, FRAMES)
    shown = panels[0].item.image.shape
    med = summary(f"viewer W/L frame, {label} (draws {shown[0]}x{shown[1]})", samples)
    # Zoomed to one image pixel per screen pixel: the panels draw a crop of the base.
    box = panels[0].view_box
    size = box.viewPixelSize()
    box.scaleBy((1.0 / size[0], 1.0 / size[1]))
    for _ in range(5):
        app.processEvents()
    zoomed = time_ms(frame, FRAMES)
    shown = panels[0].item.image.shape
    summary(f"  same, zoomed 1:1 (draws {shown[0]}x{shown[1]})", zoomed)
    area.close()
    area.deleteLater()
    app.processEvents()
    return med


def bench_plain_item(app: QApplication, image: Image, *, auto_downsample: bool) -> float:
    view = pg.GraphicsView()
    box = pg.ViewBox(lockAspect=True, invertY=True)
    view.setCentralItem(box)
    item = pg.ImageItem(autoDownsample=auto_downsample)
    box.addItem(item)
    view.resize(1600 // 3, 1000)
    view.show()
    lo, hi, n = 0.0, 4096.0, 4096
    fixed = display_lut(Voi(center=2000.0, width=3000.0), lo, hi, n=n)
    item.setImage(image.pixels, autoLevels=False, levels=(lo, hi), lut=fixed)
    box.autoRange(padding=0)
    for _ in range(5):
        app.processEvents()
    view.viewport().repaint()

    def frame(i: int) -> None:
        item.updateImage()  # same LUT, forced re-render of the whole item
        view.viewport().repaint()

    name = "autoDownsample=True item, re-render" if auto_downsample else "full-res item, re-render, fixed LUT"
    med = summary(name, time_ms(frame, 10))
    view.close()
    return med


def bench_numpy_lut(image: Image) -> float:
    lut = display_lut(Voi(center=2000.0, width=3000.0), 0.0, 4096.0, n=4096)
    return summary("numpy: LUT applied to the full array", time_ms(lambda i: lut[image.pixels], 10))


def main() -> None:
    pg.setConfigOptions(imageAxisOrder="row-major")
    app = QApplication.instance() or QApplication([])
    image = full_field_image()
    print(f"image {ROWS}x{COLS} uint16, window 1600x1000, {FRAMES} W/L frames")
    one = bench_viewer(app, image, {}, "1 panel")
    norm = (image.pixels.astype(np.float32) / 4095.0).astype(np.float32)
    three = bench_viewer(
        app, image, {"a": ViewContent(norm, "A"), "b": ViewContent(norm[::-1].copy(), "B")}, "3 panels"
    )
    full = bench_plain_item(app, image, auto_downsample=False)
    auto = bench_plain_item(app, image, auto_downsample=True)
    numpy_ms = bench_numpy_lut(image)
    print()
    print(f"1-panel frame vs full-res item render:      {full / one:5.1f}x faster")
    print(f"1-panel frame vs autoDownsample render:     {auto / one:5.1f}x faster")
    print(f"1-panel frame vs numpy LUT on full array:   {numpy_ms / one:5.1f}x faster")
    print(f"3-panel frame under 30 ms: {'yes' if three < 30 else 'NO'} ({three:.1f} ms)")


if __name__ == "__main__":
    main()
