"""`mammoview readings export|import`: atomic files, round trip, one-line errors."""

from __future__ import annotations

import pytest

from mammoview.cli import main
from mammoview.reading import ReadingSession, ReadingStore

from tests.reading.helpers import NAME_PARTS, PATIENT_NAME, images_of, only_study, write_dicom_study


@pytest.fixture
def default_store(tmp_path, monkeypatch):
    """Readings in the per-user database (MAMMOVIEW_DATA_DIR), as the window saves them."""
    monkeypatch.setenv("MAMMOVIEW_DATA_DIR", str(tmp_path / "userdata"))
    write_dicom_study(tmp_path / "d", "1.2.826.0.1.3680043.8.498.71")
    study = only_study(tmp_path / "d")
    with ReadingStore() as store, ReadingSession.open(store, study) as s:
        s.add_ellipse(s.context_for(images_of(study)[1]), "mass", (5.0, 6.0), (3.0, 2.0), note="left CC")
        s.set_birads("overall", 3)
        s.set_density("B")
    return tmp_path


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_import_into_another_database_round_trips(default_store, capsys, fmt):
    out = default_store / f"readings.{fmt}"
    assert main(["readings", "export", "--format", fmt, "-o", str(out)]) == 0
    assert "1 studies" in capsys.readouterr().out
    other = default_store / "other.sqlite3"
    assert main(["readings", "import", str(out), "--db", str(other)]) == 0
    assert "imported 1 studies" in capsys.readouterr().out
    again = default_store / f"again.{fmt}"
    assert main(["readings", "export", "-o", str(again), "--db", str(other)]) == 0
    assert again.read_bytes() == out.read_bytes()
    assert [p.name for p in default_store.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_deidentify_switch(default_store, capsys):
    out = default_store / "anon.csv"
    assert main(["readings", "export", "--deidentify", "-o", str(out)]) == 0
    assert "de-identified" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert not any(part in text for part in NAME_PARTS) and "MV-" in text


def test_errors_are_one_line_and_leave_no_file(default_store, capsys):
    bad = default_store / "bad.json"
    bad.write_text('{"format": "mammoview-readings", "format_version": 1, "studies": [{"study_key": "x", '
                   f'"state": "{PATIENT_NAME}"}}]}}', encoding="utf-8")
    assert main(["readings", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mammoview: error: bad.json: study 1: reading state") and err.count("\n") == 1
    assert not any(part in err for part in NAME_PARTS)
    assert main(["readings", "export", "-o", str(default_store / "no" / "such" / "x.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["readings", "export", "-o", str(default_store / "x.txt")]) == 2
    assert main(["readings", "import", str(default_store / "missing.json")]) == 1
    assert "missing.json: file not found" in capsys.readouterr().err
    assert main(["readings", "frobnicate"]) == 2
