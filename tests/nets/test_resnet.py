"""The ResNet factory: the three torchvision depths, greyscale input, the start it reports."""

from __future__ import annotations

import pytest
import torch

from mammoview.nets.resnet import ARCHS, TARGET_LAYER, ResNetClassifier, build_resnet


@pytest.mark.parametrize("arch, params_m", [("resnet18", 11.2), ("resnet34", 21.3), ("resnet50", 23.5)])
def test_each_depth_builds_and_classifies_grey_patches(arch, params_m):
    net = ResNetClassifier(arch, num_classes=2, in_ch=1).eval()
    assert net.conv1.in_channels == 1
    n = sum(p.numel() for p in net.parameters()) / 1e6
    assert n == pytest.approx(params_m, abs=0.3)  # torchvision's sizes, less two conv1 channels
    with torch.no_grad():
        assert tuple(net(torch.zeros(2, 1, 64, 64)).shape) == (2, 2)
    assert TARGET_LAYER in dict(net.named_modules())


def test_unknown_arch_is_refused():
    with pytest.raises(ValueError, match="unknown ResNet"):
        ResNetClassifier("resnet101")
    assert set(ARCHS) == {"resnet18", "resnet34", "resnet50"}


def test_imagenet_start_is_never_downloaded(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    net, start = build_resnet("resnet18", imagenet=True)
    assert start.startswith("scratch") and "not in the local torch cache" in start
    assert not any(tmp_path.iterdir())


def test_imagenet_weights_from_the_cache_are_summed_into_the_grey_conv1(monkeypatch, tmp_path):
    import torchvision

    rgb = torchvision.models.resnet18()
    (tmp_path / "checkpoints").mkdir()
    torch.save(rgb.state_dict(), tmp_path / "checkpoints" / "resnet18-f37072fd.pth")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    net, start = build_resnet("resnet18", imagenet=True)
    assert start.startswith("ImageNet")
    assert torch.allclose(net.conv1.weight, rgb.conv1.weight.sum(dim=1, keepdim=True))
    assert torch.equal(net.layer4[1].conv2.weight, rgb.layer4[1].conv2.weight)
