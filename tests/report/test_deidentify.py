"""De-identified reports: no patient name, ID or birth date anywhere in the PDF."""

from __future__ import annotations

import numpy as np
import pytest

from mammoview.core.errors import ExportError
from mammoview.core.image import Finding, PatientInfo, StudyInfo
from mammoview.reading import ReadingStore
from mammoview.report.content import AiReport, ReaderFindingRow, ReaderSection, ReportContent, ReportView
from mammoview.report.deidentify import Scrubber, SubjectAlias, deidentify_content
from mammoview.report.pdf import build_report, write_report
from mammoview.report.reading import saved_reading
from tests.report.reading_helpers import (
    IDENTIFYING,
    IMPRESSION,
    make_reading,
    pdf_metadata_text,
    pdf_stream_bytes,
    pdf_text,
    reading_study,
)


@pytest.fixture
def store(tmp_path):
    with ReadingStore(tmp_path / "readings.sqlite3") as s:
        yield s


def _absent(values, haystack: str) -> list[str]:
    return [v for v in values if v.lower() in haystack.lower()]


def test_deidentified_pdf_has_no_name_id_or_birth_date(tmp_path, store):
    study = reading_study(tmp_path / "study")
    make_reading(store, study)
    identity, _ = saved_reading(store, study)
    pseudonym = store.pseudonym(identity.key)

    plain = write_report(tmp_path / "plain.pdf", build_report(study, views=("original",), max_side=160, store=store))
    # The positive control: the same checks find the identifiers in the ordinary report.
    assert set(_absent(IDENTIFYING, pdf_text(plain))) >= {"Zyxwander Quillonette", "MIAS001", "1950-01-01",
                                                          "img0.dcm"}

    content = build_report(study, views=("original", "clahe"), max_side=160, store=store, deidentify=True)
    out = write_report(tmp_path / "deid.pdf", content)
    text, meta = pdf_text(out), pdf_metadata_text(out)
    assert _absent(IDENTIFYING, text) == [] and _absent(IDENTIFYING, meta) == []
    raw = pdf_stream_bytes(out).lower()
    for value in IDENTIFYING:
        assert value.lower().encode() not in raw and value.lower().encode("utf-16-be") not in raw, value
    # What replaces them, and what stays.
    assert pseudonym in text and "De-identified" in text
    # Findings name images by number, not file (spaces dropped: a table cell may wrap).
    assert f"{pseudonym}image1(RCC)" in text.replace(" ", "")
    assert "2024-01-02" in text and IMPRESSION in text and "BI-RADS overall" in text
    assert all(pseudonym in v.page for v in content.views)
    assert content.study.uid == "" and content.study.accession == ""


def test_deidentify_needs_the_database(tmp_path):
    study = reading_study(tmp_path / "study", slots=(("R", "CC"),))
    with pytest.raises(ValueError, match="readings database"):
        build_report(study, views=("original",), deidentify=True)


def test_every_text_field_is_scrubbed_in_any_case():
    patient = PatientInfo(name="Doe^Jane^Q", id="PID-4711", birth_date="19600102")
    alias = SubjectAlias(patient, "MV-0011223344556677", label="Doe Jane Q",
                         image_names={"doe_jane_rcc.dcm": "MV-0011223344556677 image 1 (RCC)"})
    rgb = np.zeros((4, 4, 3), np.uint8)
    content = ReportContent(
        title="Report for DOE JANE", patient=patient, study=StudyInfo(uid="1.2.3", date="20200101"),
        views=[ReportView("doe_jane_rcc.dcm", rgb, caption="PID-4711 born 1960-01-02", page="Doe Jane Q: RCC")],
        settings={"Display": {"note": "jane's window"}},
        findings=[("doe_jane_rcc.dcm", Finding("CIRC", note="seen by Doe"))],
        impression="Compared with Mrs DOE's prior (19600102).",
        warnings=["doe_jane_rcc.dcm: FOR PROCESSING"],
        ai=AiReport(rows=[("doe_jane_rcc.dcm", "0.1", "-", "Normal", "2/10", "-", "-")]),
        readings=[ReaderSection("Doe Jane Q", saved=True, impression="Jane: BI-RADS 2",
                                findings=[ReaderFindingRow("1", "doe_jane_rcc.dcm", "mass", "right CC", "-",
                                                           note="pid-4711 again")])],
    )
    out = deidentify_content(content, [alias])
    flat = repr((out.title, out.patient, out.study, [(v.title, v.caption, v.page) for v in out.views],
                 out.settings, out.findings, out.impression, out.warnings, out.ai.rows, out.readings[0].heading,
                 out.readings[0].impression, out.readings[0].findings)).lower()
    for value in ("doe", "jane", "pid-4711", "19600102", "1960-01-02", "doe_jane_rcc"):
        assert value not in flat, value
    assert out.patient.name == out.patient.id == "MV-0011223344556677" and out.patient.birth_date == ""
    assert out.views[0].title == "MV-0011223344556677 image 1 (RCC)"
    assert "[removed]" in out.impression and out.deidentified
    assert content.patient.name == "Doe^Jane^Q"  # the input is left as it was


def test_short_numeric_ids_are_replaced_in_the_header_but_do_not_eat_numbers():
    scrub = Scrubber([SubjectAlias(PatientInfo(name="", id="3"), "MV-x")])
    assert scrub("BI-RADS 3, 3 findings") == "BI-RADS 3, 3 findings"
    out = deidentify_content(ReportContent(patient=PatientInfo(id="3")), [SubjectAlias(PatientInfo(id="3"), "MV-x")])
    assert out.patient.id == "MV-x"


def test_layout_failure_message_quotes_no_report_text(tmp_path, monkeypatch):
    from reportlab.platypus.doctemplate import LayoutError

    from mammoview.report import pdf

    def fail(content):
        raise LayoutError("Flowable <Paragraph 'Zyxwander Quillonette'> too large on page 1")

    monkeypatch.setattr(pdf, "render_pdf_bytes", fail)
    with pytest.raises(ExportError) as info:
        write_report(tmp_path / "r.pdf", ReportContent())
    assert "r.pdf" in str(info.value) and "LayoutError" in str(info.value)
    assert "Zyxwander" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
