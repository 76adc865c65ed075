"""``mammoview classify``: one CSV row per input, in order, whatever happens to each input.

A missing path, a file that is no image, a non-mammogram DICOM and a blank image each get a
row with empty numbers and the reason in ``note``; the batch goes on, the summary counts
every input and the exit status says whether everything was classified.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from mammoview import cli
from mammoview.classification.cascade import ImageResult

SPEC_COLUMNS = ["image", "p_abnormal", "p_malignant", "label", "suspicion"]
EMPTY = dict.fromkeys(["p_abnormal", "p_malignant", "label", "suspicion"], "")


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _png(path, value=90, size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(np.full(size, value, np.uint8)).save(path)
    return path


@pytest.fixture
def tiny_cascade(monkeypatch, tmp_path):
    """Tiny random-weight stage 1 and stage 2 installed as the user's active models."""
    from tests.classification.conftest import save_stage

    models = tmp_path / "userdata" / "models"
    monkeypatch.setenv("MAMMOVIEW_DATA_DIR", str(models.parent))
    models.mkdir(parents=True)
    save_stage(models, 1, seed=3)
    save_stage(models, 2, seed=4)
    return models


class _FakeCascade:
    """The cascade's interface without networks: images whose grey is 0 are 'blank'."""

    versions = {"classifier-stage1": "aaaa11112222", "classifier-stage2": "bbbb33334444"}

    def __init__(self):
        self.seen = []

    def classify(self, image):
        self.seen.append(image.path)
        if not image.pixels.any():
            return ImageResult(reason="blank image (constant grey)", versions=dict(self.versions))
        return ImageResult(p_abnormal=0.25, p_malignant=0.5, label="normal", suspicion=2,
                           versions=dict(self.versions))


@pytest.fixture
def fake_cascade(monkeypatch):
    from mammoview.classification import cascade as cascade_module

    fake = _FakeCascade()
    monkeypatch.setattr(cascade_module.Cascade, "load", classmethod(lambda cls, device="auto": fake))
    return fake


def test_mixed_inputs_get_one_row_each_in_order(mias_dir, dicom_samples, tiny_cascade, tmp_path, capsys):
    mias = tmp_path / "in" / "mdb001.png"
    mias.parent.mkdir()
    shutil.copy(mias_dir / "mdb001.png", mias)
    missing = tmp_path / "nonexistent.png"
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    fake_png = tmp_path / "fake.png"
    fake_png.write_text("not an image")
    mr = dicom_samples / "other" / "pydicom_MR_small.dcm"
    blank = _png(tmp_path / "blank.png", size=(400, 400))
    inputs = [str(missing), str(notes), str(mias), str(fake_png), str(mr), str(blank)]
    out = tmp_path / "out.csv"

    status = cli.main(["classify", *inputs, "--csv", str(out), "--device", "cpu"])

    captured = capsys.readouterr()
    assert status == cli.EXIT_PARTIAL == 3
    header = out.read_text().splitlines()[0].split(",")
    assert header[:5] == SPEC_COLUMNS and header[-1] == "note"
    rows = _rows(out)
    assert [r["image"] for r in rows] == inputs
    notes_by_image = {r["image"]: r["note"] for r in rows}
    assert notes_by_image == {
        str(missing): "could not open: file or folder not found",
        str(notes): "could not open: not a DICOM file or a supported image (PNG, PGM, TIFF, JPEG)",
        str(mias): "",
        str(fake_png): "could not open: not an image file (format not recognised)",
        str(mr): "not classified: not a mammogram: Modality MR",
        str(blank): "not classified: blank image (constant grey)",
    }
    classified = rows[2]
    assert 0 <= float(classified["p_abnormal"]) <= 1 and 0 <= float(classified["p_malignant"]) <= 1
    assert classified["label"] in ("normal", "benign", "malignant") and 1 <= int(classified["suspicion"]) <= 10
    assert classified["stage1_version"] and classified["stage2_version"]
    for row in rows[:2] + rows[3:]:
        assert {k: row[k] for k in EMPTY} == EMPTY
        assert row["stage1_version"] == row["stage2_version"] == ""
    for image, note in notes_by_image.items():  # every failure names the file and the reason
        if note:
            assert f"{image}: {note}" in captured.err
    assert "Traceback" not in captured.err
    assert f"wrote {out} (6 images: 1 classified, 2 not classified, 3 could not be opened)" in captured.out


