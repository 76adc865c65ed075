"""Grad-CAM: a hand-made network with a known answer, torchvision ResNets, a model left as found."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from mammoview.explain.gradcam import gradcam, gradcam_for_image, map_heatmap

BLOB = (8, 24)  # (row, col) of the bright spot in the 32 x 32 input


class BrightnessNet(nn.Module):
    """Class 1 = mean of the bright parts, class 0 = mean of the dark parts (hand-set weights).

    ``features.0`` copies the image into channel 0 and its negative into channel 1; the
    in-place ReLU after it is what a hooked layer often meets in real networks.
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, bias=False), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            kernel = torch.zeros(2, 1, 3, 3)
            kernel[0, 0, 1, 1], kernel[1, 0, 1, 1] = 1.0, -1.0
            self.features[0].weight.copy_(kernel)
            self.fc.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


def blob_input(size=32, center=BLOB) -> torch.Tensor:
    rr, cc = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    img = torch.exp(-((rr - center[0]) ** 2 + (cc - center[1]) ** 2) / (2 * 2.0**2))
    return img[None, None].float()


def hook_counts(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


def test_peak_is_on_the_evidence_for_a_handmade_net():
    net = BrightnessNet().eval()
    heat = gradcam(net, blob_input(), target_layer="features.0", class_index=1)
    assert heat.shape == (32, 32) and heat.dtype == np.float32
    assert np.unravel_index(np.argmax(heat), heat.shape) == BLOB
    assert heat.max() == pytest.approx(1.0) and heat.min() >= 0.0
    assert heat[BLOB[0] + 10, BLOB[1] - 10] < 0.05
    # Nothing in a non-negative image supports the "dark" class: an all-zero map.
    assert not gradcam(net, blob_input(), target_layer=net.features[0], class_index=0).any()


@pytest.mark.parametrize("build", [torchvision.models.resnet18, torchvision.models.resnet34, torchvision.models.resnet50])
def test_torchvision_resnets_layer4(build):
    torch.manual_seed(0)
    net = build(num_classes=3).eval()
    x = torch.rand(1, 3, 64, 80)
    heat = gradcam(net, x, target_layer="layer4", class_index=2)
    assert heat.shape == (64, 80)
    assert 0.0 <= heat.min() and heat.max() == pytest.approx(1.0)


def test_model_and_input_are_left_as_found():
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=2)
    net.train()  # a model in training mode: its batch-norm statistics must not move
    net.fc.weight.requires_grad_(False)
    flags = [p.requires_grad for p in net.parameters()]
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.rand(1, 3, 64, 64)
    x_before = x.clone()
    # A dotted path to a layer followed by in-place operations (+= identity, ReLU).
    heat = gradcam(net, x, target_layer="layer4.1.bn2", class_index=1)
    assert heat.shape == (64, 64) and np.isfinite(heat).all()
    assert net.training
    assert hook_counts(net) == 0
    assert [p.requires_grad for p in net.parameters()] == flags
    assert all(p.grad is None for p in net.parameters())
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())
    assert torch.equal(x, x_before) and not x.requires_grad and x.grad is None
    net.eval()
    gradcam(net, x, target_layer=net.layer4, class_index=0)
    assert not net.training and hook_counts(net) == 0


def test_hooks_are_removed_when_it_fails():
    net = BrightnessNet().eval()
    with pytest.raises(ValueError, match="out of range"):
        gradcam(net, blob_input(), target_layer="features.0", class_index=5)
    assert hook_counts(net) == 0
    with pytest.raises(ValueError, match="no layer named"):
        gradcam(net, blob_input(), target_layer="features.9", class_index=1)
    with pytest.raises(ValueError, match="not part of the model"):
        gradcam(net, blob_input(), target_layer=nn.Conv2d(1, 1, 1), class_index=1)
    with pytest.raises(ValueError, match=r"\(1, C, H, W\)"):
        gradcam(net, blob_input()[0], target_layer="features.0", class_index=1)


def test_heatmap_goes_back_to_the_original_image_through_a_crop_box():
    net = BrightnessNet().eval()
    # The network saw rows 40..104, cols 10..74 of a 150 x 120 image, halved to 32 x 32.
    box = (40, 10, 104, 74)
    heat = gradcam_for_image(net, blob_input(), target_layer="features.0", class_index=1, image_shape=(150, 120), crop_box=box)
    assert heat.shape == (150, 120)
    peak = np.unravel_index(np.argmax(heat), heat.shape)
    expected = (40 + 2 * BLOB[0] + 0.5, 10 + 2 * BLOB[1] + 0.5)
    assert abs(peak[0] - expected[0]) <= 1 and abs(peak[1] - expected[1]) <= 1
    outside = np.ones(heat.shape, bool)
    outside[40:104, 10:74] = False
    assert not heat[outside].any()


def test_heatmap_goes_back_through_a_mapping_callable():
    # Preprocessing that mirrored the image left-right (no resize): the map must be mirrored back.
    heat = np.zeros((32, 32), np.float32)
    heat[BLOB] = 1.0
    out = map_heatmap(heat, (32, 32), to_input=lambda r, c: (r, 31 - c))
    assert np.unravel_index(np.argmax(out), out.shape) == (BLOB[0], 31 - BLOB[1])
    with pytest.raises(ValueError, match="not both"):
        map_heatmap(heat, (32, 32), crop_box=(0, 0, 32, 32), to_input=lambda r, c: (r, c))
