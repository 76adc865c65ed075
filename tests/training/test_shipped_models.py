"""The models shipped in models/: cards with metrics, loadable, the SR model beats bicubic."""

from __future__ import annotations

import json

import pytest

from mammoview.nets.edsr import EDSR
from mammoview.nets.store import SHIPPED_MODELS_DIR, load_model
from mammoview.nets.unet import UNet


def _card(task):
    path = SHIPPED_MODELS_DIR / f"{task}.json"
    if not path.is_file():
        pytest.skip(f"no shipped {task} model in {SHIPPED_MODELS_DIR} (train one with 'mammoview train {task}')")
    return json.loads(path.read_text())


def test_shipped_models_fit_in_60_mb():
    files = [p for p in SHIPPED_MODELS_DIR.glob("*") if p.suffix in (".safetensors", ".json")
             and not p.name.endswith(".checkpoint.safetensors")]
    if not files:
        pytest.skip("models/ is empty")
    assert sum(p.stat().st_size for p in files) < 60 * 1024 * 1024


def test_shipped_segmentation_card_has_validation_metrics_and_loads():
    card = _card("segmentation")
    val = card["metrics"]["validation"]
    assert 0.0 <= val["dice"] <= 1.0 and 0.0 <= val["iou"] <= 1.0
    assert card["command"].startswith("mammoview train segmentation")
    assert card["split"]["val"] and card["intended_use"] == "Research use only, not for diagnosis."
    load_model(SHIPPED_MODELS_DIR / "segmentation", task="segmentation", build=UNet)


def test_shipped_superres_model_beats_bicubic_on_its_validation_patches():
    card = _card("superres")
    val, bicubic = card["metrics"]["validation"], card["metrics"]["bicubic_baseline"]
    assert val["psnr"] > bicubic["psnr"]
    assert val["ssim"] > bicubic["ssim"]
    assert card["metrics"]["model_beats_bicubic"] is True
    assert card["command"].startswith("mammoview train superres")
    load_model(SHIPPED_MODELS_DIR / "superres", task="superres", build=EDSR)