def test_every_image_classified_exits_0(fake_cascade, tmp_path, capsys):
    images = [_png(tmp_path / "a.png"), _png(tmp_path / "b.png")]
    out = tmp_path / "out.csv"
    assert cli.main(["classify", *map(str, images), "--csv", str(out)]) == cli.EXIT_OK
    rows = _rows(out)
    assert [(r["image"], r["label"], r["suspicion"], r["note"]) for r in rows] == [
        (str(images[0]), "normal", "2", ""), (str(images[1]), "normal", "2", "")]
    assert rows[0]["stage1_version"] == "aaaa11112222"
    assert "(2 images: 2 classified, 0 not classified, 0 could not be opened)" in capsys.readouterr().out


def test_a_folder_expands_to_its_images_in_path_order(fake_cascade, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # relative paths, as typed: the rows name them the same way
    folder = Path("scans")
    for name in ("img10.png", "img2.png", "sub/a.png"):
        _png(folder / name)
    _png(folder / "blank.png", value=0)
    (folder / "broken.png").write_bytes(b"\x89PNG but not really")
    (folder / "notes.txt").write_text("a document in the folder is not an input image")
    missing = folder / "gone.png"
    first = _png(Path("first.png"))
    out = tmp_path / "out.csv"

    # The same image reached twice (its own path and inside the folder) gets one row; a missing
    # path that would lie in the folder is still an argument of its own, in its place.
    status = cli.main(["classify", str(first), str(folder), str(folder / "img2.png"), str(missing),
                       str(first), "--csv", str(out)])

    assert status == 3
    rows = _rows(out)
    assert [(r["image"], r["note"]) for r in rows] == [
        (str(first), ""),
        (str(folder / "blank.png"), "not classified: blank image (constant grey)"),
        (str(folder / "broken.png"), "could not open: not an image file (format not recognised)"),
        (str(folder / "img2.png"), ""),
        (str(folder / "img10.png"), ""),
        (str(folder / "sub" / "a.png"), ""),
        (str(missing), "could not open: file or folder not found"),
    ]
    assert rows[2]["p_abnormal"] == rows[2]["label"] == ""
    assert len(fake_cascade.seen) == 5
    captured = capsys.readouterr()
    assert f"{folder / 'broken.png'}: could not open: not an image file" in captured.err
    assert "(7 images: 4 classified, 1 not classified, 2 could not be opened)" in captured.out


def test_nothing_to_classify_fails_without_a_csv(fake_cascade, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out.csv"
    assert cli.main(["classify", str(empty), "--csv", str(out)]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert f"{empty}: no images found in this folder" in err and "no images found to classify" in err
    assert not out.exists()


def test_only_missing_paths_still_write_their_rows(fake_cascade, tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert cli.main(["classify", "nonexistent.png", "--csv", str(out)]) == 3
    assert [(r["image"], r["note"]) for r in _rows(out)] == [
        ("nonexistent.png", "could not open: file or folder not found")]
    captured = capsys.readouterr()
    assert "nonexistent.png: could not open: file or folder not found" in captured.err
    assert "(1 image: 0 classified, 0 not classified, 1 could not be opened)" in captured.out


def test_a_failure_inside_the_classifier_is_a_row_not_an_abort(fake_cascade, tmp_path, monkeypatch, capsys):
    good, bad = _png(tmp_path / "good.png"), _png(tmp_path / "bad.png")
    real = fake_cascade.classify

    def classify(image):
        if image.path.endswith("bad.png"):
            raise RuntimeError("CUDA out of memory")
        return real(image)

    monkeypatch.setattr(fake_cascade, "classify", classify)
    out = tmp_path / "out.csv"
    assert cli.main(["classify", str(bad), str(good), "--csv", str(out)]) == 3
    rows = _rows(out)
    assert rows[0]["note"] == "not classified: unexpected error in the classifier (RuntimeError: CUDA out of memory)"
    assert rows[1]["label"] == "normal"


def test_help_documents_the_exit_status(capsys):
    assert cli.main(["classify", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 when every image was classified; 3 when the CSV was written" in text
    assert "could not open: <reason>" in text
