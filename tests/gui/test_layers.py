"""Segmentation layers: the Layers dock, the items on every panel, metrics, report, settings."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QPointF

import mammoview.gui.overlayjobs as oj
from mammoview.core import Image, ImageRef
from mammoview.gui.main_window import MainWindow
from mammoview.gui.overlayjobs import MaskDisplay, display_codes
from mammoview.gui.panels.layers import LayerStyle
from mammoview.gui.shm import leaked_segments, own_prefix
from mammoview.gui.viewer import ViewerArea
from tests.conftest import require_data

SETTLE_MS = 90_000
DDSM_ID = "A_0002_1.RIGHT_MLO"




@pytest.fixture
def ddsm_image(tmp_path):
    """One DDSM tissue image with its masks, in the dataset's layout."""
    root = require_data("ddsm-tissue")
    for folder in ("images", "mask_breast", "mask_pectoral"):
        (tmp_path / "ddsm" / folder).mkdir(parents=True)
        shutil.copy(root / folder / f"{DDSM_ID}.png", tmp_path / "ddsm" / folder)
    return tmp_path / "ddsm" / "images" / f"{DDSM_ID}.png"


def settle(qtbot, window, action):
    with qtbot.waitSignal(window.viewsSettled, timeout=SETTLE_MS):
        action()
    qtbot.waitUntil(lambda: not window._pending_layers, timeout=SETTLE_MS)


def dice_in(text: str) -> float:
    match = re.search(r"Dice (\d\.\d+)", text)
    assert match, text
    return float(match.group(1))


# ------------------------------------------------------------------ the viewer alone
def _asymmetric_image(uid: str, slot: str) -> Image:
    rows, cols = 120, 80
    pixels = np.zeros((rows, cols), np.uint16)
    pixels[10:110, :50] = 900  # breast against the left edge (chest wall left)
    ref = ImageRef(path=f"phantom://t/{slot}", kind="phantom", uid=uid, study_uid="t",
                   laterality=slot[0], view=slot[1:], rows=rows, cols=cols)
    return Image(pixels=pixels, ref=ref, bits_stored=12)


def _corner_mask(shape) -> MaskDisplay:
    mask = np.zeros(shape, bool)
    mask[5:25, 2:12] = True  # top-left block: a mirror moves it to the right
    return MaskDisplay("otsu", "", display_codes(mask), shape)


def test_layer_drawn_mirrored_in_the_hanging(qtbot):
    area = ViewerArea()
    qtbot.addWidget(area)
    area.resize(800, 800)
    area.show()
    images = {s: _asymmetric_image(f"u{s}", s) for s in ("RCC", "LCC", "RMLO", "LMLO")}
    area.show_hanging(images)
    style = LayerStyle(True, "#ff0000", 0.8, "fill")
    area.set_layer_style("otsu", style)
    for slot, image in images.items():
        area.set_layer(replace(_corner_mask(image.shape), uid=image.uid))
    flips = {slot: area.panel(slot).flipped for slot in images}
    assert flips["RCC"] != flips["LCC"]  # one column is mirrored
    for slot in images:
        panel = area.panel(slot)
        item = panel.masks.items["otsu"]
        assert item.isVisible()
        # Mask pixel (row 10, col 3) lands where the panel shows original (10, 3).
        x, y = panel.map_original_to_view(10.5, 3.5)
        mapped = item.mapToParent(QPointF(3.5, 10.5))
        assert (mapped.x(), mapped.y()) == pytest.approx((x, y)), slot
        if panel.flipped:
            assert mapped.x() > 40  # on the right half
    area.set_layer_style("otsu", replace(style, visible=False))
    assert not any(area.panel(s).masks.is_shown("otsu") for s in images)


