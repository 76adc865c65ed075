"""Super-resolution with a trained EDSR: tiling, progress, cancellation, loading, labels."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mammoview.core.progress import CancelToken, Cancelled
from mammoview.enhance.superres import (
    BICUBIC_LABEL,
    EdsrModel,
    SuperResolved,
    iter_superresolve,
    load_superres_model,
    superres_model_status,
    superresolve,
)


def test_importing_superres_does_not_import_torch():
    code = "import sys, mammoview.enhance.superres; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture
def tiny_edsr(tmp_path):
    """A randomly initialised one-block EDSR saved through the store (not the shipped one)."""
    import torch

    from mammoview.nets.edsr import EDSR
    from mammoview.nets.store import ModelCard, save_model

    torch.manual_seed(0)
    params = {"scale": 2, "features": 8, "blocks": 1, "res_scale": 1.0}
    net = EDSR(**params)
    card = ModelCard(task="superres", architecture="edsr", arch_params=params,
                     preprocessing={"scale": 2})
    return save_model(net.state_dict(), card, tmp_path / "superres")


def _image(shape=(40, 50)):
    return (np.random.default_rng(1).random(shape) * 255).astype(np.uint8)


def test_tiles_match_one_whole_image_pass(tiny_edsr):
    import torch

    model = load_superres_model(tiny_edsr, device="cpu")
    assert isinstance(model, EdsrModel)
    img = _image()
    events = list(iter_superresolve(img, model, tile=16, overlap=8))
    tiled = events[-1].partial.array
    lo, hi = float(img.min()), float(img.max())  # the card's preprocessing: min-max to [0, 1]
    x = torch.from_numpy((img.astype(np.float32) - lo) / (hi - lo))[None, None]
    with torch.no_grad():
        whole = model.module(x)[0, 0].clamp(0, 1).numpy()
    assert tiled.shape == (80, 100) and tiled.dtype == np.float32
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    # The network is not the identity on top of bicubic: the test above compares real work.
    assert np.abs(whole - superresolve(img).array).max() > 0.01


def test_progress_counts_tiles_and_the_last_event_carries_the_result(tiny_edsr):
    model = load_superres_model(tiny_edsr, device="cpu")
    events = list(iter_superresolve(_image(), model, tile=16, overlap=4))
    tiles = 3 * 4  # ceil(40/16) x ceil(50/16)
    assert len(events) == tiles + 1
    assert [e.done for e in events] == list(range(tiles + 1))
    assert all(e.total == tiles for e in events)
    assert all(e.partial is None for e in events[:-1])
    result = events[-1].partial
    assert isinstance(result, SuperResolved)
    assert result.label == f"EDSR x2 (model {model.version})"
    assert result.model_version == model.version and len(model.version) == 12


def test_cancel_stops_between_tiles(tiny_edsr):
    model = load_superres_model(tiny_edsr, device="cpu")
    token = CancelToken()
    seen = []
    with pytest.raises(Cancelled):
        for event in iter_superresolve(_image(), model, tile=16, cancel=token):
            seen.append(event)
            if event.done == 2:
                token.cancel()
    assert len(seen) == 3 and seen[-1].partial is None


def test_superresolve_with_the_model_is_labelled_with_its_version(tiny_edsr):
    model = load_superres_model(tiny_edsr, device="cpu")
    img = _image((30, 20))
    sr = superresolve(img, model=model)
    assert sr.label == f"EDSR x2 (model {model.version})"
    assert sr.model_version == model.version
    assert sr.array.shape == (60, 40) and 0.0 <= sr.array.min() and sr.array.max() <= 1.0


def test_the_active_model_comes_from_the_user_models_folder(tiny_edsr, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / "userdata" / "models"
    folder.mkdir(parents=True)
    for suffix in (".safetensors", ".json"):
        shutil.copy(tiny_edsr.with_suffix(suffix), folder / f"superres{suffix}")
    monkeypatch.setenv("MAMMOVIEW_DATA_DIR", str(tmp_path / "userdata"))
    model, reason = superres_model_status(device="cpu")
    assert model is not None and reason == ""
    assert model.path == folder / "superres.safetensors"


def test_without_a_model_it_says_why_and_stays_bicubic(tmp_path, monkeypatch):
    from mammoview.nets import store

    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", tmp_path / "none")
    model, reason = superres_model_status()
    assert model is None and "no super-resolution model found" in reason
    assert load_superres_model() is None
    assert superresolve(_image(), model=None).label == BICUBIC_LABEL


def test_corrupt_or_mismatched_weights_give_none_with_the_reason(tiny_edsr):
    blob = tiny_edsr.read_bytes()
    tiny_edsr.write_bytes(blob[:100])
    model, reason = superres_model_status(tiny_edsr)
    assert model is None and reason.startswith("superres.safetensors: ")
    tiny_edsr.write_bytes(blob)
    card = tiny_edsr.with_suffix(".json")
    card.write_text(card.read_text().replace('"features": 8', '"features": 16'))
    model, reason = superres_model_status(tiny_edsr)
    assert model is None and "shape" in reason


def test_bad_tiling_arguments_name_themselves(tiny_edsr):
    model = load_superres_model(tiny_edsr, device="cpu")
    with pytest.raises(ValueError, match="tile"):
        next(iter_superresolve(_image(), model, tile=4))
    with pytest.raises(ValueError, match="overlap"):
        next(iter_superresolve(_image(), model, overlap=-1))


def test_background_tiles_are_enlarged_bicubically_without_the_network(tiny_edsr):
    """Film background gets bicubic (the network has nothing to recover there); tissue
    tiles still go through the network, so the result differs from bicubic only there."""
    from mammoview.imaging.resample import upscale_bicubic

    model = load_superres_model(tiny_edsr, device="cpu")
    img = np.zeros((32, 64), np.float32)
    img[:, 32:] = np.random.default_rng(3).random((32, 32)) * 0.8 + 0.2  # tissue on the right
    img[0, 0] = 0.01  # background is not perfectly flat on film
    calls = []
    original_forward = model.module.forward
    model.module.forward = lambda x: calls.append(tuple(x.shape)) or original_forward(x)
    events = list(iter_superresolve(img, model, tile=16, overlap=0))
    model.module.forward = original_forward
    out = events[-1].partial.array
    assert len(calls) == 4  # the 4 tissue tiles of 8; the 4 background tiles skipped
    assert "4 of 8 tiles were background" in events[-1].message
    x = img / img.max()
    np.testing.assert_allclose(out[:32, :32], np.clip(upscale_bicubic(x[:16, :16], 2), 0, 1), atol=1e-6)
    everything = list(iter_superresolve(img, model, tile=16, overlap=0, background=None))
    assert not np.allclose(everything[-1].partial.array[:, 64:], upscale_bicubic(x, 2)[:, 64:], atol=1e-3)
