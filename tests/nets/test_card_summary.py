"""The model card as a reader sees it: image-level figures with their interval first, patch
level after and labelled, the papers beside ours, counts rather than id lists, nothing cut,
on the four shipped cards and on cards with fields missing."""

from __future__ import annotations

import json

import pytest

from mammoview.io.mias import mias_patient
from mammoview.nets.card_summary import card_html, card_json, card_sections, card_text, headline
from mammoview.nets.registry import headline_metric
from mammoview.nets.store import read_card
from tests.conftest import REPO_ROOT

TASKS = ("classifier-stage1", "classifier-stage2", "segmentation", "superres")
CLASSIFIERS = TASKS[:2]


def shipped(task: str) -> dict:
    return json.loads((REPO_ROOT / "models" / f"{task}.json").read_text())


def leaves(value, skip=("split",)):
    """Every text value of a card (and every key of a block of figures), its split id lists left out."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in skip:
                continue
            if not str(k).isidentifier():  # a paper's name is a key
                yield str(k)
            yield from leaves(v, skip)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v, skip)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("task", CLASSIFIERS)
def test_image_level_auc_with_its_interval_comes_before_any_patch_level_figure(task):
    card = shipped(task)
    image = card["metrics"]["image_level"]
    low, high = image["auc_ci95"]
    auc = f"{image['auc']:.3f} (95 % CI {low:.3f}–{high:.3f})"
    text = card_text(card)
    assert f"Image-level AUC: {auc}" in text
    assert text.index(auc) < text.index("Patch-level AUC") < text.index("Validation after each epoch")
    # The very first line under the title is the headline, and it is the image-level AUC.
    assert text.splitlines()[1] == f"Headline: image-level AUC {auc}, {image['n']} validation images"
    titles = [s.title for s in card_sections(card)]
    assert titles.index("Evaluation on patients never trained on: image level") < titles.index(
        "Patch level (windows, not whole images)")
    assert card_html(card).index("Image-level AUC") < card_html(card).index("Patch-level AUC")


@pytest.mark.parametrize("task", CLASSIFIERS)
def test_calls_at_the_threshold_show_how_it_was_chosen_and_the_confusion_matrix(task):
    card = shipped(task)
    image = card["metrics"]["image_level"]
    negative, positive = card["classes"]
    c = image["confusion"]
    text = card_text(card)
    assert f"Threshold: {image['threshold']:.3f}" in text
    assert f"Threshold chosen by: {image['threshold_chosen']}" in text
    assert f"truth \\ called | {positive} | {negative}" in text
    assert f"{positive} | {c['tp']} | {c['fn']}" in text and f"{negative} | {c['fp']} | {c['tn']}" in text
    assert f"Sensitivity: {image['sensitivity']:.3f} ({c['tp']} of {c['tp'] + c['fn']} {positive})" in text
    assert f"Specificity: {image['specificity']:.3f} ({c['tn']} of {c['tn'] + c['fp']} {negative})" in text
    for name, key in (("F1", "f1"), ("MCC", "mcc"), ("Precision", "precision")):
        assert f"{name}: {image[key]:.3f}" in text
    calibration = image["calibration"]
    assert f"Brier score: {calibration['brier']:.3f}" in text
    assert f"ECE (expected calibration error): {calibration['ece']:.3f}" in text


@pytest.mark.parametrize("task", CLASSIFIERS)
def test_the_papers_figures_and_why_ours_differ_follow_our_evaluation(task):
    card = shipped(task)
    metrics = card["metrics"]
    text = card_text(card)
    for paper, reported in metrics["reported_by_papers"].items():
        assert f"{paper} | {reported}" in text
    why = f"Why ours differ: {metrics['why_ours_differ']}"
    assert why in text
    assert text.index("Patch-level AUC") < text.index("WHAT THE PAPERS REPORT") < text.index(why)


@pytest.mark.parametrize("task", TASKS)
def test_the_split_is_counted_in_images_and_patients_not_listed(task):
    card = shipped(task)
    split = card["split"]
    text = card_text(card)
    for key, title in (("train", "Training"), ("val", "Validation")):
        patients = len({mias_patient(i) for i in split[key]})
        assert f"{title}: {len(split[key])} images ({patients} patients" in text
    assert ", ".join(split["train"][:3]) not in text
    assert f"Seed: {card['seed']}" in text and f"Command: {card['command']}" in text
    assert f"Start weights: {card['start']}" in text and "Data: MIAS folder" in text


@pytest.mark.parametrize("task", TASKS)
def test_nothing_is_cut_and_the_raw_json_is_the_whole_card(task):
    card = shipped(task)
    text, html = card_text(card), card_html(card)
    assert "…" not in text and "…" not in html
    missing = [leaf for leaf in leaves(card) if leaf not in text]
    assert not missing, missing
    assert json.loads(card_json(card)) == card
    assert "Intended use: Research use only, not for diagnosis." in text


def test_segmentation_shows_its_figures_beside_the_otsu_baseline_and_the_box_check():
    card = shipped("segmentation")
    validation, otsu = card["metrics"]["validation"], card["metrics"]["otsu_baseline"]
    text = card_text(card)
    assert "figure | this model | Otsu baseline" in text
    assert f"Dice | {validation['dice']:.3f} | {otsu['dice']:.3f}" in text
    assert f"IoU | {validation['iou']:.3f} | {otsu['iou']:.3f}" in text
    for case in card["metrics"]["cbis_ddsm_box_check"]["cases"]:
        assert case["case"] in text
    assert headline(card) == f"Dice {validation['dice']:.3f} (Otsu baseline {otsu['dice']:.3f})"
    assert text.index("Dice |") < text.index("Validation after each epoch")


def test_superres_shows_psnr_and_ssim_beside_bicubic():
    card = shipped("superres")
    validation, bicubic = card["metrics"]["validation"], card["metrics"]["bicubic_baseline"]
    text = card_text(card)
    assert f"PSNR (dB) | {validation['psnr']:.2f} | {bicubic['psnr']:.2f}" in text
    assert f"SSIM | {validation['ssim']:.3f} | {bicubic['ssim']:.3f}" in text
    assert f"model beats bicubic: {'yes' if card['metrics']['model_beats_bicubic'] else 'no'}" in text


@pytest.mark.parametrize("card, says", [
    ({"task": "classifier-stage1", "architecture": "resnet"}, "This card has no image-level evaluation"),
    ({"task": "classifier-stage2", "architecture": "resnet", "metrics": {"patch_auc": 0.5},
      "split": {"train": 0, "val": 0}, "data": {"dataset": "none"}}, "patch AUC: 0.500"),
    ({"task": "segmentation", "architecture": "unet", "metrics": {}}, "This card has no validation figures"),
    ({"task": "superres", "architecture": "edsr", "metrics": None, "split": "by hand", "data": ["x"],
      "classes": "abc", "notes": "one note", "seed": None, "epochs": "?"}, "- one note"),
    ({"task": "superres", "error": "no model installed"}, "Status: no model installed"),
    ({}, "Task: ?"),
])
def test_a_card_with_missing_or_odd_fields_still_reads(card, says):
    text = card_text(card)
    assert says in text
    assert "Research use only, not for diagnosis." in text
    assert card_html(card).startswith("<h3")


def test_a_classifier_card_without_image_level_says_its_patch_figures_are_not_image_level():
    card = shipped("classifier-stage1")
    del card["metrics"]["image_level"]
    text = card_text(card)
    assert text.index("This card has no image-level evaluation") < text.index("Patch-level AUC")
    assert headline(card).startswith("patch-level AUC")


def test_card_text_is_escaped_in_html():
    html = card_html({"task": "segmentation", "architecture": "unet", "notes": ["<b>bold</b> & co"]})
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html and "<b>bold</b>" not in html


def test_the_models_list_headline_is_the_image_level_auc_for_classifiers():
    for task in CLASSIFIERS:
        auc = shipped(task)["metrics"]["image_level"]["auc"]
        assert headline_metric(read_card(REPO_ROOT / "models" / task)) == f"image AUC {auc:.3f}"
    dice = shipped("segmentation")["metrics"]["validation"]["dice"]
    assert headline_metric(read_card(REPO_ROOT / "models" / "segmentation")) == f"Dice {dice:.3f}"
