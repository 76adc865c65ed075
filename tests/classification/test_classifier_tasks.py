"""The cascade's training tasks: tiny trainings, patient-level split, card contents."""

from __future__ import annotations

import json

import numpy as np

from mammoview.classification import scoring as S
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
    # The threshold is chosen on the validation images, and the rates the card reports are
    # leave-one-patient-out: recomputed here from the card's own scores.
    assert "validation images" in prep["threshold_chosen"]
    ids = list(image_level["scores"])
    by_id = {i.id: i for i in load_dataset(subset, needs_mask=False).items}
    y = [int(image_class(by_id[i]) != "normal") for i in ids]
    assert len(set(y)) == 2  # the subset's validation patients hold both classes
    s = [image_level["scores"][i] for i in ids]
    assert abs(prep["threshold"] - S.youden_threshold(y, s)) < 1e-4  # the card rounds scores to 5 digits
    calls = S.held_out_calls(y, s, [mias_patient(i) for i in ids])
    assert image_level["confusion"] == S.confusion(y, calls)
    assert "--calibration-fraction 0" in card["command"]


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


def _prepare(task, subset, **settings):
    items = load_dataset(subset, needs_mask=False).items
    split = patient_split([i.id for i in items], lambda i: mias_patient(i), val_fraction=0.34, seed=1)
    by_id = {i.id: i for i in items}
    settings = {**task.defaults, "patch": 32, "scale": 0.25, "patches_per_image": 3, "val_patches_per_image": 2,
                "threshold_images": 3, "seed": 1, "jitter": 4, "hard_negatives": 0, **settings}
    train_items = [by_id[i] for i in split.train]
    return train_items, run_to_end(task.prepare(train_items, [by_id[i] for i in split.val], settings))


def test_calibration_patients_give_no_training_window_and_are_the_threshold_images(subset):
    stage1, stage2 = TASKS["classifier-stage1"], TASKS["classifier-stage2"]
    train_items, prepared = _prepare(stage1, subset, calibration_fraction=0.5)
    held = prepared.train["calibration"]
    assert held and len(held) < len(train_items)
    held_patients = {mias_patient(i) for i in held}
    # Whole patients: both breasts of a held patient are held.
    assert {i.id for i in train_items if mias_patient(i.id) in held_patients} == set(held)
    # Nothing of theirs is trained on (neither lesion nor tissue windows nor mining), and
    # the threshold is chosen on exactly their images.
    assert not held_patients & {mias_patient(o) for o in prepared.train["owners"]}
    assert not set(held) & set(prepared.train["mining_pool"])
    assert set(prepared.train["images"]) == set(held)
    # Stage 2 with the same seed holds out the same patients (the abnormal images among them).
    _, prepared2 = _prepare(stage2, subset, calibration_fraction=0.5)
    assert {mias_patient(i) for i in prepared2.train["calibration"]} <= held_patients
    assert not held_patients & {mias_patient(o) for o in prepared2.train["owners"]}
    # Off: every training patient trains, the threshold comes from a subset of them.
    _, off = _prepare(stage1, subset, calibration_fraction=0)
    assert off.train["calibration"] == []
    assert held_patients & {mias_patient(o) for o in off.train["owners"]}


def test_cascade_evaluation_calls_each_patient_at_thresholds_chosen_without_it(subset, tiny_models):
    from types import SimpleNamespace

    from mammoview.classification.cascade import Cascade
    from mammoview.training.classifier_tasks import _held_out_thresholds, evaluate_cascade

    def row(i, patient, truth, pa, pm):
        return (f"img{i}", patient, truth, SimpleNamespace(p_abnormal=pa, p_malignant=pm))

    rows = [row(0, "a", "normal", 0.2, 0.1), row(1, "a", "malignant", 0.9, 0.8),
            row(2, "b", "normal", 0.3, 0.5), row(3, "b", "benign", 0.7, 0.2),
            row(4, "c", "normal", 0.6, 0.4), row(5, "c", "malignant", 0.8, 0.9)]
    t = _held_out_thresholds(rows)
    assert t["img0"] == t["img1"] and t["img2"] == t["img3"]  # one pair per patient
    others = [r for r in rows if r[1] != "a"]
    assert t["img0"][0] == S.youden_threshold([int(r[2] != "normal") for r in others], [r[3].p_abnormal for r in others])
    # Patient a's own scores do not move the thresholds it is called at.
    moved = [row(0, "a", "normal", 0.95, 0.99), row(1, "a", "malignant", 0.05, 0.0)] + rows[2:]
    assert _held_out_thresholds(moved)["img0"] == t["img0"]

    # On real images: with the models' own thresholds the confusion counts the cascade's
    # labels; held out, every classified image is still counted once.
    cascade = Cascade.load(device="cpu", folders=[tiny_models])
    ids = ["mdb001", "mdb002", "mdb005", "mdb006", "mdb023", "mdb024"]
    own = evaluate_cascade(cascade, subset, ids, held_out=False)
    labels = ("normal", "benign", "malignant")
    truth = {i: image_class(x) for i, x in ((x.id, x) for x in load_dataset(subset, needs_mask=False).items)}
    expected = [[sum(1 for i, r in own["per_image"].items() if truth[i] == t and r["label"] == p) for p in labels]
                for t in labels]
    assert own["three_class_confusion"]["matrix"] == expected
    held = evaluate_cascade(cascade, subset, ids)
    assert "leave-one-patient-out" in held["thresholds"]
    assert sum(map(sum, held["three_class_confusion"]["matrix"])) == sum(map(sum, expected)) == len(ids)
    assert held["stage1_normal_vs_abnormal"]["auc"] == own["stage1_normal_vs_abnormal"]["auc"]
