"""JSON/CSV export and import round-trip exactly; de-identification; no names in messages."""

from __future__ import annotations

import csv
import io
import json
import logging

import pytest

from mammoview.reading import ImportFileError, ReadingError, ReadingSession, ReadingStore, StudyLockedError
from mammoview.reading.exchange import export_csv, export_json, export_readings, import_readings

from tests.reading.helpers import NAME_PARTS, PATIENT_NAME, images_of, only_study, write_dicom_study


@pytest.fixture
def filled(tmp_path, db_path):
    """A database with two DICOM studies read, one with every kind of mark."""
    store = ReadingStore(db_path)
    studies = []
    for n in range(2):
        write_dicom_study(tmp_path / f"dicom{n}", f"1.2.826.0.1.3680043.8.498.{500 + n}", seed=n)
        studies.append(only_study(tmp_path / f"dicom{n}"))
    with ReadingSession.open(store, studies[0]) as s:
        ctx = s.context_for(images_of(studies[0])[0])
        s.add_point(ctx, "calcification cluster", (1.5, 2.25), note='comma, "quote"\nnew line; é')
        s.add_ellipse(ctx, "mass", (10.0, 11.0), (4.0, 2.5), angle_deg=33.3)
        s.add_outline(ctx, "architectural distortion", [(0.1, 0.2), (5.0, 0.3), (4.4, 6.6)])
        s.add_ruler(ctx, (0.0, 0.0), (7.0, 1.0 / 3.0))
        s.set_birads("right", 4)
        s.set_birads("overall", 4)
        s.set_density("D")
        s.set_impression("Mass, right breast.")
        s.mark_read()
    with ReadingSession.open(store, studies[1]) as s:
        s.set_birads("overall", 1)  # no marks at all: must survive the CSV too
    return store, studies


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_import_export_gives_identical_bytes(tmp_path, filled, fmt):
    store, _ = filled
    first = tmp_path / f"first.{fmt}"
    assert export_readings(store, first) == 2
    fresh = ReadingStore(tmp_path / "fresh.sqlite3")
    result = import_readings(fresh, first)
    assert len(result.imported) == 2 and not result.skipped
    second = tmp_path / f"second.{fmt}"
    export_readings(fresh, second)
    assert first.read_bytes() == second.read_bytes()
    assert fresh.load_all() == store.load_all()
    assert PATIENT_NAME in first.read_text(encoding="utf-8")  # not de-identified unless asked


def test_csv_has_one_row_per_finding_with_sizes(filled):
    store, _ = filled
    lines = export_csv(store).splitlines()
    records = [line.split(",", 1)[0] for line in lines[1:] if line[:1].isalpha()]
    assert records.count("finding") == 3 and records.count("ruler") == 1 and records.count("study") == 1
    assert "mm" in lines[2]


def test_deidentified_export_has_no_patient_identity_and_stable_pseudonyms(tmp_path, filled):
    store, studies = filled
    text = export_json(store, deidentify=True)
    for part in (*NAME_PARTS, "MIAS001", "19500101", "1.2.826.0.1.3680043.8.498.50"):
        assert part not in text
    assert text == export_json(store, deidentify=True)  # stable
    doc = json.loads(text)
    assert doc["deidentified"] is True
    pseudonyms = [s["subject"]["patient_id"] for s in doc["studies"]]
    assert all(p.startswith("MV-") for p in pseudonyms) and len(set(pseudonyms)) == 2
    assert {s["study_key"] for s in doc["studies"]} == {f"pseudo:{p}" for p in pseudonyms}
    csv_text = export_csv(store, deidentify=True)
    assert not any(part in csv_text for part in NAME_PARTS)
    # Another database has another secret: pseudonyms cannot be linked across sites.
    other = ReadingStore(tmp_path / "other.sqlite3")
    assert other.pseudonym(studies[0].uid) != store.pseudonym(studies[0].uid)
    # A de-identified export imports and exports again unchanged.
    path = tmp_path / "deid.json"
    export_readings(store, path, deidentify=True)
    import_readings(other, path)
    again = tmp_path / "again.json"
    export_readings(other, again, deidentify=True)
    assert again.read_bytes() == path.read_bytes()


def test_import_keeps_a_different_saved_reading_unless_replace(tmp_path, filled):
    store, studies = filled
    path = tmp_path / "all.json"
    export_readings(store, path)
    assert sorted(import_readings(store, path).unchanged) == sorted(r.study_key for r in store.load_all())
    with ReadingSession.open(store, studies[1]) as s:
        s.set_birads("overall", 2)
    result = import_readings(store, path)
    assert result.imported == [] and len(result.skipped) == 1 and "replace" in result.skipped[0][1]
    assert import_readings(store, path, replace_existing=True).imported == [f"dicom:{studies[1].uid}"]
    assert store.load(f"dicom:{studies[1].uid}").birads_overall == 1


