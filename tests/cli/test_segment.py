"""`mammoview segment`: the four masks of a real MIAS image, and the three without a UNet."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image as PILImage

from mammoview.cli import main


@pytest.fixture
def no_shipped_models(tmp_path, monkeypatch):
    """No model anywhere: the per-user folder is empty (conftest) and the shipped one moved."""
    from mammoview.nets import store

    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", tmp_path / "no-shipped-models")


@pytest.fixture
def user_unet(tmp_path, monkeypatch, no_shipped_models):
    """A tiny random UNet installed as the user's segmentation model."""
    import torch

    from mammoview.nets.store import ModelCard, save_model
    from mammoview.nets.unet import UNet

    torch.manual_seed(0)
    data = tmp_path / "userdata"
    monkeypatch.setenv("MAMMOVIEW_DATA_DIR", str(data))
    card = ModelCard(task="segmentation", architecture="unet",
                     arch_params={"in_ch": 1, "out_ch": 1, "base": 4, "depth": 2},
                     preprocessing={"working_size": 128})
    return save_model(UNet(base=4, depth=2).state_dict(), card, data / "models" / "segmentation")


def _mask(path):
    with PILImage.open(path) as png:
        assert png.mode == "L"
        values = np.asarray(png)
    assert set(np.unique(values)) <= {0, 255}
    return values == 255


def test_writes_four_masks_of_the_image_size(mias_dir, tmp_path, capsys, user_unet):
    out = tmp_path / "masks"
    assert main(["segment", str(mias_dir / "mdb012.png"), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["mdb012_breast.png", "mdb012_otsu.png", "mdb012_pectoral.png", "mdb012_unet.png"]
    masks = {n.split("_")[1][:-4]: _mask(out / n) for n in names}
    assert all(m.shape == (1024, 1024) for m in masks.values())
    breast, muscle = masks["breast"], masks["pectoral"]
    assert 0.1 < breast.mean() < 0.9 and muscle.any()  # an MLO view: the muscle is there
    assert masks["otsu"].any() and not (masks["otsu"] & ~breast).any()
    assert not (masks["otsu"] & muscle).any()
    assert "wrote 4 masks" in capsys.readouterr().out


def test_without_a_model_writes_three_and_says_why_in_one_line(
    mias_dir, tmp_path, capsys, no_shipped_models
):
    out = tmp_path / "masks"
    assert main(["segment", str(mias_dir / "mdb012.png"), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "mdb012_breast.png", "mdb012_otsu.png", "mdb012_pectoral.png"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("mammoview: warning: no *_unet.png masks: ")
    assert "no lesion segmentation model found" in err[0]


def test_exit_status_is_1_when_nothing_can_be_written(tmp_path, capsys, no_shipped_models):
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"not a PNG at all")
    assert main(["segment", str(bad), "--out", str(tmp_path / "masks")]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert not list(tmp_path.glob("masks/*.png"))


def test_same_stem_twice_gets_distinct_names(mias_dir, tmp_path, no_shipped_models):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    shutil.copy(mias_dir / "mdb012.png", a / "img.png")
    shutil.copy(mias_dir / "mdb012.png", b / "img.png")
    out = tmp_path / "masks"
    assert main(["segment", str(a / "img.png"), str(b / "img.png"), "--out", str(out)]) == 0
    assert (out / "img_breast.png").exists() and (out / "img_2_breast.png").exists()
