"""``mammoview classify PATH... --csv OUT``: exact header, one row per image (refusals with their
reason in ``note``), refusals on stderr too."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image as PILImage

from mammoview import cli

from .conftest import save_stage


@pytest.fixture
def user_models(monkeypatch, tmp_path):
    """Tiny random models installed as the user's active models."""
    data = tmp_path / "userdata"
    monkeypatch.setenv("MAMMOVIEW_DATA_DIR", str(data))
    (data / "models").mkdir(parents=True)
    save_stage(data / "models", 1, seed=3)
    save_stage(data / "models", 2, seed=4)
    return data / "models"


def test_csv_has_the_exact_header_and_one_row_per_image(mias_dir, user_models, tmp_path, capsys):
    images = tmp_path / "in"
    images.mkdir()
    for name in ("mdb001.png", "mdb002.png"):
        shutil.copy(mias_dir / name, images / name)
    blank = images / "blank.png"
    PILImage.fromarray(np.full((400, 400), 90, np.uint8)).save(blank)
    out = tmp_path / "out.csv"
    status = cli.main(["classify", str(images / "mdb001.png"), str(images / "mdb002.png"), str(blank),
                       "--csv", str(out), "--device", "cpu"])
    err = capsys.readouterr().err
    assert status == 3  # the blank image was not classified (tests/cli/test_classify.py: the exit statuses)
    lines = out.read_text().splitlines()
    # The spec's five columns first; the model versions and the reason for a missing result after them.
    assert lines[0] == "image,p_abnormal,p_malignant,label,suspicion,stage1_version,stage2_version,note"
    rows = list(csv.DictReader(lines))
    versions = {stage: json.loads((user_models / f"classifier-stage{stage}.json").read_text())["version"]
                for stage in (1, 2)}
    assert [r["image"] for r in rows] == [str(images / "mdb001.png"), str(images / "mdb002.png"), str(blank)]
    for r in rows[:2]:
        assert (r["stage1_version"], r["stage2_version"], r["note"]) == (versions[1], versions[2], "")
        assert 0 <= float(r["p_abnormal"]) <= 1 and 0 <= float(r["p_malignant"]) <= 1
        assert r["label"] in ("normal", "benign", "malignant") and 1 <= int(r["suspicion"]) <= 10
    assert rows[2] == {**dict.fromkeys(rows[2], ""), "image": str(blank),
                       "note": "not classified: blank image (constant grey)"}
    assert f"{blank}: not classified: blank image (constant grey)" in err
    assert "classifier-stage1" in err and "classifier-stage2" in err  # versions on stderr


def test_without_models_it_fails_with_one_line_and_writes_nothing(mias_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("mammoview.nets.store.SHIPPED_MODELS_DIR", tmp_path / "none")
    out = tmp_path / "out.csv"
    status = cli.main(["classify", str(mias_dir / "mdb001.png"), "--csv", str(out)])
    err = capsys.readouterr().err
    assert status == 1 and "classifier-stage1" in err and "Traceback" not in err
    assert not out.exists()


def test_bad_output_name_is_a_usage_error(mias_dir, tmp_path, capsys):
    assert cli.main(["classify", str(mias_dir / "mdb001.png"), "--csv", str(tmp_path / "x.txt")]) == 2


def test_csv_write_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "out.csv"
    out.write_text("old\n")

    class Boom(Exception):
        pass

    def explode(*a, **k):
        raise Boom()

    monkeypatch.setattr(csv.DictWriter, "writerows", explode)
    with pytest.raises(Boom):
        cli.write_classification_csv(out, [{"image": "a", "p_abnormal": "0.1", "p_malignant": "0.2",
                                            "label": "normal", "suspicion": "1"}])
    assert out.read_text() == "old\n" and list(tmp_path.iterdir()) == [out]
