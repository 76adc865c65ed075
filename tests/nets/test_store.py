"""The model store: round trip, and every refusal names the file and the reason."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from mammoview.core.errors import MammoViewError
from mammoview.nets.device import choose_device
from mammoview.nets.edsr import EDSR
from mammoview.nets.store import ModelCard, ModelLoadError, find_model, load_model, model_paths, save_model
from mammoview.nets.unet import UNet


def _saved(tmp_path, *, half=False, name="seg"):
    torch.manual_seed(0)
    net = UNet(base=4, depth=2)
    card = ModelCard(task="segmentation", architecture="unet", arch_params={"base": 4, "depth": 2})
    weights = save_model(net.state_dict(), card, tmp_path / name, half=half)
    return net, weights


def test_round_trip_gives_the_same_network_and_a_hash_version(tmp_path):
    net, weights = _saved(tmp_path)
    loaded, card = load_model(weights, task="segmentation", build=UNet)
    assert weights.name == "seg.safetensors" and (tmp_path / "seg.json").is_file()
    assert card.version == hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    assert card.intended_use == "Research use only, not for diagnosis."
    net.eval()
    x = torch.rand(1, 1, 20, 24)
    assert torch.equal(net(x), loaded(x))
    assert not loaded.training


def test_half_precision_weights_load_as_float32_close_to_the_original(tmp_path):
    net, weights = _saved(tmp_path, half=True)
    loaded, _ = load_model(tmp_path / "seg", task="segmentation", build=UNet)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    net.eval()
    x = torch.rand(1, 1, 16, 16)
    assert torch.allclose(net(x), loaded(x), atol=2e-2)
    assert weights.stat().st_size < sum(p.numel() * 4 for p in net.parameters())


def test_missing_weights_are_refused(tmp_path):
    with pytest.raises(ModelLoadError, match=r"nothing\.safetensors: weights file not found"):
        load_model(tmp_path / "nothing", task="segmentation", build=UNet)


def test_missing_card_is_refused(tmp_path):
    _, weights = _saved(tmp_path)
    (tmp_path / "seg.json").unlink()
    with pytest.raises(ModelLoadError, match=r"seg\.json: model card not found"):
        load_model(weights, task="segmentation", build=UNet)


def test_truncated_weights_are_refused_as_corrupt(tmp_path):
    _, weights = _saved(tmp_path)
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match=r"seg\.safetensors: corrupt or truncated"):
        load_model(weights, task="segmentation", build=UNet)


def test_a_model_of_another_task_is_refused(tmp_path):
    _, weights = _saved(tmp_path)
    with pytest.raises(ModelLoadError, match="model is for task 'segmentation', not 'superres'"):
        load_model(weights, task="superres", build=UNet)


def test_a_model_of_another_architecture_is_refused(tmp_path):
    _, weights = _saved(tmp_path)
    with pytest.raises(ModelLoadError, match="architecture is 'unet', expected 'edsr'"):
        load_model(weights, task="segmentation", build=EDSR)


def test_tensors_of_other_shapes_are_refused(tmp_path):
    _, weights = _saved(tmp_path)
    card_path = tmp_path / "seg.json"
    card = json.loads(card_path.read_text())
    card["arch_params"]["base"] = 8  # same tensor names, twice the channels
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match=r"tensor '.*' has shape \(4, 1, 3, 3\), the network needs \(8, 1, 3, 3\)"):
        load_model(weights, task="segmentation", build=UNet)


def test_weights_that_do_not_match_the_card_hash_are_refused(tmp_path):
    _, weights = _saved(tmp_path)
    card_text = (tmp_path / "seg.json").read_text()
    torch.manual_seed(1)
    save_model(UNet(base=4, depth=2).state_dict(), ModelCard("segmentation", "unet", {"base": 4, "depth": 2}), tmp_path / "seg")
    (tmp_path / "seg.json").write_text(card_text)  # the old card beside new weights
    with pytest.raises(ModelLoadError, match="weights do not match the model card"):
        load_model(weights, task="segmentation", build=UNet)


def test_refusal_is_a_mammoview_error_with_a_one_line_message(tmp_path):
    err = ModelLoadError(tmp_path / "x.safetensors", "weights file not found")
    assert isinstance(err, MammoViewError)
    assert str(err) == "x.safetensors: weights file not found"


def test_find_model_prefers_the_user_folder(tmp_path, monkeypatch):
    user, shipped = tmp_path / "user", tmp_path / "shipped"
    _saved(shipped, name="segmentation")
    assert find_model("segmentation", folders=[user, shipped]) == shipped / "segmentation.safetensors"
    _saved(user, name="segmentation")
    assert find_model("segmentation", folders=[user, shipped]) == user / "segmentation.safetensors"
    assert find_model("superres", folders=[user, shipped]) is None
    # Without folders: the registry's active model; a model left directly in the user
    # folder (the layout before versions) is still the one in use.
    monkeypatch.setenv("MAMMOVIEW_DATA_DIR", str(tmp_path / "data"))
    _saved(tmp_path / "data" / "models", name="segmentation")
    assert find_model("segmentation") == tmp_path / "data" / "models" / "segmentation.safetensors"


def test_model_paths_accept_any_of_the_three_spellings(tmp_path):
    expected = (tmp_path / "m.safetensors", tmp_path / "m.json")
    assert model_paths(tmp_path / "m") == model_paths(tmp_path / "m.json") == model_paths(tmp_path / "m.safetensors") == expected


def test_choose_device():
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(MammoViewError, match="unknown device"):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(MammoViewError, match="no CUDA GPU"):
            choose_device("cuda")


def test_unet_keeps_the_input_size_and_edsr_doubles_it_without_batch_norm():
    assert UNet(base=4, depth=3)(torch.rand(2, 1, 37, 50)).shape == (2, 1, 37, 50)
    edsr = EDSR(features=8, blocks=2)
    assert edsr(torch.rand(1, 1, 13, 9)).shape == (1, 1, 26, 18)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in edsr.modules())
    assert any(isinstance(m, torch.nn.PixelShuffle) for m in edsr.modules())
    with pytest.raises(ValueError):
        EDSR(scale=3)
