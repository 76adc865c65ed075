"""Installed models and versions: install, list, activate, delete, export, import, and
every refusal names the file and the reason (tiny networks built in the test)."""

from __future__ import annotations

import json

import pytest
import torch

import mammoview.nets.registry as registry
import mammoview.nets.store as store
from mammoview.nets.edsr import EDSR
from mammoview.nets.registry import (
    InstalledModel,
    ModelStoreError,
    active_model,
    active_versions,
    delete_model,
    export_model,
    import_model,
    install_model,
    list_models,
    set_active,
)
from mammoview.nets.resnet import ResNetClassifier
from mammoview.nets.store import ModelCard, ModelLoadError, find_model, save_model, user_models_dir
from mammoview.nets.unet import UNet


def save_unet(folder, name="segmentation", seed=0, *, base=4, metrics=None, created=""):
    torch.manual_seed(seed)
    net = UNet(base=base, depth=2)
    card = ModelCard(task="segmentation", architecture="unet", arch_params={"base": base, "depth": 2},
                     metrics={"validation": metrics or {"dice": 0.1 * (seed + 1)}},
                     data={"kind": "MIAS folder", "used": 10}, created=created)
    return save_model(net.state_dict(), card, folder / name)


def version_of(weights) -> str:
    return json.loads(weights.with_suffix(".json").read_text())["version"]


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A shipped folder with one segmentation model (the test's, not the repository's)."""
    folder = tmp_path / "shipped"
    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", folder)
    return save_unet(folder, seed=0, created="2020-01-01T00:00:00Z")


def test_shipped_model_is_listed_and_active_by_default(shipped):
    models = list_models("segmentation")
    assert [(m.origin, m.active) for m in models] == [("shipped", True)]
    assert models[0].version == version_of(shipped)
    assert models[0].headline == "Dice 0.100" and models[0].architecture == "unet"
    assert active_model("segmentation") == find_model("segmentation") == shipped
    assert list_models("superres") == [] and active_model("superres") is None


def test_install_keeps_the_active_model_until_activated(shipped, tmp_path):
    trained = save_unet(tmp_path / "run", seed=1, created="2021-01-01T00:00:00Z")
    installed = install_model(trained, expected_task="segmentation")
    version = version_of(trained)
    assert isinstance(installed, InstalledModel)
    assert installed.origin == "user" and installed.version == version and not installed.active
    assert installed.weights == user_models_dir() / "segmentation" / f"{version}.safetensors"
    assert installed.weights.read_bytes() == trained.read_bytes()
    assert find_model("segmentation") == shipped  # a user's training never silently replaces it
    set_active("segmentation", version)
    assert find_model("segmentation") == installed.weights
    assert active_versions()["segmentation"] == version
    assert json.loads((user_models_dir() / "active.json").read_text())["active"] == {"segmentation": version}
    listed = list_models("segmentation")
    assert [(m.origin, m.active) for m in listed] == [("user", True), ("shipped", False)]
    # The model still loads through the ordinary path, with its version.
    _, card = store.load_model(find_model("segmentation"), task="segmentation", build=UNet)
    assert card.version == version
    # Installing the same weights again copies nothing and changes nothing.
    again = install_model(trained)
    assert again.weights == installed.weights and again.active


def test_install_with_activate_and_abbreviated_versions(shipped, tmp_path):
    trained = save_unet(tmp_path / "run", seed=2)
    model = install_model(trained, activate=True)
    assert model.active and find_model("segmentation") == model.weights
    set_active("segmentation", version_of(shipped)[:6])  # abbreviated, unambiguous
    assert find_model("segmentation") == shipped


def test_delete_refuses_shipped_and_falls_back_to_it(shipped, tmp_path):
    model = install_model(save_unet(tmp_path / "run", seed=3), activate=True)
    with pytest.raises(ModelStoreError, match="ships with MammoView and cannot be deleted"):
        delete_model("segmentation", version_of(shipped))
    delete_model("segmentation", model.version)
    assert not model.weights.exists() and not model.card_path.exists()
    assert find_model("segmentation") == shipped
    assert "segmentation" not in json.loads((user_models_dir() / "active.json").read_text())["active"]
    with pytest.raises(ModelStoreError, match=f"no segmentation model with version {model.version}"):
        set_active("segmentation", model.version)


def test_export_then_import_round_trip(shipped, tmp_path):
    model = install_model(save_unet(tmp_path / "run", seed=4))
    out = export_model("segmentation", model.version, tmp_path / "exported")
    assert out == tmp_path / "exported" / f"segmentation-{model.version}.safetensors"
    assert out.read_bytes() == model.weights.read_bytes()
    assert out.with_suffix(".json").read_bytes() == model.card_path.read_bytes()
    delete_model("segmentation", model.version)
    back = import_model(out, expected_task="segmentation")
    assert back.version == model.version and back.weights.read_bytes() == out.read_bytes()


def test_export_refuses_an_installed_file_that_changed(shipped, tmp_path):
    model = install_model(save_unet(tmp_path / "run", seed=5))
    data = bytearray(model.weights.read_bytes())
    data[-1] ^= 0xFF
    model.weights.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=f"{model.version}.safetensors: weights do not match the model card"):
        export_model("segmentation", model.version, tmp_path / "exported")
    assert not list((tmp_path / "exported").glob("*"))  # nothing half-written


def test_import_refuses_a_model_of_another_task(shipped, tmp_path):
    torch.manual_seed(0)
    card = ModelCard(task="superres", architecture="edsr", arch_params={"features": 8, "blocks": 1})
    weights = save_model(EDSR(features=8, blocks=1).state_dict(), card, tmp_path / "sr")
    with pytest.raises(ModelLoadError, match=r"sr\.safetensors: model is for task 'superres', not 'segmentation'"):
        import_model(weights, expected_task="segmentation")
    assert not (user_models_dir() / "superres").exists()


def test_import_refuses_tensors_of_another_architecture(shipped, tmp_path):
    torch.manual_seed(0)
    net = ResNetClassifier("resnet18", num_classes=2, in_ch=1)
    card = ModelCard(task="classifier-stage1", architecture="resnet",
                     arch_params={"arch": "resnet50", "num_classes": 2, "in_ch": 1},
                     classes=["normal", "abnormal"])
    weights = save_model(net.state_dict(), card, tmp_path / "stage1", half=True)
    with pytest.raises(ModelLoadError, match=r"stage1\.safetensors: the tensors do not fit architecture "
                                             r"resnet \(resnet50\)"):
        import_model(weights, expected_task="classifier-stage1")
    assert list_models("classifier-stage1") == []


def test_import_refuses_an_architecture_the_task_cannot_run(shipped, tmp_path):
    torch.manual_seed(0)
    card = ModelCard(task="segmentation", architecture="edsr", arch_params={"features": 8, "blocks": 1})
    weights = save_model(EDSR(features=8, blocks=1).state_dict(), card, tmp_path / "odd")
    with pytest.raises(ModelLoadError, match="odd.safetensors: architecture 'edsr' cannot run task 'segmentation'"):
        import_model(weights)


def test_import_refuses_corrupt_and_mismatched_files(shipped, tmp_path):
    weights = save_unet(tmp_path / "run", seed=6)
    blob = weights.read_bytes()
    weights.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ModelLoadError, match=r"segmentation\.safetensors: corrupt or truncated"):
        import_model(weights)
    weights.write_bytes(blob)
    card = json.loads(weights.with_suffix(".json").read_text())
    card["version"], card["sha256"] = "0" * 12, "0" * 64
    weights.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="weights do not match the model card"):
        import_model(weights)
    weights.with_suffix(".json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"segmentation\.json: model card is not readable"):
        import_model(weights)
    with pytest.raises(ModelLoadError, match=r"nothing\.safetensors: weights file not found"):
        import_model(tmp_path / "nothing.safetensors")
    assert not (user_models_dir() / "segmentation").exists()


def test_a_model_in_the_old_layout_is_listed_and_stays_in_use(shipped):
    legacy = save_unet(user_models_dir(), seed=7)  # <user>/segmentation.safetensors
    models = list_models("segmentation")
    assert [(m.origin, m.weights, m.active) for m in models] == [
        ("user", legacy, True), ("shipped", shipped, False)]
    set_active("segmentation", version_of(shipped))
    assert find_model("segmentation") == shipped
    delete_model("segmentation", version_of(legacy))
    assert not legacy.exists() and [m.origin for m in list_models("segmentation")] == ["shipped"]


def test_an_active_choice_whose_files_are_gone_falls_back(shipped, tmp_path):
    model = install_model(save_unet(tmp_path / "run", seed=8), activate=True)
    model.weights.unlink()  # removed by hand
    assert find_model("segmentation") == shipped
    (user_models_dir() / "active.json").write_text("{broken")
    assert find_model("segmentation") == shipped


def test_an_unreadable_user_card_is_listed_with_its_problem_and_can_be_deleted(shipped):
    folder = user_models_dir() / "segmentation"
    folder.mkdir(parents=True)
    (folder / "abcdef123456.safetensors").write_bytes(b"junk")
    (folder / "abcdef123456.json").write_text("[]")
    bad = [m for m in list_models("segmentation") if m.origin == "user"]
    assert len(bad) == 1 and bad[0].card is None and "not readable" in bad[0].problem
    with pytest.raises(ModelStoreError, match="cannot be activated"):
        set_active("segmentation", "abcdef123456")
    delete_model("segmentation", "abcdef123456")
    assert not any(folder.iterdir())


def test_listeners_hear_installs_activations_and_deletions(shipped, tmp_path):
    events = []

    class Watcher:
        def on_change(self, event):
            events.append(event)

    watcher = Watcher()
    registry.add_listener(watcher.on_change)
    try:
        model = install_model(save_unet(tmp_path / "run", seed=9))
        set_active("segmentation", model.version)
        delete_model("segmentation", model.version)
    finally:
        registry.remove_listener(watcher.on_change)
    shipped_version = version_of(shipped)
    assert [(e.action, e.version, e.active) for e in events] == [
        ("install", model.version, shipped_version),
        ("activate", model.version, model.version),
        ("delete", model.version, shipped_version)]
    del watcher  # held weakly: a collected listener is dropped, never called
    registry.notify_changed("activate", "segmentation", shipped_version)
    assert len(events) == 3


def test_unknown_task_is_refused():
    with pytest.raises(ModelStoreError, match="unknown task 'nope'"):
        list_models("nope")
