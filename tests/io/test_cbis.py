"""CBIS-DDSM sample layout: case facts, lesion boxes as findings, discovery, bad CSVs."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from PIL import Image as PILImage

from mammoview.io import cbis
from mammoview.io.discovery import discover
from mammoview.io.loader import open_image
from mammoview.io.raster import read_raster_header

from tests.conftest import require_data

LEFT_CC = "Mass-Test_P_00016_LEFT_CC"
RIGHT_MLO = "Mass-Test_P_00116_RIGHT_MLO"
LABEL_HEADER = ("case,abnormality_id,patient_id,breast_density,left_or_right_breast,image_view,"
                "abnormality_type,mass_shape,mass_margins,assessment,pathology,subtlety\n")
BOX_HEADER = "case,abnormality_id,rows_1024,cols_1024,x1_1024,y1_1024,x2_1024,y2_1024\n"


@pytest.fixture(scope="module")
def sample():
    return require_data("cbis-ddsm-sample")


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    monkeypatch.setattr(cbis, "_CACHE", {})


def _mask(path) -> np.ndarray:
    return np.asarray(PILImage.open(path)) > 0


def _case_folder(root, case, shape=(64, 32)):
    folder = root / case
    folder.mkdir()
    PILImage.fromarray(np.arange(shape[0] * shape[1], dtype=np.uint32).reshape(shape).astype(np.uint8)).save(
        folder / "full_mammogram_1024.png")
    return folder / "full_mammogram_1024.png"


def _label(case, n, patient, side, view, pathology, assessment=4):
    return f"{case},{n},{patient},3,{side},{view},mass,OVAL,CIRCUMSCRIBED,{assessment},{pathology},3\n"


# ----------------------------------------------------------------------------- real sample


def test_left_cc_case_opens_with_its_ground_truth(sample):
    image = open_image(sample / LEFT_CC / "full_mammogram_1024.png")
    ref = image.ref
    assert ref.patient.id == "P_00016"
    assert (ref.laterality, ref.view, ref.slot) == ("L", "CC", "LCC")
    assert ref.ground_truth == "malignant" and ref.modality == "MG"
    (finding,) = image.findings
    assert finding.severity == "malignant" and finding.kind == "SPIC"  # IRREGULAR, SPICULATED
    # The finding lies on the lesion box: its centre inside the box mask, its radius half
    # the box's longer side (88 x 87 px at this scale).
    mask = _mask(sample / LEFT_CC / "lesion1_bbox_mask_1024.png")
    assert mask.shape == image.shape == (1024, 472)
    assert mask[round(finding.row), round(finding.col)]
    rows, cols = np.nonzero(mask)
    assert abs(finding.row - rows.mean()) <= 1.5 and abs(finding.col - cols.mean()) <= 1.5
    assert finding.radius == pytest.approx(44, abs=1)


def test_right_mlo_case_has_both_lesions_on_their_boxes(sample):
    ref = read_raster_header(sample / RIGHT_MLO / "full_mammogram_1024.png")
    assert ref.slot == "RMLO" and ref.patient.id == "P_00116" and ref.ground_truth == "malignant"
    assert len(ref.findings) == 2
    for n, finding in enumerate(ref.findings, start=1):
        mask = _mask(sample / RIGHT_MLO / f"lesion{n}_bbox_mask_1024.png")
        assert mask[round(finding.row), round(finding.col)], n


def test_case_facts_without_a_place_in_the_image_ref(sample):
    case = cbis.lookup_case(sample / LEFT_CC / "full_mammogram_1024.png")
    assert (case.density, case.assessment) == (4, 5)
    assert case.abnormalities[0].margins == "SPICULATED"


def test_discovery_gives_one_study_per_patient_and_no_mask_or_crop_images(sample):
    found = discover(sample)
    assert not found.errors
    # Only the two patients' mammograms: no lesion crop listed as a study of its own.
    assert sorted(study.label for study in found.studies) == ["P_00016", "P_00116"]
    by_label = {study.label: study for study in found.studies}
    for label, slot in (("P_00016", "LCC"), ("P_00116", "RMLO")):
        study = by_label[label]
        assert [ref.display_name for ref in study.images] == ["full_mammogram_1024.png"]
        assert study.views == [slot] and study.ground_truth == "malignant"
    names = [ref.display_name for study in found.studies for ref in study.images]
    assert not [n for n in names if "bbox" in n or "cropped" in n]
    # Opened by name, a crop still opens (as the DICOM it is).
    crop = discover(sample / LEFT_CC / "lesion1_cropped_roi.dcm")
    assert not crop.errors and len(crop.studies) == 1


def test_a_mask_opened_on_its_own_is_a_plain_raster(sample):
    ref = read_raster_header(sample / LEFT_CC / "lesion1_bbox_mask_1024.png")
    assert ref.slot is None and ref.ground_truth is None and ref.findings == ()


def test_discovery_reads_the_csvs_once_per_folder(sample, monkeypatch):
    calls = []
    real = cbis._read_labels
    monkeypatch.setattr(cbis, "_read_labels", lambda *a: calls.append(a) or real(*a))
    discover(sample)
    assert len(calls) == 1


# ----------------------------------------------------------------------------- hand-written


def test_worst_pathology_over_the_abnormalities(tmp_path):
    mixed = _case_folder(tmp_path, "Calc-Test_P_1_LEFT_CC")
    benign = _case_folder(tmp_path, "Calc-Test_P_2_RIGHT_MLO")
    (tmp_path / "labels.csv").write_text(
        LABEL_HEADER
        + _label("Calc-Test_P_1_LEFT_CC", 1, "P_1", "LEFT", "CC", "BENIGN_WITHOUT_CALLBACK", 3)
        + _label("Calc-Test_P_1_LEFT_CC", 2, "P_1", "LEFT", "CC", "MALIGNANT", 5)
        + _label("Calc-Test_P_2_RIGHT_MLO", 1, "P_2", "RIGHT", "MLO", "BENIGN", 2)
        + _label("Calc-Test_P_2_RIGHT_MLO", 2, "P_2", "RIGHT", "MLO", "BENIGN_WITHOUT_CALLBACK", 3))
    ref = read_raster_header(mixed)
    assert ref.ground_truth == "malignant"
    assert [f.severity for f in ref.findings] == ["benign", "malignant"]
    assert cbis.lookup_case(mixed).assessment == 5
    ref = read_raster_header(benign)
    assert ref.ground_truth == "benign" and ref.slot == "RMLO"
    # No bboxes.csv: the findings are known, their place is not.
    assert all(not f.has_location and f.kind == "CIRC" for f in ref.findings)


def test_boxes_are_scaled_to_the_image_opened(tmp_path):
    image = _case_folder(tmp_path, "Mass-Test_P_9_LEFT_CC", shape=(512, 236))  # half of 1024 x 472
    (tmp_path / "labels.csv").write_text(LABEL_HEADER + _label("Mass-Test_P_9_LEFT_CC", 1, "P_9", "LEFT", "CC",
                                                                "MALIGNANT"))
    (tmp_path / "bboxes.csv").write_text(BOX_HEADER + "Mass-Test_P_9_LEFT_CC,1,1024,472,343,662,431,750\n")
    (finding,) = read_raster_header(image).findings
    assert (finding.row, finding.col, finding.radius) == pytest.approx((353, 193.5, 22))


def test_same_patient_cases_hang_in_one_study(tmp_path):
    for case in ("Mass-Test_P_7_LEFT_MLO", "Mass-Test_P_7_LEFT_CC"):
        _case_folder(tmp_path, case)
    (tmp_path / "labels.csv").write_text(
        LABEL_HEADER + _label("Mass-Test_P_7_LEFT_MLO", 1, "P_7", "LEFT", "MLO", "BENIGN")
        + _label("Mass-Test_P_7_LEFT_CC", 1, "P_7", "LEFT", "CC", "BENIGN"))
    (study,) = discover(tmp_path).studies
    assert study.label == "P_7" and study.views == ["LCC", "LMLO"]


@pytest.mark.parametrize("labels", [
    "case,patient_id\nMass-Test_P_1_LEFT_CC,P_1\n",  # not the sample's columns
    b"\xff\xfe\x00garbage\x00",  # not text at all
    "",
])
def test_a_malformed_labels_csv_leaves_a_plain_raster(tmp_path, labels, caplog):
    image = _case_folder(tmp_path, "Mass-Test_P_1_LEFT_CC")
    path = tmp_path / "labels.csv"
    path.write_bytes(labels) if isinstance(labels, bytes) else path.write_text(labels)
    with caplog.at_level(logging.DEBUG, logger="mammoview.io.cbis"):
        opened = open_image(image)
    assert opened.ref.study_uid == f"folder:{image.parent}"
    assert opened.ref.slot is None and opened.ref.ground_truth is None and opened.findings == ()
    assert "plain rasters" in caplog.text


def test_a_bad_row_drops_only_its_own_case(tmp_path):
    bad = _case_folder(tmp_path, "Mass-Test_P_1_LEFT_CC")
    good = _case_folder(tmp_path, "Mass-Test_P_2_LEFT_CC")
    (tmp_path / "labels.csv").write_text(
        LABEL_HEADER + _label("Mass-Test_P_1_LEFT_CC", 1, "P_1", "LEFT", "CC", "MALIGNANT")
        + _label("Mass-Test_P_1_LEFT_CC", 2, "P_1", "LEFT", "CC", "UNPROVEN")
        + _label("Mass-Test_P_2_LEFT_CC", 1, "P_2", "LEFT", "CC", "BENIGN"))
    (tmp_path / "Mass-Test_P_1_LEFT_CC" / "lesion1_bbox_mask_1024.png").write_bytes(
        (tmp_path / "Mass-Test_P_1_LEFT_CC" / "full_mammogram_1024.png").read_bytes())
    # Half a ground truth could read benign where the unknown row is malignant: none at all.
    assert read_raster_header(bad).ground_truth is None
    assert read_raster_header(good).ground_truth == "benign"
    # Not a known case, so its mask-named file is listed like any other image.
    names = sorted(ref.display_name for study in discover(tmp_path).studies for ref in study.images)
    assert names.count("lesion1_bbox_mask_1024.png") == 1


def test_an_edited_labels_csv_is_read_again(tmp_path):
    image = _case_folder(tmp_path, "Mass-Test_P_1_LEFT_CC")
    labels = tmp_path / "labels.csv"
    labels.write_text(LABEL_HEADER + _label("Mass-Test_P_1_LEFT_CC", 1, "P_1", "LEFT", "CC", "BENIGN"))
    assert read_raster_header(image).ground_truth == "benign"
    labels.write_text(LABEL_HEADER + _label("Mass-Test_P_1_LEFT_CC", 1, "P_1", "LEFT", "CC", "MALIGNANT"))
    stat = labels.stat()
    os.utime(labels, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert read_raster_header(image).ground_truth == "malignant"
