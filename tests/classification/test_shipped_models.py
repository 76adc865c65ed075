"""The shipped cascade models: present with cards that report what the product issue asks."""

from __future__ import annotations

import json

import pytest

from mammoview.nets.store import SHIPPED_MODELS_DIR

REQUIRED = ("auc", "auc_ci95", "auc_ci_method", "sensitivity", "specificity", "precision", "f1", "mcc",
            "confusion", "threshold", "threshold_chosen", "calibration")


@pytest.mark.parametrize("stage", [1, 2])
def test_shipped_card_reports_the_required_metrics(stage):
    card_path = SHIPPED_MODELS_DIR / f"classifier-stage{stage}.json"
    if not card_path.is_file():
        pytest.skip(f"{card_path.name} is not shipped")
    card = json.loads(card_path.read_text())
    assert card["task"] == f"classifier-stage{stage}" and card["architecture"] == "resnet"
    assert card["start"].startswith("scratch") or card["start"].startswith("ImageNet")
    level = card["metrics"]["image_level"]
    assert all(k in level for k in REQUIRED), [k for k in REQUIRED if k not in level]
    assert {"brier", "bins"} <= set(level["calibration"])
    assert set(level["confusion"]) == {"tp", "fp", "tn", "fn"}
    assert "patch_level" in card["metrics"] and "reported_by_papers" in card["metrics"]
    assert "research use only" in card["intended_use"].lower()
    assert (SHIPPED_MODELS_DIR / f"classifier-stage{stage}.safetensors").stat().st_size < 60e6


def test_shipped_cascade_loads_and_classifies_a_real_image(mias_dir):
    if not (SHIPPED_MODELS_DIR / "classifier-stage1.json").is_file():
        pytest.skip("the cascade models are not shipped")
    from mammoview.classification.cascade import Cascade
    from mammoview.io.raster import read_raster

    result = Cascade.load(device="cpu").classify(read_raster(mias_dir / "mdb001.png"))
    assert result.classified and result.label in ("normal", "benign", "malignant")
