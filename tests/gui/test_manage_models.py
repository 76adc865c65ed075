"""Models > Manage…: shipped and user models listed, activation recomputes what is on
screen with the new version, import refusals named, delete falls back (tiny models)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PySide6.QtWidgets import QMessageBox

import mammoview.nets.store as store
from mammoview.gui.dialogs.manage_models import ManageModelsDialog
from mammoview.nets.edsr import EDSR
from mammoview.nets.registry import install_model, list_models
from mammoview.nets.store import ModelCard, save_model, user_models_dir
from mammoview.nets.unet import UNet
from tests.conftest import require_data

from .aimodels import TINY_PREP, save_tiny_cascade

WAIT_MS = 120_000


def version_of(weights: Path) -> str:
    return json.loads(Path(weights).with_suffix(".json").read_text())["version"]


def save_unet(folder: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    card = ModelCard(task="segmentation", architecture="unet", arch_params={"base": 4, "depth": 2},
                     preprocessing={"working_size": 128}, metrics={"validation": {"dice": 0.01 * seed}},
                     data={"kind": "none (random weights, test)"})
    return save_model(UNet(base=4, depth=2).state_dict(), card, folder / "segmentation")


def save_stage1(folder: Path, seed: int) -> Path:
    from mammoview.nets.resnet import ResNetClassifier

    torch.manual_seed(seed)
    card = ModelCard(task="classifier-stage1", architecture="resnet",
                     arch_params={"arch": "resnet18", "num_classes": 2, "in_ch": 1},
                     preprocessing=dict(TINY_PREP), classes=["normal", "abnormal"],
                     metrics={"validation": {"patch_auc": 0.5}}, data={"dataset": "test"})
    return save_model(ResNetClassifier("resnet18").state_dict(), card, folder / "classifier-stage1",
                      half=True)


@pytest.fixture
def shipped(monkeypatch, tmp_path):
    """The test's own 'shipped' folder: the tiny cascade and a tiny UNet."""
    folder = tmp_path / "shipped"
    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", folder)
    paths = save_tiny_cascade(folder)
    paths["segmentation"] = save_unet(folder, seed=1)
    return paths


def mdb(name: str) -> str:
    return str(require_data("mias", name))


def open_dialog(window) -> ManageModelsDialog:
    dialog = window.model_switch.show_manage_dialog()
    assert isinstance(dialog, ManageModelsDialog)
    return dialog


def test_menu_has_manage_and_the_dialog_lists_shipped_and_user_models(qtbot, window, shipped, tmp_path):
    titles = [a.text() for a in window.models_menu.actions()]
    assert "Model &cards…" in titles and "&Manage…" in titles
    user = install_model(save_unet(tmp_path / "run", seed=2), expected_task="segmentation")
    dialog = open_dialog(window)
    rows = dialog.rows()
    assert ("segmentation", user.version, "", "user") in rows
    assert ("segmentation", version_of(shipped["segmentation"]), "yes", "shipped") in rows
    assert ("classifier-stage1", version_of(shipped[1]), "yes", "shipped") in rows
    dialog.select("segmentation", user.version)
    assert dialog.btn_activate.isEnabled() and dialog.btn_delete.isEnabled()
    dialog.select("segmentation", version_of(shipped["segmentation"]))
    assert not dialog.btn_activate.isEnabled() and not dialog.btn_delete.isEnabled()  # in use; shipped
    card = dialog.show_card()
    assert version_of(shipped["segmentation"]) in card.tab_text(0)
    card.close()
    dialog.close()


