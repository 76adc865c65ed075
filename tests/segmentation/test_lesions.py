"""Lesion segmentation: Otsu candidates on real MIAS images, UNet inference through the store."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage

from mammoview.io.mias import parse_info
from mammoview.segmentation.breast import segment_breast
from mammoview.segmentation.lesions import segment_otsu_candidates, segment_unet, unet_probability
from mammoview.segmentation.pectoral import segment_pectoral

# Every fourth MIAS image with a located finding among the even-numbered patients (the
# half not used to choose the parameters): 13 findings. Measured: 9 of 13 centres inside a
# candidate (the held-out half as a whole: 37 of 53, 0.70), candidates covering 14 % of
# the breast on average.
HELD_OUT = ("mdb012", "mdb032", "mdb091", "mdb104", "mdb124", "mdb155", "mdb171",
            "mdb188", "mdb204", "mdb219", "mdb236", "mdb248", "mdb312")


def _mias(mias_dir, name):
    return np.asarray(PILImage.open(mias_dir / f"{name}.png"))


def test_candidates_lie_in_the_breast_and_never_in_the_pectoral_muscle(mias_dir):
    img = _mias(mias_dir, "mdb012")
    before = img.copy()
    breast = segment_breast(img)
    muscle = segment_pectoral(img, breast_mask=breast)
    assert muscle.sum() > 1000  # an MLO view with a visible muscle: the check means something
    mask = segment_otsu_candidates(img, breast_mask=breast, pectoral_mask=muscle)
    assert mask.shape == img.shape and mask.dtype == bool
    assert mask.any()
    assert not (mask & ~breast).any()
    assert not (mask & muscle).any()
    np.testing.assert_array_equal(img, before)
    # Computing the masks itself gives the same result.
    np.testing.assert_array_equal(segment_otsu_candidates(img), mask)


def test_hit_rate_on_located_mias_lesions_beats_the_area_covered(mias_dir):
    info = parse_info(mias_dir / "Info.txt")
    hits = total = 0
    shares = []
    for name in HELD_OUT:
        img = _mias(mias_dir, name)
        mask = segment_otsu_candidates(img)
        breast = segment_breast(img)
        shares.append(mask.sum() / breast.sum())
        for f in info[name].findings():
            if f.has_location:
                total += 1
                hits += bool(mask[min(1023, int(f.row)), min(1023, int(f.col))])
    assert total == 13
    # Measured 9 of 13; allow two more misses.
    assert hits >= 7, f"only {hits} of {total} lesion centres inside a candidate"
    # Not by marking everything: the candidates cover a small share of the breast, and a
    # lesion centre is several times likelier inside a candidate than a random breast pixel.
    assert np.mean(shares) < 0.25
    assert hits / total > 3 * np.mean(shares)


def test_cc_view_skips_the_muscle_search_and_finds_a_bright_blob():
    rng = np.random.default_rng(0)
    img = np.zeros((256, 256), np.float32)
    img[:, :200] = 0.3 + 0.05 * rng.random((256, 200))
    img[100:130, 80:110] = 0.9  # a bright 30 x 30 blob in the breast
    img[:40, :40] = 0.95        # bright corner: the muscle search would take it
    mask = segment_otsu_candidates(img, view="CC")
    assert mask[115, 95] and not mask[:, 200:].any()


def test_featureless_inputs_give_empty_masks():
    assert not segment_otsu_candidates(np.zeros((64, 64))).any()
    assert not segment_otsu_candidates(np.full((64, 64), 7, np.uint16)).any()


def test_bad_masks_and_parameters_name_themselves():
    with pytest.raises(ValueError, match="breast_mask"):
        segment_otsu_candidates(np.zeros((10, 10)), breast_mask=np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="classes"):
        segment_otsu_candidates(np.zeros((10, 10)), classes=9)


# --------------------------------------------------------------------------- UNet


@pytest.fixture
def tiny_unet(tmp_path):
    """A randomly initialised small UNet saved through the store (not the shipped model)."""
    import torch

    from mammoview.nets.store import ModelCard, save_model
    from mammoview.nets.unet import UNet

    torch.manual_seed(0)
    net = UNet(base=4, depth=2)
    with torch.no_grad():  # let the head's bias put some pixels above 0.5 and some below
        net.head.bias.fill_(0.0)
    card = ModelCard(task="segmentation", architecture="unet",
                     arch_params={"in_ch": 1, "out_ch": 1, "base": 4, "depth": 2},
                     preprocessing={"working_size": 64})
    return save_model(net.state_dict(), card, tmp_path / "segmentation"), net


def test_unet_probability_follows_the_card_and_returns_the_image_size(tiny_unet):
    import torch
    import torch.nn.functional as F

    from mammoview.imaging.resample import downscale_area

    path, net = tiny_unet
    img = (np.random.default_rng(2).random((200, 150)) * 4000).astype(np.uint16)
    before = img.copy()
    prob = unet_probability(img, model=path)
    assert prob.shape == (200, 150) and prob.dtype == np.float32
    assert 0.0 <= prob.min() and prob.max() <= 1.0
    np.testing.assert_array_equal(img, before)
    # The card's preprocessing by hand: [0, 1], area-downscale to a 64-pixel long side.
    x = img.astype(np.float32)
    small = downscale_area((x - x.min()) / (x.max() - x.min()), 200 / 64)
    net.eval()
    with torch.no_grad():
        logits = net(torch.from_numpy(small)[None, None])
        want = torch.sigmoid(F.interpolate(logits, size=(200, 150), mode="bilinear")).numpy()[0, 0]
    np.testing.assert_allclose(prob, want, atol=1e-5)
    mask = segment_unet(img, model=path, threshold=0.5)
    assert mask.dtype == bool and mask.shape == (200, 150)
    np.testing.assert_array_equal(mask, prob > 0.5)


def test_the_active_model_is_found_in_the_user_models_folder(tiny_unet, tmp_path, monkeypatch):
    import shutil

    path, _ = tiny_unet
    models = tmp_path / "userdata" / "models"
    models.mkdir(parents=True)
    for suffix in (".safetensors", ".json"):
        shutil.copy(path.with_suffix(suffix), models / f"segmentation{suffix}")
    monkeypatch.setenv("MAMMOVIEW_DATA_DIR", str(tmp_path / "userdata"))
    img = np.random.default_rng(3).random((80, 80))
    np.testing.assert_array_equal(unet_probability(img), unet_probability(img, model=path))


def test_no_model_raises_model_load_error_saying_so(tmp_path, monkeypatch):
    from mammoview.nets import store

    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", tmp_path / "no-shipped-models")
    with pytest.raises(store.ModelLoadError, match="no lesion segmentation model found"):
        segment_unet(np.zeros((32, 32)))


def test_corrupt_or_mismatched_models_are_refused(tiny_unet, tmp_path):
    from mammoview.nets.store import ModelLoadError

    path, _ = tiny_unet
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])  # truncated download
    with pytest.raises(ModelLoadError, match="segmentation.safetensors"):
        segment_unet(np.zeros((32, 32)), model=path)
    path.write_bytes(blob)
    card = path.with_suffix(".json")
    card.write_text(card.read_text().replace('"task": "segmentation"', '"task": "superres"'))
    with pytest.raises(ModelLoadError, match="task 'superres'"):
        segment_unet(np.zeros((32, 32)), model=path)


def test_threshold_outside_zero_one_is_refused(tiny_unet):
    with pytest.raises(ValueError, match="threshold"):
        segment_unet(np.zeros((32, 32)), model=tiny_unet[0], threshold=1.0)
