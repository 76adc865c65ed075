"""The classifier registry: every architecture builds and classifies grey patches, the
STN-ResNet-50 starts as the identity with W = 0.5 and trains only its late layers, the
Lanczos sampler agrees with Pillow, and weights round-trip through the model store."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from mammoview.core.errors import MammoViewError
from mammoview.nets.archs import (
    CLASSIFIER_ARCHS,
    InputTooSmall,
    arch_params,
    build_classifier,
    check_input_size,
    classifier_archs,
    count_parameters,
    load_classifier,
    num_classes_of,
    target_layer_of,
)
from mammoview.nets.classic import AlexNetClassifier, VGGClassifier
from mammoview.nets.lanczos import grid_sample_lanczos, lanczos_kernel
from mammoview.nets.stn import STNResNet50
from mammoview.nets.store import ModelCard, ModelLoadError, save_model

# Millions of parameters with one grey input channel and 2 classes (torchvision's sizes
# less the 1000-class layer and two thirds of the first convolution).
EXPECTED_M = {"resnet18": 11.17, "resnet34": 21.28, "resnet50": 23.51, "vgg16": 134.27, "alexnet": 57.00,
              "stn-resnet50": 24.06, "stn-resnet50-sr": 24.08}


@pytest.mark.parametrize("name", list(CLASSIFIER_ARCHS))
def test_each_architecture_builds_and_classifies_a_batch_of_grey_patches(name):
    torch.manual_seed(0)
    net, start = build_classifier(name)
    assert start.startswith("scratch")
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(2, 1, 64, 64))
    assert tuple(out.shape) == (2, 2) and torch.isfinite(out).all()
    assert num_classes_of(net) == 2
    assert target_layer_of(net) in dict(net.named_modules())
    n = sum(p.numel() for p in net.parameters())
    assert n / 1e6 == pytest.approx(EXPECTED_M[name], abs=0.02)
    assert count_parameters(name) == n  # counted on the meta device, no weights allocated
    # Another number of classes changes the last layer only.
    with torch.device("meta"):
        three = build_classifier(name, num_classes=3)[0]
    assert num_classes_of(three) == 3 and tuple(three(torch.zeros(2, 1, 64, 64, device="meta")).shape) == (2, 3)
    assert count_parameters(name, num_classes=3) > n


def test_the_menu_lists_every_architecture_with_a_description_and_its_size():
    rows = {a.name: a for a in classifier_archs()}
    assert set(rows) == set(CLASSIFIER_ARCHS)
    for name, row in rows.items():
        assert row.description and row.paper
        assert row.parameters / 1e6 == pytest.approx(EXPECTED_M[name], abs=0.02)
        assert name in row.label() and "M parameters" in row.label()
    assert rows["stn-resnet50"].trainable < rows["stn-resnet50"].parameters
    assert rows["vgg16"].trainable == rows["vgg16"].parameters


def test_inputs_too_small_are_refused_with_the_minimum_named():
    with pytest.raises(InputTooSmall, match="alexnet needs patches of at least 63 px .got 32 px."):
        check_input_size("alexnet", 32)
    assert isinstance(InputTooSmall("x"), MammoViewError)
    check_input_size("alexnet", 63)
    check_input_size("vgg16", 32)
    with pytest.raises(InputTooSmall, match="vgg16 needs patches of at least 32 px"):
        check_input_size("vgg16", 31)
    # The networks refuse too, with a clear error instead of torch's shape error, and the
    # minimum is really the minimum (shapes checked on the meta device: no weights needed).
    with torch.device("meta"):
        alexnet, vgg, stn = AlexNetClassifier().eval(), VGGClassifier().eval(), STNResNet50().eval()
        with pytest.raises(ValueError, match="alexnet needs inputs of at least 63 x 63 px"):
            alexnet(torch.zeros(1, 1, 62, 62))
        with pytest.raises(ValueError, match="needs inputs of at least 32 x 32 px"):
            vgg(torch.zeros(1, 1, 40, 31))
        with pytest.raises(ValueError, match="stn-resnet50 needs inputs of at least 18 x 18 px"):
            stn(torch.zeros(1, 1, 17, 17))
        assert alexnet(torch.zeros(1, 1, 63, 63)).shape == (1, 2)
        assert vgg(torch.zeros(1, 1, 32, 32)).shape == (1, 2)
        assert stn(torch.zeros(1, 1, 18, 18)).shape == (1, 2)
        # Without the check, torch itself fails one pixel below.
        with pytest.raises(RuntimeError):
            torch.nn.Module.__call__(alexnet.features, torch.zeros(1, 1, 62, 62))
    with pytest.raises(ValueError, match="unknown classifier architecture 'resnet101'"):
        check_input_size("resnet101", 64)


def test_stn_starts_as_the_identity_with_w_one_half():
    torch.manual_seed(0)
    net = STNResNet50().eval()
    x = torch.rand(3, 1, 40, 52)
    theta = net.localizer(x)
    assert torch.allclose(theta, torch.tensor([[1.0, 0, 0], [0, 1, 0]]).expand(3, 2, 3))
    assert float(net.sampler.weight.detach()) == 0.5
    with torch.no_grad():
        assert torch.allclose(net.transform(x), x, atol=1e-4)
        # The blend is W * Lanczos + (1 - W) * bilinear, W = sigmoid(w) in [0, 1].
        shift = torch.tensor([[[0.9, 0.1, 0.05], [-0.1, 1.1, -0.03]]])
        grid = F.affine_grid(shift, [1, 1, 40, 52], align_corners=False)
        lanczos = grid_sample_lanczos(x[:1], grid)
        bilinear = F.grid_sample(x[:1], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        for logit in (-60.0, -1.0, 0.0, 2.0, 60.0):
            net.sampler.w_logit.fill_(logit)
            w = float(net.sampler.weight.detach())
            assert 0.0 <= w <= 1.0
            assert torch.allclose(net.sampler(x[:1], shift), w * lanczos + (1 - w) * bilinear, atol=1e-6)


def test_stn_trains_only_layer3_layer4_the_head_the_localiser_and_w():
    net = STNResNet50()
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    frozen = {n for n, p in net.named_parameters() if not p.requires_grad}
    allowed = ("backbone.layer3.", "backbone.layer4.", "head.", "localizer.", "sampler.w_logit")
    assert trainable and all(n.startswith(allowed) for n in trainable)
    assert "sampler.w_logit" in trainable and any(n.startswith("localizer.") for n in trainable)
    assert frozen and all(n.startswith(("backbone.conv1", "backbone.bn1", "backbone.layer1.", "backbone.layer2."))
                          for n in frozen)
    head = [m for m in net.head if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in head] == [(2048, 256), (256, 128), (128, 2)]
    # Gradients reach the transformer through the frozen layers.
    net.train()
    loss = F.cross_entropy(net(torch.rand(4, 1, 48, 48)), torch.tensor([0, 1, 0, 1]))
    loss.backward()
    assert net.localizer.regressor[-1].bias.grad.abs().sum() > 0
    assert net.sampler.w_logit.grad is not None
    assert net.backbone.layer1[0].conv1.weight.grad is None
    # With the super-resolution front, the generator is frozen too.
    sr = STNResNet50(sr=True)
    assert not any(p.requires_grad for p in sr.sr.parameters())
    assert tuple(sr.transform(torch.rand(1, 1, 32, 32)).shape) == (1, 1, 64, 64)


def test_lanczos_enlargement_matches_pillow_away_from_the_border():
    rng = np.random.default_rng(0)
    small = rng.random((20, 24)).astype(np.float32)
    factor = 3
    h, w = small.shape[0] * factor, small.shape[1] * factor
    reference = {f: np.asarray(Image.fromarray(small, mode="F").resize((w, h), f)) for f in
                 (Image.LANCZOS, Image.BICUBIC)}
    grid = F.affine_grid(torch.eye(2, 3, dtype=torch.float64)[None], [1, 1, h, w], align_corners=False)
    ours = grid_sample_lanczos(torch.from_numpy(small).double()[None, None], grid)[0, 0].numpy()
    inner = (slice(3 * factor, -3 * factor),) * 2  # Pillow truncates the kernel at the border
    assert np.abs(ours[inner] - reference[Image.LANCZOS][inner]).max() < 1e-5
    # Not a bicubic (or bilinear) stand-in: those differ far more than the tolerance.
    assert np.abs(ours[inner] - reference[Image.BICUBIC][inner]).max() > 1e-2
    bilinear = F.grid_sample(torch.from_numpy(small).double()[None, None], grid, mode="bilinear",
                             align_corners=False)[0, 0].numpy()
    assert np.abs(ours[inner] - bilinear[inner]).max() > 1e-2


def test_lanczos_kernel_and_exact_transforms():
    t = torch.tensor([0.0, 1.0, -2.0, 0.5, 3.0, 4.2])
    k = lanczos_kernel(t)
    assert k[0] == 1 and torch.allclose(k[1:3], torch.zeros(2), atol=1e-7) and k[4] == 0 and k[5] == 0
    assert float(k[3]) == pytest.approx(np.sinc(0.5) * np.sinc(0.5 / 3))
    # A 90 degree rotation lands on pixel centres: exact, like torch.rot90.
    x = torch.rand(1, 2, 16, 16, dtype=torch.float64)
    rot = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]], dtype=torch.float64)
    grid = F.affine_grid(rot, [1, 2, 16, 16], align_corners=False)
    expected = F.grid_sample(x, grid, mode="nearest", align_corners=False)
    assert torch.allclose(grid_sample_lanczos(x, grid), expected, atol=1e-9)
    # Zero padding outside the image; border padding repeats the edge.
    far = torch.full((1, 2, 2, 2), 5.0, dtype=torch.float64)
    assert torch.equal(grid_sample_lanczos(x, far), torch.zeros(1, 2, 2, 2, dtype=torch.float64))
    edge = grid_sample_lanczos(x, far, padding_mode="border")
    assert torch.allclose(edge, x[..., -1:, -1:].expand(1, 2, 2, 2))
    with pytest.raises(ValueError, match="padding_mode"):
        grid_sample_lanczos(x, grid, padding_mode="reflection")


def test_lanczos_sampling_is_differentiable_in_the_affine_matrix():
    x = torch.rand(1, 1, 10, 12, dtype=torch.float64)
    theta = torch.tensor([[[0.8, 0.1, 0.05], [-0.1, 0.9, 0.02]]], dtype=torch.float64, requires_grad=True)

    def sample(t):
        return grid_sample_lanczos(x, F.affine_grid(t, [1, 1, 8, 8], align_corners=False)).sum()

    assert torch.autograd.gradcheck(sample, (theta,), eps=1e-6, atol=1e-5)


def test_weights_round_trip_through_the_store(tmp_path):
    torch.manual_seed(0)
    net, start = build_classifier("stn-resnet50")
    with torch.no_grad():
        net.sampler.w_logit.fill_(0.7)
        net.localizer.regressor[-1].bias.add_(0.01)
    net.eval()
    card = ModelCard("classifier-stage1", STNResNet50.ARCHITECTURE, {"num_classes": 2, "in_ch": 1, "sr": False},
                     classes=["normal", "abnormal"], start=start)
    save_model(net.state_dict(), card, tmp_path / "m", half=True)
    loaded, read = load_classifier(tmp_path / "m", task="classifier-stage1")
    assert isinstance(loaded, STNResNet50) and read.start == start and read.arch_params["sr"] is False
    assert float(loaded.sampler.weight.detach()) == pytest.approx(float(net.sampler.weight.detach()), abs=1e-3)
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded(x), net(x), atol=5e-2)
    # Frozen layers stay frozen after loading.
    assert not loaded.backbone.layer1[0].conv1.weight.requires_grad
    # A card naming an architecture MammoView does not know is refused, not guessed.
    data = json.loads((tmp_path / "m.json").read_text())
    data["architecture"] = "densenet"
    (tmp_path / "m.json").write_text(json.dumps(data))
    with pytest.raises(ModelLoadError, match="'densenet' is not a classifier MammoView knows"):
        load_classifier(tmp_path / "m", task="classifier-stage1")


def test_imagenet_weights_only_from_the_local_cache(monkeypatch, tmp_path):
    import torchvision

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    _, start = build_classifier("stn-resnet50", imagenet=True)
    assert start.startswith("scratch") and "not in the local torch cache" in start
    assert not any(tmp_path.iterdir())  # nothing downloaded
    rgb = torchvision.models.alexnet()
    (tmp_path / "checkpoints").mkdir()
    torch.save(rgb.state_dict(), tmp_path / "checkpoints" / "alexnet-owt-7be5be79.pth")
    net, start = build_classifier("alexnet", imagenet=True)
    assert start.startswith("ImageNet (alexnet-owt-7be5be79.pth")
    assert torch.allclose(net.features[0].weight, rgb.features[0].weight.sum(dim=1, keepdim=True))
    assert torch.equal(net.classifier[4].weight, rgb.classifier[4].weight)
    assert net.classifier[6].out_features == 2


def test_the_cascade_runs_and_explains_a_non_resnet_stage(tmp_path):
    """A classifier trained with --arch stn-resnet50 (or vgg16, alexnet) is used like a ResNet."""
    from mammoview.classification.cascade import Cascade
    from mammoview.classification.preprocess import Preprocessing

    prep = Preprocessing(scale=0.25, patch=32, stride=32, mean=0.4, std=0.25, topk=3, threshold=0.5)
    paths = {}
    for stage, name, classes in ((1, "stn-resnet50", ["normal", "abnormal"]), (2, "resnet18", ["benign", "malignant"])):
        torch.manual_seed(stage)
        net, start = build_classifier(name)
        card = ModelCard(f"classifier-stage{stage}", type(net).ARCHITECTURE, arch_params(name),
                         preprocessing=prep.to_dict(), classes=classes, start=start)
        paths[stage] = save_model(net.state_dict(), card, tmp_path / f"stage{stage}")
    cascade = Cascade.load(device="cpu", paths=paths)
    assert isinstance(cascade.stages[1].module, STNResNet50)
    module, layer = cascade.gradcam_target(1)
    # 32 px windows leave layer4 a 1 x 1 map: Grad-CAM explains the block before it.
    assert layer == "backbone.layer3" and layer in dict(module.named_modules())
    assert cascade.gradcam_target(2)[1] == "layer3"
    rows, cols = np.mgrid[:320, :320]
    image = np.where((rows - 160) ** 2 + cols**2 <= 140**2, 0.5, 0.0).astype(np.float32)
    result = cascade.classify(image)
    assert result.classified and 0.0 <= result.p_abnormal <= 1.0 and result.label in ("normal", "benign", "malignant")


@pytest.mark.parametrize("size, expected", [(None, "layer4"), (224, "layer4"), (128, "layer4"),
                                            (64, "layer3"), (32, "layer3")])
def test_gradcam_layer_keeps_a_map_of_at_least_4_cells(size, expected):
    from mammoview.nets.archs import target_layer_of

    net, _ = build_classifier("resnet18")
    assert target_layer_of(net, size) == expected
    assert target_layer_of(STNResNet50(), size) == f"backbone.{expected}"
