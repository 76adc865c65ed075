"""`mammoview models ...` and `mammoview train --install`: versions from the command line."""

from __future__ import annotations

import json

import pytest
import torch

import mammoview.nets.store as store
from mammoview.cli import main
from mammoview.nets.registry import active_versions, list_models
from mammoview.nets.store import ModelCard, find_model, save_model, user_models_dir
from mammoview.nets.unet import UNet
from tests.training.conftest import make_subset


def save_unet(folder, seed):
    torch.manual_seed(seed)
    card = ModelCard(task="segmentation", architecture="unet", arch_params={"base": 4, "depth": 2},
                     metrics={"validation": {"dice": 0.25}})
    return save_model(UNet(base=4, depth=2).state_dict(), card, folder / "segmentation")


def version_of(weights) -> str:
    return json.loads(weights.with_suffix(".json").read_text())["version"]


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", tmp_path / "shipped")
    return save_unet(tmp_path / "shipped", seed=0)


def test_import_list_activate_export_delete(shipped, tmp_path, capsys):
    mine = save_unet(tmp_path / "run", seed=1)
    version = version_of(mine)
    assert main(["models", "import", str(mine), "--task", "segmentation"]) == 0
    assert f"installed segmentation model {version}" in capsys.readouterr().out
    assert main(["models", "list", "segmentation"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"  segmentation       {version} user") and "Dice 0.250" in lines[0]
    assert lines[1].startswith(f"* segmentation       {version_of(shipped)} shipped")
    assert main(["models", "activate", "segmentation", version[:6]]) == 0
    assert find_model("segmentation") == user_models_dir() / "segmentation" / f"{version}.safetensors"
    assert main(["models", "export", "segmentation", version, str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / f"segmentation-{version}.safetensors").read_bytes() == mine.read_bytes()
    assert main(["models", "delete", "segmentation", version]) == 0
    assert f"in use now: {version_of(shipped)}" in capsys.readouterr().out
    assert find_model("segmentation") == shipped


def test_refusals_are_one_line(shipped, tmp_path, capsys):
    mine = save_unet(tmp_path / "run", seed=2)
    assert main(["models", "import", str(mine), "--task", "superres"]) == 1
    assert main(["models", "delete", "segmentation", version_of(shipped)]) == 1
    assert main(["models", "activate", "segmentation", "ffffffffffff"]) == 1
    assert main(["models", "activate", "lesions", "abcd"]) == 2
    assert main(["models", "frobnicate"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("mammoview: error: ") for line in lines)
    assert "segmentation.safetensors: model is for task 'segmentation', not 'superres'" in lines[0]
    assert "ships with MammoView and cannot be deleted" in lines[1]
    assert "no segmentation model with version ffffffffffff is installed" in lines[2]
    assert "unknown task 'lesions'" in lines[3]
    assert list_models("segmentation")[0].origin == "shipped"  # nothing was installed


def test_train_install_keeps_the_active_model_unless_activate(shipped, mias_dir, tmp_path, capsys):
    data = make_subset(mias_dir, tmp_path / "mias")
    common = ["train", "segmentation", "--data", str(data), "--epochs", "1", "--arch", "unet-tiny",
              "--size", "48", "--device", "cpu", "--val-fraction", "0.4"]
    assert main([*common, "--out", str(tmp_path / "a"), "--activate"]) == 2  # needs --install
    assert main([*common, "--out", str(tmp_path / "a"), "--calibration-fraction", "1"]) == 2
    assert "--calibration-fraction: must be in [0, 1), got 1" in capsys.readouterr().err
    assert main([*common, "--out", str(tmp_path / "a"), "--install"]) == 0
    first = version_of(tmp_path / "a" / "segmentation.safetensors")
    assert f"installed segmentation model {first} (not in use" in capsys.readouterr().out
    assert active_versions()["segmentation"] == version_of(shipped)
    assert main([*common, "--out", str(tmp_path / "b"), "--seed", "5", "--install", "--activate"]) == 0
    second = version_of(tmp_path / "b" / "segmentation.safetensors")
    assert second != first and active_versions()["segmentation"] == second
    assert {m.version for m in list_models("segmentation")} == {first, second, version_of(shipped)}
