"""Discovery: files and folders -> studies, from headers only, never raising for a bad file."""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest
from PIL import Image as PILImage
from PIL import ImageFile

from mammoview.core.progress import Cancelled, CancelToken, Progress
from mammoview.io import dicom, raster
from mammoview.io.discovery import Discovery, discover, iter_discover

from tests.conftest import require_data

CBIS = ("dicom-samples", "mammo", "cbisddsm_Mass-Test_P_00116_RIGHT_MLO_2_cropped.dcm")


def _fail(*args, **kwargs):
    raise AssertionError("pixels decoded during discovery")


@pytest.fixture
def no_pixel_decoding(monkeypatch):
    """Any pixel decoding fails the test: discovery must read headers only."""
    monkeypatch.setattr(ImageFile.ImageFile, "load", _fail)
    monkeypatch.setattr(raster, "_read_pnm_pixels", _fail)
    monkeypatch.setattr(raster, "read_raster", _fail)
    monkeypatch.setattr(dicom, "read_dicom", _fail)


def test_mias_folder_groups_patient_pairs(mias_dir, no_pixel_decoding):
    found = discover(mias_dir)
    assert found.errors == []  # Info.txt and Licence.txt skipped silently
    assert len(found.studies) == 129 and found.image_count == 258
    for study in found.studies:
        assert [ref.slot for ref in study.images] == ["RMLO", "LMLO"]
        k = int(study.uid.rsplit("-", 1)[1])
        assert study.uid == f"mias-patient-{k}" and study.label == f"MIAS patient {k}"
        assert [ref.path.rsplit("/", 1)[1] for ref in study.images] == [f"mdb{2 * k - 1:03d}.png", f"mdb{2 * k:03d}.png"]
    labels = [s.label for s in found.studies]
    assert labels[:3] == ["MIAS patient 1", "MIAS patient 3", "MIAS patient 4"]  # natural order
    truths = [ref.ground_truth for s in found.studies for ref in s.images]
    assert truths.count("normal") == 161 and truths.count("malignant") == 43


def test_mixed_folder_with_bad_files(tmp_path, mias_dir, no_pixel_decoding):
    for name in ("mdb001.png", "mdb002.png", "mdb005.png"):
        shutil.copyfile(mias_dir / name, tmp_path / name)
    shutil.copyfile(mias_dir / "Info.txt", tmp_path / "Info.txt")
    shutil.copyfile(require_data("mias-pgm", "mdb006.pgm"), tmp_path / "mdb006.pgm")
    scans = tmp_path / "scans" / "deeper"
    scans.mkdir(parents=True)
    PILImage.fromarray(np.zeros((60, 40), np.uint8)).save(scans / "a.png")
    PILImage.fromarray(np.zeros((60, 40), np.uint16)).save(scans / "b.tif")
    (tmp_path / ".hidden.png").write_bytes(b"junk")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "broken.png").write_bytes(b"junk")
    (tmp_path / "README").write_text("about")
    (tmp_path / "LICENSE.md").write_text("terms")
    (tmp_path / "labels.csv").write_text("a,b\n")
    (tmp_path / "COPYING").write_text("terms")
    PILImage.fromarray(np.zeros((30, 20), np.uint8)).save(tmp_path / "readme.png")  # an image after all
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "fake.jpg").write_text("not a jpeg")
    (tmp_path / "blob.bin").write_bytes(b"\x00" * 300)

    found = discover([tmp_path])
    by_uid = {s.uid: s for s in found.studies}
    assert set(by_uid) == {"mias-patient-1", "mias-patient-3", f"folder:{scans}", f"folder:{tmp_path}"}
    assert [r.rows for r in by_uid[f"folder:{tmp_path}"].images] == [30]
    assert by_uid["mias-patient-3"].views == ["RMLO", "LMLO"]
    assert by_uid["mias-patient-3"].images[1].ground_truth == "normal"  # the PGM found Info.txt
    assert by_uid[f"folder:{scans}"].label == "deeper"
    assert len(by_uid[f"folder:{scans}"].images) == 2
    failed = sorted(err.path.rsplit("/", 1)[1] for err in found.errors)
    assert failed == ["blob.bin", "empty.png", "fake.jpg"]
    assert all("\n" not in str(err) for err in found.errors)


def test_several_files_and_duplicates_are_read_once(mias_dir):
    files = [mias_dir / "mdb002.png", mias_dir / "mdb001.png", mias_dir / "mdb001.png"]
    found = discover(files)
    assert len(found.studies) == 1 and [r.slot for r in found.studies[0].images] == ["RMLO", "LMLO"]


def test_missing_path_is_reported_not_raised(tmp_path):
    found = discover([tmp_path / "nowhere", tmp_path])
    assert found.studies == []
    assert len(found.errors) == 1 and "not found" in str(found.errors[0])


