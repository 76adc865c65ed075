"""What a run will use, before it starts: counts per class and split, refusals with counts;
where the weights start (scratch, fine-tune); the new model beside another on the same
validation images; classifier CSVs with masks give lesion patches."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image as PILImage

from mammoview.io.mias import mias_patient
from mammoview.nets.store import read_card
from mammoview.training.compare import compare_models
from mammoview.training.config import TrainConfig
from mammoview.training.datasets import load_dataset
from mammoview.training.engine import train
from mammoview.training.plan import MIN_IMAGES_PER_CLASS, PlanRefused, plan_run
from mammoview.training.start import StartError

TINY = dict(epochs=1, arch="resnet18", patch=32, batch_size=16, val_fraction=0.4, seed=0, device="cpu", threads=1,
            augment=("flip",), patches_per_image=4,
            extra={"scale": 0.25, "stride": 32, "lesion_copies": 2, "val_patches_per_image": 2,
                   "threshold_images": 4, "jitter": 4})


def csv(folder, mias_dir, rows, header="image,class"):
    folder.mkdir(parents=True, exist_ok=True)
    lines = [header] + [",".join([str(mias_dir / r[0])] + list(r[1:])) for r in rows]
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder / "labels.csv"


def test_plan_counts_images_per_class_and_split_by_patient(mias_subset, tmp_path):
    plan = plan_run("classifier-stage1", TrainConfig(data=mias_subset, out=tmp_path, val_fraction=0.4))
    assert plan.classes == ["normal", "abnormal"]
    assert plan.total("normal") == 4 and plan.total("abnormal") == 6  # the subset: 4 NORM, 6 with a finding
    assert plan.patients == {"train": 3, "val": 2}
    assert not {mias_patient(i) for i in plan.train_ids} & {mias_patient(i) for i in plan.val_ids}
    # The split is the engine's: the trained card's split is the same.
    list(train("classifier-stage1", TrainConfig(data=mias_subset, out=tmp_path / "run", **TINY)))
    card = json.loads((tmp_path / "run" / "classifier-stage1.json").read_text())
    assert card["split"]["val"] == plan.val_ids and card["split"]["train"] == plan.train_ids
    assert "val_loss" in card["metrics"]["history"][0]


def test_stage2_counts_normals_as_unused(mias_subset, tmp_path):
    with pytest.raises(PlanRefused, match=r"only one class for classifier-stage2: 6 benign, 0 malignant"):
        plan_run("classifier-stage2", TrainConfig(data=mias_subset, out=tmp_path, val_fraction=0.4))


def test_refusals_give_the_counts(mias_dir, tmp_path):
    one = csv(tmp_path / "one", mias_dir, [(f"mdb00{i}.png", "normal") for i in (1, 2, 5, 6)])
    with pytest.raises(PlanRefused, match="only one class for classifier-stage1: 4 normal, 0 abnormal"):
        plan_run("classifier-stage1", TrainConfig(data=one, out=tmp_path))
    few = csv(tmp_path / "few", mias_dir, [("mdb001.png", "benign"), ("mdb002.png", "normal"),
                                           ("mdb005.png", "normal"), ("mdb006.png", "normal"), ("mdb009.png", "normal")])
    with pytest.raises(PlanRefused, match=f"4 normal, 1 abnormal; at least {MIN_IMAGES_PER_CLASS} of each"):
        plan_run("classifier-stage1", TrainConfig(data=few, out=tmp_path))
    unlabelled = csv(tmp_path / "none", mias_dir, [("mdb001.png", ""), ("mdb002.png", "")], header="image,mask")
    with pytest.raises(PlanRefused, match="no labels"):
        plan_run("segmentation", TrainConfig(data=unlabelled, out=tmp_path))


def test_a_classifier_csv_with_masks_trains_on_its_lesions(mias_dir, tmp_path):
    folder = tmp_path / "csv"
    (folder / "masks").mkdir(parents=True)
    rows = []
    data = load_dataset(mias_dir, needs_mask=False)
    by_id = {i.id: i for i in data.items}
    for name in ("mdb001", "mdb002", "mdb005", "mdb010", "mdb012", "mdb013", "mdb006", "mdb009", "mdb011", "mdb014"):
        item = by_id[name]
        mask = ""
        located = [f for f in item.findings if f.has_location and f.radius]
        if located:
            rr, cc = np.ogrid[:1024, :1024]
            m = np.zeros((1024, 1024), bool)
            for f in located:
                m |= (rr - f.row) ** 2 + (cc - f.col) ** 2 <= f.radius**2
            PILImage.fromarray(m.astype(np.uint8) * 255).save(folder / "masks" / f"{name}.png")
            mask = f"masks/{name}.png"
        rows.append((f"{name}.png", mask, "", "benign" if located else "normal"))
    csv(folder, mias_dir, rows, header="image,mask,patient,class")
    items = load_dataset(folder / "labels.csv", needs_mask=False).items
    assert sum(i.mask_path is not None for i in items) == 6
    events = list(train("classifier-stage1", TrainConfig(data=folder / "labels.csv", out=tmp_path / "run", **TINY)))
    assert events[-1].partial.kind == "done"  # lesion patches came from the masks


def test_fine_tuning_starts_from_the_model_and_says_so(mias_subset, tmp_path):
    base = tmp_path / "base"
    list(train("classifier-stage1", TrainConfig(data=mias_subset, out=base, **TINY)))
    first = read_card(base / "classifier-stage1.json")
    tuned = tmp_path / "tuned"
    list(train("classifier-stage1", TrainConfig(data=mias_subset, out=tuned, start="finetune",
                                                init_from=base / "classifier-stage1.safetensors", **TINY)))
    card = read_card(tuned / "classifier-stage1.json")
    assert card.start.startswith(f"fine-tuned from the classifier-stage1 model {first.version}")
    with pytest.raises(StartError, match="the model to fine-tune is resnet18, the run's architecture is resnet34"):
        list(train("classifier-stage1", TrainConfig(data=mias_subset, out=tmp_path / "x", start="finetune",
                                                    init_from=base / "classifier-stage1.safetensors",
                                                    **{**TINY, "arch": "resnet34"})))
    with pytest.raises(ValueError, match="needs the model to start from"):
        TrainConfig(data=mias_subset, out=tmp_path, start="finetune")

    # Both on the new run's validation images, each with its own preprocessing.
    result = compare_models("classifier-stage1", mias_subset, card.split["val"],
                            {"new": tuned / "classifier-stage1.safetensors",
                             "in use": base / "classifier-stage1.safetensors",
                             "broken": tmp_path / "missing.safetensors"}, seed=0, device="cpu")
    new, old, broken = result["rows"]
    assert result["images"] == len(card.split["val"]) and result["metric_short"] == "image AUC"
    assert new["version"] == card.version and old["version"] == first.version
    assert new["n"] == old["n"] == len(card.split["val"])
    assert set(new["confusion"]) == {"tp", "fp", "tn", "fn"} and sum(new["confusion"].values()) == new["n"]
    assert new["value"] is None or 0.0 <= new["value"] <= 1.0
    assert broken["error"] == "missing.json: model card not found"


def test_superres_comparison_has_bicubic_beside_the_models(mias_subset, tmp_path):
    cfg = TrainConfig(data=mias_subset, out=tmp_path, epochs=1, arch="edsr-tiny", patch=32, patches_per_image=2,
                      batch_size=8, val_fraction=0.4, device="cpu", threads=1, extra={"val_patch": 48, "val_patches_per_image": 1})
    list(train("superres", cfg))
    card = read_card(tmp_path / "superres.json")
    result = compare_models("superres", mias_subset, card.split["val"], {"new": tmp_path / "superres.safetensors"},
                            settings={"patch": 32, "patches_per_image": 2, "val_patch": 48, "val_patches_per_image": 1})
    labels = [r["label"] for r in result["rows"]]
    assert labels == ["new", "bicubic (no model)"]
    assert all(r["value"] > 10 for r in result["rows"])  # PSNR in dB on real patches


def test_imagenet_start_comes_only_from_the_local_torch_cache(mias_subset, tmp_path, monkeypatch):
    import torch
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(StartError, match="not in the local torch cache .*nothing is downloaded"):
        list(train("classifier-stage1", TrainConfig(data=mias_subset, out=tmp_path / "a", start="imagenet", **TINY)))
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), cache / "resnet18-f37072fd.pth")
    list(train("classifier-stage1", TrainConfig(data=mias_subset, out=tmp_path / "b", start="imagenet", **TINY)))
    card = read_card(tmp_path / "b" / "classifier-stage1.json")
    assert card.start.startswith("ImageNet (resnet18-f37072fd.pth from the local torch cache")
    with pytest.raises(StartError, match="no ImageNet weights exist for unet-tiny"):
        list(train("segmentation", TrainConfig(data=mias_subset, out=tmp_path / "c", arch="unet-tiny", epochs=1,
                                               size=64, start="imagenet", device="cpu", threads=1)))
