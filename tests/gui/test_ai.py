"""The AI side of the window: classification panel, stale results, disabled models,
LIME / Grad-CAM layers, the PDF and the model cards (tiny random-weight models)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from pypdf import PdfReader

import mammoview.nets.store as store
from mammoview.nets.store import user_models_dir
from tests.conftest import require_data
from tests.gui.conftest import show_widget

from .aimodels import save_tiny_cascade

WAIT_MS = 120_000


@pytest.fixture
def models(monkeypatch, tmp_path):
    # Only the test's models count, whatever ships in models/.
    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", tmp_path / "no-shipped-models")
    return save_tiny_cascade(user_models_dir())




def mias(*names: str) -> list[str]:
    root = require_data("mias")
    return [str(root / n) for n in names]


def card_version(path: Path) -> str:
    return json.loads(Path(path).with_suffix(".json").read_text())["version"]


def wait_result(qtbot, window, uid=None):
    def shown():
        ref = window.current_ref()
        assert ref is not None and window.ai.panel.shown_uid == (uid or ref.uid)
    qtbot.waitUntil(shown, timeout=WAIT_MS)


def test_classifying_a_mias_image_shows_the_cascade_result(qtbot, window, models):
    window.open_paths(mias("mdb001.png", "mdb002.png"))
    wait_result(qtbot, window)
    fields = window.ai.panel.fields()
    assert fields["image"] == "mdb001.png"
    assert fields["call"] in ("Normal", "Benign", "Malignant")
    assert re.fullmatch(r"(10|[1-9])/10", fields["suspicion"])
    p1, p2 = float(fields["p_abnormal"]), float(fields["p_malignant"])
    assert 0 <= p1 <= 1 and 0 <= p2 <= 1
    assert fields["truth"] == "ground truth: benign"  # MIAS mdb001: benign mass
    for stage in (1, 2):
        # The version with the threshold the call was made at (the cards' 0.5 here).
        assert f"classifier-stage{stage} {card_version(models[stage])} (threshold 0.500)" in fields["versions"]
    # The status bar names the device the cascade runs on (in the process lane).
    assert window.ai.device and window.ai.device in window.ai.status_label.text()
    # The study's other image is classified too, then the breast and study aggregates.
    qtbot.waitUntil(lambda: window.ai.panel.study_rows() and
                    window.ai.panel.study_rows()[0][1] not in ("", "…"), timeout=WAIT_MS)
    rows = window.ai.panel.study_rows()
    assert any("Right breast" in r[0] for r in rows) and any("Left breast" in r[0] for r in rows)
    assert any("mdb002.png" in r[0] and r[1] in ("Normal", "Benign", "Malignant") for r in rows)
    assert window.ai.device.split(":")[0] in ("cpu", "cuda", "mps")


def test_stepping_fast_never_shows_a_result_on_the_wrong_image(qtbot, window, models):
    window.open_paths(mias(*(f"mdb00{i}.png" for i in range(1, 7))))
    qtbot.waitUntil(lambda: window.current_ref() is not None, timeout=WAIT_MS)
    seen = []
    panel = window.ai.panel
    original = panel.show_result

    def spy(result, name, truth):
        seen.append((result.uid, window.current_ref().uid, name, window.current_ref().display_name))
        original(result, name, truth)

    panel.show_result = spy
    for _ in range(5):
        window.next_image()
        qtbot.wait(40)
    for _ in range(2):
        window.previous_image()
        qtbot.wait(25)
    wait_result(qtbot, window)
    assert seen, "no result was shown"
    assert all(shown == current and name == current_name for shown, current, name, current_name in seen)
    assert panel.shown_uid == window.current_ref().uid
    assert panel.fields()["image"] == window.current_ref().display_name


def test_missing_models_disable_ai_and_the_rest_works(qtbot, window, monkeypatch, tmp_path):
    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", tmp_path / "none")
    with qtbot.waitSignal(window.viewsSettled, timeout=WAIT_MS):
        window.open_paths(mias("mdb001.png"))
    status = window.ai.panel.fields()["status"]
    assert status.startswith("AI disabled:") and "no classifier-stage1 model" in status
    assert window.ai.status_label.text() == "AI: disabled"
    assert window.ai.panel.fields()["call"] == "not classified: AI disabled"
    assert not window.layers.row_widgets("lime").check.isEnabled()
    # The enhancement panels still computed (no "computing…" left, a wavelet result cached).
    assert window.view_cache.get(window.view_key(window.image, "wavelet")) is not None
    assert "Classifier cascade" in window.model_versions()


def test_corrupt_weights_disable_ai_with_the_store_message(qtbot, window, monkeypatch, tmp_path, models):
    models[1].write_bytes(b"not a safetensors file")
    window.open_paths(mias("mdb001.png"))
    qtbot.waitUntil(lambda: window.ai.state == "disabled", timeout=WAIT_MS)
    status = window.ai.panel.fields()["status"]
    assert "classifier-stage1" in status and status.startswith("AI disabled:")
    assert window.layers.unavailable_reason("gradcam")


def _lime_items(window):
    return [entry.panel.masks.items.get("lime") for entry in window.viewer._entries.values()
            if entry.image is not None]


def test_lime_layer_refines_progressively_and_toggles_on_every_panel(qtbot, window, models):
    window.open_paths(mias("mdb001.png"))
    wait_result(qtbot, window)
    window.layers.set_explain_settings(1, 64, emit=False)
    uid = window.current_ref().uid
    window.layers.set_visible("lime", True)
    qtbot.waitUntil(lambda: (window.ai.lime_updates.get(uid) or [0])[-1] == 64 and window.ai.is_idle(),
                    timeout=WAIT_MS)
    updates = window.ai.lime_updates[uid]
    assert len([u for u in updates if u < 64]) >= 2, updates  # partial overlays before the final
    assert updates == sorted(updates)
    items = _lime_items(window)
    assert len(items) == len(window.visible_panels()) and all(i is not None and i.isVisible() for i in items)
    assert "64/64 samples" in window.layers.status("lime")
    codes = window.ai.explain_cache.get(window.ai.explain_key(uid, "lime")).codes
    assert (codes != 128).any()  # some superpixel carries weight
    window.layers.set_visible("lime", False)
    assert not any(i.isVisible() for i in _lime_items(window))
    count = len(updates)
    window.layers.set_visible("lime", True)  # from the cache: same seed and settings
    assert all(i.isVisible() for i in _lime_items(window))
    assert len(window.ai.lime_updates[uid]) == count


def test_gradcam_layer_appears(qtbot, window, models):
    window.open_paths(mias("mdb001.png"))
    wait_result(qtbot, window)
    uid = window.current_ref().uid
    window.layers.set_visible("gradcam", True)
    qtbot.waitUntil(lambda: window.ai.explain_cache.get(window.ai.explain_key(uid, "gradcam")) is not None,
                    timeout=WAIT_MS)
    display = window.ai.explain_cache.get(window.ai.explain_key(uid, "gradcam"))
    assert display.kind == "heat" and display.codes.max() == 255
    assert "Grad-CAM over" in window.layers.status("gradcam")
    items = [e.panel.masks.items.get("gradcam") for e in window.viewer._entries.values() if e.image is not None]
    assert items and all(i is not None and i.isVisible() for i in items)


def test_pdf_has_predictions_versions_and_notice(qtbot, window, models, tmp_path):
    window.open_paths(mias("mdb001.png", "mdb002.png"))
    wait_result(qtbot, window)
    qtbot.waitUntil(lambda: bool(window.ai.aggregates), timeout=WAIT_MS)
    call = window.ai.panel.fields()["call"]
    target = tmp_path / "ai.pdf"
    with qtbot.waitSignal(window.reportWritten, timeout=WAIT_MS):
        window.export_report_to(target, "test")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(target)).pages)
    assert "AI classification (research)" in text
    assert "mdb001.png" in text and call in text
    assert "Study:" in text and "ground truth: benign" in text
    for stage in (1, 2):
        assert f"classifier-stage{stage} {card_version(models[stage])} (threshold 0.500)" in text
    assert "Research use only, not for diagnosis." in text


def test_model_cards_dialog_lists_the_card_fields(qtbot, window, models):
    dialog = window.ai.show_model_cards()
    qtbot.addWidget(dialog)
    titles = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    assert titles[:2] == ["classifier-stage1", "classifier-stage2"]
    text = dialog.tab_text(0)
    for field in ("Task", "Architecture", "Version", "Data", "Split", "Metrics", "Command", "Intended use"):
        assert field in text
    assert card_version(models[1]) in text and "research use only" in text.lower()
    assert "tests/gui/aimodels.py" in text
    dialog.close()


def test_tiny_and_blank_images_are_not_classified_with_the_reason(qtbot, window, models, tmp_path):
    PILImage.fromarray(np.full((120, 100), 90, np.uint8)).save(tmp_path / "tiny.png")
    PILImage.fromarray(np.full((512, 512), 90, np.uint8)).save(tmp_path / "blank.png")
    window.open_paths([str(tmp_path / "tiny.png"), str(tmp_path / "blank.png")])
    wait_result(qtbot, window)
    first = window.ai.panel.fields()["call"]
    window.next_image()
    wait_result(qtbot, window)
    second = window.ai.panel.fields()["call"]
    calls = {first, second}
    assert any(c.startswith("not classified: image too small (100 x 120 px") for c in calls), calls
    assert "not classified: blank image (constant grey)" in calls


def test_an_evicted_heatmap_is_computed_again_when_its_image_is_shown(qtbot, window, models):
    # Triage of a long worklist keeps every result but not every heatmap: the heat cache
    # is bounded. Here it holds one, so showing the second image evicts the first's.
    window.open_paths(mias("mdb001.png", "mdb002.png"))
    wait_result(qtbot, window)
    ai = window.ai
    first = window.current_ref().uid
    qtbot.waitUntil(lambda: ai.heat.get((first, ai.key)) is not None, timeout=WAIT_MS)
    one = ai.heat.get((first, ai.key)).nbytes
    window.layers.set_visible("aiheat", True)
    window.next_image()
    second = window.current_ref().uid
    wait_result(qtbot, window, second)
    ai.heat.max_bytes = one + 1  # room for one heatmap: the next put evicts the other
    ai.heat.clear()
    ai.request_layers(["aiheat"])  # the second image's heat, computed again and cached
    qtbot.waitUntil(lambda: ai.heat.get((second, ai.key)) is not None, timeout=WAIT_MS)
    before = ai.results[(first, ai.key)]
    window.show_image(0, 0)  # back to the first image, its heatmap no longer cached
    qtbot.waitUntil(lambda: ai.heat.get((first, ai.key)) is not None, timeout=WAIT_MS)
    assert ai.heat.get((second, ai.key)) is None  # the bound holds

    def drawn():
        items = [e.panel.masks.items.get("aiheat") for e in window.viewer._entries.values() if e.image is not None]
        assert items and all(i is not None and i.isVisible() for i in items)
    qtbot.waitUntil(drawn, timeout=WAIT_MS)
    assert ai.results[(first, ai.key)].p_abnormal == before.p_abnormal  # same numbers


def test_the_study_tree_keeps_the_ground_truth_column_in_view_in_a_narrow_dock(qtbot):
    from mammoview.gui.panels.ai import AiPanel

    panel = show_widget(qtbot, AiPanel(), 300, 400)
    rows = [("a_very_long_file_name_from_a_scanner_export_mdb001.png", "R", "…", "benign"),
            ("a_very_long_file_name_from_a_scanner_export_mdb002.png", "L", "…", "normal")]
    panel.show_study("MIAS patient 1 with a long study description", rows)
    qtbot.wait(50)
    header, width = panel.tree.header(), panel.tree.viewport().width()
    assert header.sectionViewportPosition(3) + header.sectionSize(3) <= width
    assert header.sectionSize(3) >= panel.tree.fontMetrics().horizontalAdvance("benign")