def test_activating_a_unet_recomputes_the_layer_with_the_new_version(qtbot, window, shipped, tmp_path):
    window.compute_lane = None  # the layer's job resolves the active model in this process
    user = install_model(save_unet(tmp_path / "run", seed=3))
    old = version_of(shipped["segmentation"])
    window.open_paths([mdb("mdb001.png")])
    qtbot.waitUntil(lambda: window._unet_probe == "done", timeout=WAIT_MS)
    window.layers.set_visible("unet", True)
    masks = window.viewer.panel("original").masks
    qtbot.waitUntil(lambda: getattr(masks.displays.get("unet"), "model_version", None) == old,
                    timeout=WAIT_MS)
    dialog = open_dialog(window)
    dialog.select("segmentation", user.version)
    with qtbot.waitSignal(window.model_switch.changed, timeout=WAIT_MS) as signal:
        assert dialog.activate_selected()
    assert signal.args == ["segmentation", user.version]
    qtbot.waitUntil(lambda: ("segmentation", user.version, "yes", "user") in dialog.rows(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: getattr(masks.displays.get("unet"), "model_version", None) == user.version,
                    timeout=WAIT_MS)
    assert f"(model {user.version})" in window.layer_status("unet")
    assert all(key[3] == user.version for key in window.overlay_cache._items if key[1] == "unet")
    assert window.model_versions()["UNet lesions"] == f"model {user.version}"
    dialog.close()


def test_activating_a_classifier_reclassifies_with_the_new_version(qtbot, window, shipped, tmp_path):
    user = install_model(save_stage1(tmp_path / "run", seed=7), expected_task="classifier-stage1")
    old = version_of(shipped[1])
    window.compute_lane = None  # in worker threads: no process start-up in this test
    window.open_paths([mdb("mdb001.png")])
    panel = window.ai.panel
    qtbot.waitUntil(lambda: old in panel.fields()["versions"], timeout=WAIT_MS)
    dialog = open_dialog(window)
    dialog.select("classifier-stage1", user.version)
    with qtbot.waitSignal(window.model_switch.changed, timeout=WAIT_MS):
        assert dialog.activate_selected()
    # The old result is gone at once; the new one names the new version.
    assert old not in panel.fields()["versions"]
    qtbot.waitUntil(lambda: user.version in panel.fields()["versions"], timeout=WAIT_MS)
    assert window.ai.versions["classifier-stage1"] == user.version
    assert all(r.versions.get("classifier-stage1") == user.version for r in window.ai.results.values()
               if r.classified)
    report = window.ai.report_section()
    assert any(user.version in row[-1] for row in report.rows)
    dialog.close()


def test_import_refuses_another_task_and_installs_a_good_model(qtbot, window, shipped, tmp_path):
    window.compute_lane = None  # checked in a worker thread here (the lane is the app's path)
    torch.manual_seed(0)
    sr = save_model(EDSR(features=8, blocks=1).state_dict(),
                    ModelCard(task="superres", architecture="edsr",
                              arch_params={"features": 8, "blocks": 1}), tmp_path / "sr")
    dialog = open_dialog(window)
    dialog.select("segmentation")
    with qtbot.waitSignal(dialog.finished_work, timeout=WAIT_MS) as signal:
        dialog.import_file(sr, "segmentation")
    assert signal.args[0] == "Import refused: sr.safetensors: model is for task 'superres', not 'segmentation'"
    assert dialog.message.text() == signal.args[0]
    good = save_unet(tmp_path / "run", seed=4)
    with qtbot.waitSignal(dialog.finished_work, timeout=WAIT_MS) as signal:
        dialog.import_file(good, "segmentation")
    assert signal.args[0].startswith(f"Installed segmentation model {version_of(good)}")
    assert ("segmentation", version_of(good), "", "user") in dialog.rows()
    # Export it to a folder and read it back as the same bytes.
    dialog.select("segmentation", version_of(good))
    with qtbot.waitSignal(dialog.finished_work, timeout=WAIT_MS) as signal:
        dialog.export_to(tmp_path / "out")
    exported = tmp_path / "out" / f"segmentation-{version_of(good)}.safetensors"
    assert signal.args[0].startswith(f"Exported to {exported}")
    assert exported.read_bytes() == good.read_bytes()
    dialog.close()


def test_deleting_the_active_model_asks_and_falls_back_to_shipped(qtbot, window, shipped, tmp_path,
                                                                  monkeypatch):
    user = install_model(save_unet(tmp_path / "run", seed=5), activate=True)
    dialog = open_dialog(window)
    dialog.select("segmentation", user.version)
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    assert not dialog.delete_selected()
    assert user.weights.is_file() and "It is in use" in asked[0]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(dialog.finished_work, timeout=WAIT_MS) as signal:
        assert dialog.delete_selected()
    assert signal.args == [f"Deleted the segmentation model {user.version}."]
    assert not user.weights.exists()
    assert [m.origin for m in list_models("segmentation") if m.active] == ["shipped"]
    assert ("segmentation", version_of(shipped["segmentation"]), "yes", "shipped") in dialog.rows()
    assert not (user_models_dir() / "segmentation" / f"{user.version}.json").exists()
    dialog.close()


def save_edsr(folder: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    card = ModelCard(task="superres", architecture="edsr", arch_params={"features": 4, "blocks": 1},
                     metrics={"validation": {"psnr": 30.0 + seed}})
    return save_model(EDSR(features=4, blocks=1).state_dict(), card, folder / "superres")


def test_activating_a_superres_model_recomputes_the_panel(qtbot, window, shipped, tmp_path):
    old = version_of(save_edsr(tmp_path / "shipped", seed=1))  # the fixture's shipped folder
    user = install_model(save_edsr(tmp_path / "run", seed=2))
    window.compute_lane = None  # the panel's job resolves the active model in this process
    window.use_sr_model = True
    window._sr_version_cache = None
    window.open_paths([mdb("mdb001.png")])

    def sr_version():
        cached = window.view_cache.get(window.view_key(window.image, "superres"))
        return None if cached is None else window.view_key(window.image, "superres")[3]

    qtbot.waitUntil(lambda: window.image is not None and sr_version() == old, timeout=WAIT_MS)
    with qtbot.waitSignal(window.model_switch.changed, timeout=WAIT_MS) as signal:
        from mammoview.nets.registry import set_active

        set_active("superres", user.version)  # as the training dialog does
    assert signal.args == ["superres", user.version]
    assert window.sr_model_version() == user.version
    qtbot.waitUntil(lambda: sr_version() == user.version, timeout=WAIT_MS)
    assert not any(k[1] == "superres" and k[3] == old for k in window.view_cache._items)
    assert window.model_versions()["Super-resolution"] == f"EDSR, model {user.version}"


def test_a_model_activated_by_another_process_is_picked_up_when_the_window_comes_back(
        qtbot, window, shipped, tmp_path):
    # `mammoview models activate` in a terminal writes active.json only; the window
    # hears nothing until it is active again, then reclassifies under the new version.
    window.compute_lane = None
    user = install_model(save_stage1(tmp_path / "run", seed=8), expected_task="classifier-stage1")
    window.open_paths([mdb("mdb001.png")])
    panel = window.ai.panel
    qtbot.waitUntil(lambda: version_of(shipped[1]) in panel.fields()["versions"], timeout=WAIT_MS)
    assert window.model_switch.check_other_processes() == []  # records the start
    from mammoview.nets.registry import read_active

    chosen = read_active()
    chosen["classifier-stage1"] = user.version
    (user_models_dir() / "active.json").write_text(json.dumps({"format": 1, "active": chosen}))
    assert window.model_switch.check_other_processes() == ["classifier-stage1"]
    qtbot.waitUntil(lambda: user.version in panel.fields()["versions"], timeout=WAIT_MS)
    assert window.model_switch.check_other_processes() == []