def test_a_reader_crash_becomes_an_error(tmp_path, mias_dir, monkeypatch):
    shutil.copyfile(mias_dir / "mdb001.png", tmp_path / "mdb001.png")

    def crash(path):
        raise ZeroDivisionError

    monkeypatch.setattr(raster, "read_raster_header", crash)
    found = discover(tmp_path)
    assert found.studies == [] and "unexpected error" in str(found.errors[0])


def test_progress_callback_and_generator(mias_dir):
    events: list[Progress] = []
    found = discover([mias_dir / "mdb001.png", mias_dir / "mdb002.png", mias_dir / "mdb005.png"],
                     progress=events.append)
    assert [e.done for e in events] == [1, 2, 3, 3]
    assert all(e.total == 3 for e in events)
    assert events[-1].partial is found and isinstance(found, Discovery)
    generated = list(iter_discover(mias_dir / "mdb006.png"))
    assert generated[-1].partial.image_count == 1


def test_cancel_stops_discovery(mias_dir):
    token = CancelToken()
    seen = []

    def on_progress(event):
        seen.append(event)
        if event.done == 5:
            token.cancel()

    with pytest.raises(Cancelled):
        discover(mias_dir, progress=on_progress, cancel=token)
    assert len(seen) == 5


def _dicom_copy(source, target, *, study_uid, sop_uid, name, date):
    ds = pydicom.dcmread(source)
    ds.StudyInstanceUID = study_uid
    ds.SOPInstanceUID = sop_uid
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.PatientName = name
    ds.StudyDate = date
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target)


def test_dicom_grouped_by_study_uid_across_folders(tmp_path, no_pixel_decoding):
    source = require_data(*CBIS)
    _dicom_copy(source, tmp_path / "a" / "IM0001", study_uid="1.2.3.1", sop_uid="1.2.3.1.1",
                name="ZULU^ANNA", date="20200101")
    _dicom_copy(source, tmp_path / "b" / "img2.dcm", study_uid="1.2.3.1", sop_uid="1.2.3.1.2",
                name="ZULU^ANNA", date="20200101")
    _dicom_copy(source, tmp_path / "b" / "later.dcm", study_uid="1.2.3.2", sop_uid="1.2.3.2.1",
                name="ALPHA^BEA", date="20210101")
    _dicom_copy(source, tmp_path / "c" / "earlier.dcm", study_uid="1.2.3.3", sop_uid="1.2.3.3.1",
                name="ALPHA^BEA", date="20190101")
    shutil.copyfile(tmp_path / "b" / "img2.dcm", tmp_path / "c" / "copy_of_img2.dcm")  # same SOP UID
    found = discover(tmp_path)
    assert found.errors == []
    assert [(s.uid, len(s.images)) for s in found.studies] == [
        ("1.2.3.3", 1), ("1.2.3.2", 1), ("1.2.3.1", 2)]  # by patient, then date
    assert found.studies[0].label == "ALPHA BEA"
    assert all(ref.kind == "dicom" for s in found.studies for ref in s.images)


def test_non_mammogram_dicoms_are_errors(no_pixel_decoding):
    folder = require_data("dicom-samples", "other")
    found = discover(folder)
    assert found.studies == []
    names = {err.path.rsplit("/", 1)[1] for err in found.errors}
    assert "pydicom_CT_small.dcm" in names and "DICOMDIR" in names
    assert len(found.errors) == len([p for p in folder.iterdir() if p.is_file()])


def test_side_and_view_in_file_names_make_studies(tmp_path):
    """A folder of DDSM-style PNGs is one study per examination, not one per folder, and a
    folder of four views named by view hangs as one study."""
    dataset = tmp_path / "dataset"
    exam = tmp_path / "exam"
    for folder in (dataset, exam):
        folder.mkdir()
    for name in ("A_0002_1.RIGHT_MLO", "A_0002_1.LEFT_MLO", "A_0003_1.RIGHT_CC", "scan_0042"):
        PILImage.fromarray(np.zeros((30, 20), np.uint8)).save(dataset / f"{name}.png")
    for name in ("RCC", "LCC", "RMLO", "LMLO"):
        PILImage.fromarray(np.zeros((30, 20), np.uint8)).save(exam / f"{name}.png")

    by_label = {s.label: s for s in discover([dataset, exam]).studies}

    assert set(by_label) == {"A_0002_1", "A_0003_1", "dataset", "exam"}
    assert sorted(by_label["A_0002_1"].views) == ["LMLO", "RMLO"]
    assert by_label["A_0003_1"].views == ["RCC"]
    assert [r.laterality for r in by_label["dataset"].images] == [None]  # scan_0042: no token
    assert sorted(by_label["exam"].views) == ["LCC", "LMLO", "RCC", "RMLO"]


def test_ddsm_tissue_images_open_one_study_per_case():
    found = discover([require_data("ddsm-tissue", "images")])
    assert len(found.studies) == 50
    assert all(s.images[0].view == "MLO" for s in found.studies)
