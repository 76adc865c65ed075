"""The cascade's training tasks: tiny trainings, patient-level split, card contents."""

from __future__ import annotations

import json

import numpy as np

from mammoview.core.progress import run_to_end
from mammoview.io.mias import mias_patient
from mammoview.training.classifier_tasks import Stage1Task, Stage2Task, image_class
from mammoview.training.datasets import load_dataset
from mammoview.training.engine import train
from mammoview.training.splits import patient_split
from mammoview.training.tasks import TASKS

from .conftest import tiny_config


def test_both_stages_are_registered():
    assert isinstance(TASKS["classifier-stage1"], Stage1Task)
    assert isinstance(TASKS["classifier-stage2"], Stage2Task)


def test_stage1_trains_on_patches_and_keeps_patients_apart(subset, tmp_path):
    events = list(train("classifier-stage1", tiny_config(subset, tmp_path)))
    assert events[-1].partial.kind == "done"
    card = json.loads((tmp_path / "classifier-stage1.json").read_text())
    train_ids, val_ids = card["split"]["train"], card["split"]["val"]
    assert train_ids and val_ids
    assert not {mias_patient(i) for i in train_ids} & {mias_patient(i) for i in val_ids}
    image_level = card["metrics"]["image_level"]
    assert set(image_level["scores"]) <= set(val_ids)  # scored images are validation images only
    assert card["classes"] == ["normal", "abnormal"] and card["architecture"] == "resnet"
    prep = card["preprocessing"]
    assert {"scale", "patch", "stride", "mean", "std", "topk", "threshold", "enhance"} <= set(prep)
    assert "training" in prep["threshold_chosen"]


def test_stage2_learns_from_lesions_only_and_shares_stage1s_split(subset, tmp_path):
    list(train("classifier-stage2", tiny_config(subset, tmp_path / "s2")))
    list(train("classifier-stage1", tiny_config(subset, tmp_path / "s1")))
    card2 = json.loads((tmp_path / "s2" / "classifier-stage2.json").read_text())
    card1 = json.loads((tmp_path / "s1" / "classifier-stage1.json").read_text())
    assert card2["split"]["val"] == card1["split"]["val"]
    assert card2["classes"] == ["benign", "malignant"]
    dataset = load_dataset(subset, needs_mask=False)
    classes = {i.id: image_class(i) for i in dataset.items}
    scored = card2["metrics"]["image_level"]["scores"]
    assert scored and all(classes[i] in ("benign", "malignant") for i in scored)


def test_prepared_patches_come_only_from_their_own_side_of_the_split(subset):
    task = TASKS["classifier-stage1"]
    items = load_dataset(subset, needs_mask=False).items
    split = patient_split([i.id for i in items], lambda i: mias_patient(i), val_fraction=0.34, seed=1)
    by_id = {i.id: i for i in items}
    settings = {**task.defaults, "patch": 32, "scale": 0.25, "patches_per_image": 3, "val_patches_per_image": 2,
                "threshold_images": 3, "seed": 1, "jitter": 4}
    prepared = run_to_end(task.prepare([by_id[i] for i in split.train], [by_id[i] for i in split.val], settings))
    train_patients = {mias_patient(o) for o in prepared.train["owners"]}
    val_patients = {mias_patient(o) for o in prepared.val["owners"]}
    assert train_patients and val_patients and not train_patients & val_patients
    assert not set(prepared.train["images"]) & set(prepared.val["images"])
    # Lesion windows are centred on the finding: the centre of mdb023's window is its bright mass.
    labels = prepared.train["labels"].tolist() + prepared.val["labels"].tolist()
    assert set(labels) == {0, 1}
    ctx = prepared.train["windows"].shape[-1]
    assert ctx > 32 and prepared.val["windows"].shape[-1] == 32
    assert np.isfinite(prepared.preprocessing["mean"]) and prepared.preprocessing["std"] > 0
