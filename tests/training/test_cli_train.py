"""`mammoview train` through main([...]): a model and a complete card, one-line errors."""

from __future__ import annotations

import json

from mammoview.cli import main
from mammoview.nets.store import load_model
from mammoview.nets.unet import UNet

REQUIRED = ("task", "architecture", "arch_params", "preprocessing", "classes", "data", "split", "seed",
            "epochs", "metrics", "command", "start", "intended_use", "version", "created")


def test_train_writes_weights_and_a_card_with_the_required_fields(mias_subset, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["train", "segmentation", "--data", str(mias_subset), "--out", str(out), "--epochs", "1",
                   "--arch", "unet-tiny", "--size", "48", "--seed", "3", "--device", "cpu",
                   "--val-fraction", "0.4", "--augment", "flip,zoom"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "wrote" in captured.out and "segmentation.safetensors" in captured.out
    assert "epoch 1/1" in captured.err  # plain progress lines: the test's stderr is not a TTY
    assert "\r" not in captured.err
    card = json.loads((out / "segmentation.json").read_text())
    assert all(key in card for key in REQUIRED)
    assert card["task"] == "segmentation" and card["architecture"] == "unet" and card["seed"] == 3
    assert card["intended_use"] == "Research use only, not for diagnosis."
    assert card["start"].startswith("scratch")
    assert card["command"].startswith("mammoview train segmentation --data")
    assert set(card["split"]["train"]).isdisjoint(card["split"]["val"]) and card["split"]["val"]
    assert {"dice", "iou"} <= set(card["metrics"]["validation"])
    assert "otsu_baseline" in card["metrics"]
    assert card["preprocessing"]["working_size"] == 48
    assert card["preprocessing"]["augmentation"]["names"] == ["flip", "zoom"]
    model, loaded = load_model(out / "segmentation", task="segmentation", build=UNet)
    assert loaded.version == card["version"]


def test_errors_are_one_line_with_a_non_zero_status(mias_subset, tmp_path, capsys):
    assert main(["train", "segmentation", "--data", str(mias_subset), "--out", str(tmp_path), "--augment", "blur"]) == 2
    assert main(["train", "segmentation", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 1
    assert main(["train", "segmentation", "--data", str(mias_subset), "--out", str(tmp_path), "--resume"]) == 1
    assert main(["train", "segment-everything", "--data", str(mias_subset), "--out", str(tmp_path)]) == 2
    assert main(["train", "segmentation", "--data", str(mias_subset), "--out", str(tmp_path), "--epochs", "0"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("mammoview: error: ") for line in lines)
    assert "unknown augmentation 'blur'" in lines[0]
    assert "nowhere: file not found" in lines[1]
    assert "no checkpoint to resume" in lines[2]