def test_colour_opacity_and_mode_change_the_pixels(qtbot):
    area = ViewerArea()
    qtbot.addWidget(area)
    area.resize(400, 400)
    area.show()
    image = _asymmetric_image("u1", "RCC")
    area.show_panels(image, {})
    mask = np.zeros(image.shape, bool)
    mask[30:90, 10:40] = True
    area.set_layer_style("breast", LayerStyle(True, "#ff0000", 1.0, "fill"))
    area.set_layer(MaskDisplay("breast", "u1", display_codes(mask), image.shape))
    qtbot.wait(50)
    panel = area.panel("original")

    def centre_pixel():
        rgb = panel.grab_rgb().astype(int)
        red = (rgb[..., 0] > 150) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)
        green = (rgb[..., 1] > 150) & (rgb[..., 0] < 80)
        return red.sum(), green.sum()

    red_fill, _ = centre_pixel()
    assert red_fill > 200
    area.set_layer_style("breast", LayerStyle(True, "#00ff00", 1.0, "fill"))
    red, green = centre_pixel()
    assert red < red_fill / 10 and green > 200
    area.set_layer_style("breast", LayerStyle(True, "#00ff00", 1.0, "contour"))
    _, green_contour = centre_pixel()
    assert 0 < green_contour < green / 2  # only the outline is painted
    area.set_layer_style("breast", LayerStyle(True, "#00ff00", 0.0, "fill"))
    _, green_clear = centre_pixel()
    assert green_clear == 0


# ------------------------------------------------------------------ the window
def test_ddsm_breast_and_pectoral_scored_against_real_masks(qtbot, window, ddsm_image):
    settle(qtbot, window, lambda: window.open_paths([ddsm_image]))
    settle(qtbot, window, lambda: (window.layers.set_visible("breast", True),
                                   window.layers.set_visible("pectoral", True)))
    breast = window.layers.status("breast")
    assert "vs ground truth" in breast and dice_in(breast) >= 0.95
    assert "IoU" in window.layers.status("pectoral")
    assert "manual masks" in window.layers.status("truth")
    for name in window.viewer.panel_names():
        panel = window.viewer.panel(name)
        if panel.isVisible():
            assert panel.masks.is_shown("breast") and panel.masks.is_shown("truth"), name
    window.layers.set_visible("breast", False)
    assert not window.viewer.panel("original").masks.is_shown("breast")


def test_toggling_each_layer_on_every_panel_and_the_report(qtbot, window, mias_dir, tmp_path):
    from pypdf import PdfReader

    folder = tmp_path / "mias"
    folder.mkdir()
    for name in ("mdb001.png", "mdb002.png", "Info.txt"):
        shutil.copy(mias_dir / name, folder / name)
    window.set_panel_visible("superres", False)
    settle(qtbot, window, lambda: window.open_paths([folder]))
    for layer in ("breast", "pectoral", "otsu"):
        settle(qtbot, window, lambda n=layer: window.layers.set_visible(n, True))
        shown = [window.viewer.panel(n).masks.is_shown(layer)
                 for n in window.visible_panels()]
        assert shown and all(shown), layer
    assert "finding circles" in window.layers.status("otsu")  # mdb001 has a located finding
    target = tmp_path / "r.pdf"
    with qtbot.waitSignal(window.reportWritten, timeout=SETTLE_MS):
        window.export_report_to(target, "x")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(target)).pages)
    for title in ("Breast region", "Pectoral muscle", "Otsu candidates"):
        assert title in text
    assert "UNet lesions" in text and "Super-resolution" in text  # model versions listed
    window.layers.set_visible("otsu", False)
    assert not any(window.viewer.panel(n).masks.is_shown("otsu") for n in window.visible_panels())
    assert window.viewer.panel("original").masks.is_shown("breast")


def test_hanging_shows_layers_on_all_four_views(qtbot, window):
    window.layers.set_visible("breast", True)
    settle(qtbot, window, window.open_demo)
    with qtbot.waitSignal(window.hangingShown, timeout=SETTLE_MS):
        window.set_hanging(True)
    qtbot.waitUntil(lambda: not window._pending_layers, timeout=SETTLE_MS)
    for slot in ("RCC", "LCC", "RMLO", "LMLO"):
        assert window.viewer.panel(slot).masks.is_shown("breast"), slot


