"""``mammoview report`` prints the saved reading (``--db``) and de-identifies (``--deidentify``)."""

from __future__ import annotations

import logging

from mammoview.cli import main
from mammoview.reading import ReadingStore
from mammoview.reading.store import default_db_path
from tests.report.reading_helpers import (
    IDENTIFYING,
    IMPRESSION,
    NOTE,
    make_reading,
    pdf_metadata_text,
    pdf_stream_bytes,
    pdf_text,
    reading_study,
)


def _study_with_reading(tmp_path, db=None):
    study = reading_study(tmp_path / "study")
    with ReadingStore(db) as store:
        make_reading(store, study)
    return tmp_path / "study"


def test_report_prints_the_reading_saved_in_the_given_database(tmp_path, capsys):
    db = tmp_path / "elsewhere.sqlite3"
    folder = _study_with_reading(tmp_path, db)
    out = tmp_path / "r.pdf"
    assert main(["report", str(folder), "-o", str(out), "--views", "original", "--db", str(db)]) == 0
    assert "1 saved readings" in capsys.readouterr().out
    text = pdf_text(out)
    for expected in ("BI-RADS overall Breast density 4 1 4 C", IMPRESSION, NOTE, "1 mass (ellipse) right CC"):
        assert expected in text, expected

    # The per-user database (MAMMOVIEW_DATA_DIR, isolated per test) has no reading of it.
    assert main(["report", str(folder), "-o", str(out), "--views", "original"]) == 0
    assert "No reading saved for this study." in pdf_text(out)
    assert default_db_path().is_file()


def test_report_deidentify_leaves_no_patient_name_id_or_birth_date(tmp_path, capsys, caplog):
    folder = _study_with_reading(tmp_path)  # the per-user database
    out = tmp_path / "deid.pdf"
    with caplog.at_level(logging.DEBUG):
        assert main(["report", str(folder), "-o", str(out), "--views", "original,clahe", "--deidentify"]) == 0
    captured = capsys.readouterr()
    assert "de-identified" in captured.out
    text, meta = pdf_text(out), pdf_metadata_text(out)
    raw = pdf_stream_bytes(out).lower()
    for value in IDENTIFYING:
        assert value.lower() not in text.lower() and value.lower() not in meta.lower(), value
        assert value.lower().encode() not in raw, value
    for value in IDENTIFYING[:4]:  # the name: never on the console or in a log either
        assert value.lower() not in (captured.out + captured.err + caplog.text).lower(), value
    assert "MV-" in text and IMPRESSION in text and "BI-RADS overall" in text


def test_report_deidentify_refuses_without_a_usable_database(tmp_path, capsys):
    folder = reading_study(tmp_path / "study", slots=(("R", "CC"),))
    out = tmp_path / "r.pdf"
    assert main(["report", str(tmp_path / "study"), "-o", str(out), "--deidentify",
                 "--db", str(tmp_path / "missing.sqlite3")]) == 1
    err = capsys.readouterr().err
    assert "missing.sqlite3: readings database not found" in err and not out.exists()
    assert folder.images  # the study itself was fine

    not_a_db = tmp_path / "notes.sqlite3"
    not_a_db.write_text("not a database")
    assert main(["report", str(tmp_path / "study"), "-o", str(out), "--deidentify", "--db", str(not_a_db)]) == 1
    assert "notes.sqlite3" in capsys.readouterr().err and not out.exists()
    # Without --deidentify an unusable database is a warning and the report is written.
    assert main(["report", str(tmp_path / "study"), "-o", str(out), "--db", str(not_a_db)]) == 0
    assert "the report has no readings" in capsys.readouterr().err and out.exists()


def test_report_ai_adds_the_classifier_section(tmp_path, capsys, monkeypatch):
    from mammoview.classification import cascade as cascade_module
    from tests.report.test_reading_report import _FakeCascade

    devices = []
    monkeypatch.setattr(cascade_module.Cascade, "load",
                        classmethod(lambda cls, device="auto": devices.append(device) or _FakeCascade()))
    folder = _study_with_reading(tmp_path)
    out = tmp_path / "ai.pdf"
    assert main(["report", str(folder), "-o", str(out), "--views", "original", "--ai", "--device", "cpu"]) == 0
    assert devices == ["cpu"]
    assert "models: classifier-stage1 aaaa11112222" in capsys.readouterr().err
    text = pdf_text(out)
    assert "AI classification (research)" in text and "Malignant 8/10" in text
    assert "classifier-stage2 bbbb33334444" in text and "BI-RADS overall" in text
