"""`mammoview evaluate` on a tiny MIAS subset: the table, CSV and plot carry exactly what the
engine's model cards report; a cancelled comparison keeps its finished rows; resume reuses them."""

from __future__ import annotations

import csv
import json

import pytest
from PIL import Image

from mammoview.cli import main
from mammoview.core.progress import CancelToken
from mammoview.nets.archs import count_parameters
from mammoview.training.evaluate import (
    COLUMNS,
    EvaluateConfig,
    EvaluateError,
    Run,
    evaluate,
    plan_runs,
    verdict,
)

# The smallest budget that still trains and scores through every stage of the engine.
TINY = ["--epochs", "1", "--device", "cpu", "--threads", "1", "--val-fraction", "0.4", "--lesion-copies", "2",
        "--stride", "64", "--threshold-images", "4", "--patches-per-image", "4", "--seed", "1"]


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def compared(mias_subset, tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate")
    status = main(["evaluate", "classifier-stage1", "--archs", "alexnet,resnet18", "--no-wavelet-pair",
                   "--data", str(mias_subset), "--out", str(out), *TINY])
    return status, out


def test_evaluate_writes_a_table_csv_and_plot_that_match_the_cards(compared, capsys):
    status, out = compared
    assert status == 0
    rows = _rows(out / "architectures.csv")
    assert list(rows[0]) == list(COLUMNS)
    assert [r["label"] for r in rows] == ["alexnet", "resnet18"]
    for row in rows:
        card = json.loads((out / "runs" / row["label"] / "classifier-stage1.json").read_text())
        image, patch = card["metrics"]["image_level"], card["metrics"]["patch_level"]
        assert float(row["image_auc"]) == image["auc"]
        assert [float(row["image_auc_low"]), float(row["image_auc_high"])] == image["auc_ci95"]
        for key in ("sensitivity", "specificity", "f1", "threshold"):
            assert float(row[key]) == image[key], key
        assert int(row["val_images"]) == image["n"] and int(row["val_positives"]) == image["positives"]
        assert float(row["patch_auc"]) == patch["auc"]
        assert row["version"] == card["version"] and row["start"] == card["start"]
        assert int(row["epochs"]) == card["epochs"] == 1
        assert card["arch_params"] == ({"num_classes": 2, "in_ch": 1} if row["arch"] == "alexnet" else
                                       {"arch": "resnet18", "num_classes": 2, "in_ch": 1})
        assert int(row["params"]) == count_parameters(row["arch"])
        assert float(row["train_s"]) > 0 and float(row["total_s"]) >= float(row["train_s"])
        assert row["paper_reports"]
    # Both rows were trained on the very same patient split.
    splits = [json.loads((out / "runs" / r["label"] / "classifier-stage1.json").read_text())["split"]
              for r in rows]
    assert splits[0]["val"] == splits[1]["val"] and splits[0]["train"] == splits[1]["train"]
    md = (out / "architectures.md").read_text()
    assert "| architecture | input | parameters | image AUC [95 % CI] | sens | spec | F1 |" in md
    assert "mammoview evaluate classifier-stage1 --archs alexnet,resnet18" in md
    assert "Same budget for every row: 1 epoch, batch 32" in md and "Why our numbers differ" in md
    alexnet = rows[0]
    assert f"| alexnet | plain | 57.0 M | {float(alexnet['image_auc']):.2f} [" in md
    with Image.open(out / "architectures.png") as png:
        assert png.format == "PNG" and png.width == 1200 and png.height > 200
    assert not list(out.glob("*.tmp*"))  # atomic writes leave nothing behind


def test_runs_are_planned_with_the_wavelet_pair():
    assert plan_runs(("resnet18", "vgg16")) == [Run("resnet18"), Run("vgg16"), Run("resnet50"),
                                               Run("resnet50", "wavelet")]
    assert [r.label for r in plan_runs(("resnet50", "alexnet"))] == ["resnet50", "alexnet", "resnet50+wavelet"]
    assert plan_runs(("alexnet",), wavelet_pair=False) == [Run("alexnet")]


def test_bad_requests_are_refused_before_any_training(mias_subset, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["evaluate", "classifier-stage1", "--archs", "resnet18,densenet", "--data", str(mias_subset),
                 "--out", str(out)]) == 2
    assert main(["evaluate", "classifier-stage1", "--archs", "alexnet", "--patch", "48", "--no-wavelet-pair",
                 "--data", str(mias_subset), "--out", str(out)]) == 1
    assert main(["evaluate", "segmentation", "--data", str(mias_subset), "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("mammoview: error: ") for line in lines)
    assert "unknown architecture densenet" in lines[0]
    assert "alexnet needs patches of at least 63 px (got 48 px)" in lines[1]
    assert not (out / "runs").exists()
    with pytest.raises(EvaluateError, match="listed twice"):
        EvaluateConfig("classifier-stage1", ("resnet18", "resnet18"), mias_subset, out)


def test_a_cancelled_comparison_keeps_its_finished_rows_and_resume_reuses_them(mias_subset, tmp_path):
    settings = {"lesion_copies": 2, "stride": 64, "threshold_images": 4, "patches_per_image": 4}
    config = EvaluateConfig("classifier-stage1", ("resnet18", "alexnet"), mias_subset, tmp_path, wavelet_pair=False,
                            epochs=1, device="cpu", threads=1, val_fraction=0.4, seed=1, settings=settings)
    cancel = CancelToken()
    kinds = []
    for event in evaluate(config, cancel=cancel):
        e = event.partial
        kinds.append(e.kind)
        if e.kind == "run" and e.run == 2:
            cancel.cancel()  # Ctrl-C / the dialog's Cancel during the second run
    assert kinds[-1] == "cancelled" and kinds.count("row") == 1
    rows = _rows(tmp_path / "architectures.csv")
    assert [r["label"] for r in rows] == ["resnet18"]
    card = tmp_path / "runs" / "resnet18" / "classifier-stage1.json"
    written = card.stat().st_mtime_ns
    # Resume: the finished run is reused as it is (no training event for it).
    config.resume, config.archs = True, ("resnet18",)
    events = [p.partial for p in evaluate(config)]
    assert [e.kind for e in events] == ["run", "row", "done"]
    assert card.stat().st_mtime_ns == written
    assert events[1].row["version"] == rows[0]["version"]
    # Other settings make another run: it is trained again, not reused (cancelled here
    # straight away, so it ends as "cancelled" without a row).
    config.settings = {**settings, "lesion_copies": 3}
    kinds = [p.partial.kind for p in evaluate(config, cancel=_cancelled())]
    assert kinds[0] == "run" and "train" in kinds and kinds[-1] == "cancelled" and "row" not in kinds


def _cancelled() -> CancelToken:
    token = CancelToken()
    token.cancel()
    return token


def test_the_verdict_says_when_intervals_overlap():
    rows = [{"label": "a", "image_auc": 0.6, "image_auc_low": 0.45, "image_auc_high": 0.75},
            {"label": "b", "image_auc": 0.55, "image_auc_low": 0.4, "image_auc_high": 0.7}]
    assert "no architecture is shown to be better" in verdict(rows)
    assert "No image-level interval lies entirely above chance" in verdict(rows)
    rows.append({"label": "c", "image_auc": 0.95, "image_auc_low": 0.9, "image_auc_high": 0.99})
    text = verdict(rows)
    assert "Highest image-level AUC: c (0.95); its interval lies above those of a, b" in text
    assert "entirely above chance (0.5): c." in text