def test_unet_without_model_is_disabled_with_reason(qtbot, window, mias_dir, monkeypatch, tmp_path):
    monkeypatch.setattr("mammoview.nets.store.SHIPPED_MODELS_DIR", tmp_path / "no-models")
    window.compute_lane = None  # so the patched store applies (thread fallback)
    settle(qtbot, window, lambda: window.open_paths([mias_dir / "mdb001.png"]))
    qtbot.waitUntil(lambda: window.layers.unavailable_reason("unet") is not None,
                    timeout=SETTLE_MS)
    reason = window.layers.status("unet")
    assert reason.startswith("no UNet model:") and "segmentation" in reason
    assert not window.layers.row_widgets("unet").check.isEnabled()
    # The rest keeps working.
    settle(qtbot, window, lambda: window.layers.set_visible("breast", True))
    assert window.viewer.panel("original").masks.is_shown("breast")


def test_layer_settings_persist(qtbot, mias_dir):
    first = MainWindow()
    qtbot.addWidget(first)
    first.layers.set_style("otsu", LayerStyle(True, "#123456", 0.25, "contour"))
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.layers.style("otsu") == LayerStyle(True, "#123456", 0.25, "contour")
    assert second.viewer.layer_style("otsu").color == "#123456"
    second.close()


def test_stale_layer_result_for_previous_image_is_dropped(qtbot, window, mias_dir, monkeypatch,
                                                          tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    for name in ("mdb001.png", "mdb002.png", "Info.txt"):
        shutil.copy(mias_dir / name, folder / name)
    real = oj.compute_layer

    def slow(layer, uid, *args, **kwargs):
        time.sleep(0.5)
        return real(layer, uid, *args, **kwargs)

    monkeypatch.setattr(oj, "compute_layer", slow)
    window.compute_lane = None
    window.set_panel_visible("superres", False)
    settle(qtbot, window, lambda: window.open_paths([folder]))
    first_uid = window.image.uid
    dropped = []
    window.runner.dropped.connect(dropped.append)
    window.layers.set_visible("breast", True)  # starts mdb001's breast mask
    window.next_image()  # ... and the user moves on at once
    qtbot.waitUntil(lambda: window.runner.outstanding == 0 and not window._pending_layers,
                    timeout=SETTLE_MS)
    assert any("mdb001" in name for name in dropped), dropped
    displays = window.viewer.panel("original").masks.displays
    assert displays["breast"].uid == window.image.uid != first_uid


def test_no_shared_memory_left_after_the_window_closes(qtbot, mias_dir):
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.set_panel_visible("superres", False)
    win.layers.set_visible("breast", True)
    with qtbot.waitSignal(win.viewsSettled, timeout=SETTLE_MS):
        win.open_paths([mias_dir / "mdb001.png"])
    win.close()
    win.runner.wait_for_done(10_000)
    assert leaked_segments(own_prefix()) == []


def test_heat_layers_offer_no_colour_and_every_row_says_how_it_is_drawn(qtbot):
    from mammoview.gui.panels.layers import HEAT_LAYERS, LayersPanel

    panel = LayersPanel()
    qtbot.addWidget(panel)
    for name in HEAT_LAYERS:  # a colour button that changes nothing would mislead
        assert panel._rows[name].color.isHidden()
        assert "blue (low) to opaque red (high)" in panel._rows[name].check.toolTip()
    assert not panel._rows["unet"].color.isHidden()
    assert "red malignant, yellow benign" in panel._rows["truth"].check.toolTip()
    # ... and the report states the same.
    assert panel.describe("gradcam") == "blue (low) to red (high), opacity 60%"
    assert panel.describe("truth").startswith("contour, #00e5ff, opacity 90%; circles: red malignant")
    assert "#2979ff away from it" in panel.describe("lime")