def test_import_never_overwrites_a_study_open_elsewhere(tmp_path, filled, db_path):
    store, studies = filled
    path = tmp_path / "all.json"
    export_readings(store, path)
    editor = ReadingSession.open(ReadingStore(db_path), studies[1])  # another process holds it
    editor.set_birads("overall", 3)
    result = import_readings(store, path, replace_existing=True)
    assert [why for _, why in result.skipped] == [f"open for editing in MammoView process {editor.store.pid}"]


BAD_JSON = [
    ("{not json", "not valid JSON"),
    ('{"format": "other"}', "not a MammoView readings export"),
    ('{"format": "mammoview-readings", "format_version": 9, "studies": []}', "version 9"),
]


def _bad_study(**changes) -> str:
    study = {
        "study_key": "dicom:1.2", "state": "read", "birads_overall": 2, "density": None, "impression": "",
        "subject": {"patient_name": PATIENT_NAME, "patient_id": "ID-" + PATIENT_NAME, "patient_birth_date": "",
                    "study_uid": "", "study_date": "", "label": PATIENT_NAME},
        "findings": [], "measurements": [],
    }
    study.update(changes)
    return json.dumps({"format": "mammoview-readings", "format_version": 1, "studies": [study]})


BAD_JSON += [
    (_bad_study(birads_overall=PATIENT_NAME), "birads_overall must be 0-6"),
    (_bad_study(birads_overall=9), "0-6"),
    (_bad_study(state=PATIENT_NAME), "reading state"),
    (_bad_study(density=PATIENT_NAME), "density"),
    (_bad_study(findings=[{"id": "a", "image_key": "k", "type": PATIENT_NAME, "shape": "point",
                           "points": [[1, 2]]}]), "finding type"),
    (_bad_study(findings=[{"id": "a", "image_key": "k", "type": "mass", "shape": PATIENT_NAME,
                           "points": [[1, 2]]}]), "shape"),
    (_bad_study(findings=[{"id": "a", "image_key": "k", "type": "mass", "shape": "point",
                           "points": [[PATIENT_NAME, 2]]}]), "must be a number"),
    (_bad_study(measurements=[{"id": "m", "image_key": "k", "start": [0, 0], "end": PATIENT_NAME}]), "end"),
    (_bad_study(study_key=""), "study_key is empty"),
]


@pytest.mark.parametrize("text, reason", BAD_JSON)
def test_bad_import_files_fail_in_one_line_without_the_patient_name(tmp_path, store, caplog, text, reason):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ImportFileError) as info:
            import_readings(store, path)
    message = str(info.value)
    assert reason in message and message.startswith("bad.json: ") and "\n" not in message
    assert not any(part in message for part in NAME_PARTS)
    assert not any(part in caplog.text for part in NAME_PARTS)
    assert store.load_all() == []  # all or nothing


def test_bad_csv_rows_name_their_line_not_the_patient(tmp_path, filled):
    store, _ = filled
    rows = list(csv.reader(io.StringIO(export_csv(store))))
    fresh = ReadingStore(tmp_path / "fresh.sqlite3")
    path = tmp_path / "bad.csv"
    for shift in range(1, 8):
        # Shift a row's cells so the patient's name lands in another column.
        shifted = rows[2][:1] + [PATIENT_NAME] * shift + rows[2][1:-shift]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([rows[0], shifted])
        path.write_text(out.getvalue(), encoding="utf-8")
        with pytest.raises(ImportFileError) as info:
            import_readings(fresh, path)
        assert "line 2" in str(info.value) and not any(p in str(info.value) for p in NAME_PARTS)
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="header row differs"):
        import_readings(fresh, path)
    assert fresh.load_all() == []


def test_no_message_from_bad_edits_or_locks_names_the_patient(tmp_path, db_path, caplog):
    write_dicom_study(tmp_path / "d", "1.2.826.0.1.3680043.8.498.900")
    study = only_study(tmp_path / "d")
    assert study.patient_name == PATIENT_NAME
    messages = []
    with caplog.at_level(logging.DEBUG):
        first = ReadingSession.open(ReadingStore(db_path), study)
        ctx = first.context_for(images_of(study)[0])
        attempts = [
            lambda: first.set_birads("overall", PATIENT_NAME),
            lambda: first.set_density(PATIENT_NAME),
            lambda: first.set_impression(PATIENT_NAME * 2000),
            lambda: first.add_point(ctx, PATIENT_NAME, (1.0, 1.0)),
            lambda: first.add_point(ctx, "mass", (PATIENT_NAME, 1.0)),
            lambda: first.update_finding("nope", note=PATIENT_NAME),
            lambda: first.mark_read(),
            lambda: ReadingSession.open(ReadingStore(db_path), study, allow_read_only=False),
        ]
        for attempt in attempts:
            with pytest.raises(ReadingError) as info:
                attempt()
            messages.append(str(info.value))
        second = ReadingSession.open(ReadingStore(db_path), study)
        with pytest.raises(StudyLockedError) as info:
            second.set_birads("overall", 1)
        messages.append(str(info.value))
    assert len(messages) == 9
    for message in messages + [caplog.text]:
        assert not any(part in message for part in NAME_PARTS), message
