"""File > Export report from the window: the saved reading in the PDF, the impression
shared with the reading, the de-identify switch, and no patient name in any message."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog

from mammoview.gui.dialogs.export_report import ExportReportDialog
from tests.report.reading_helpers import IDENTIFYING, pdf_metadata_text, pdf_text, reading_study

WAIT_MS = 60_000
NAME_PARTS = ("Zyxwander", "Quillonette")


@pytest.fixture
def opened(qtbot, window, tmp_path):
    """The window on a four-view DICOM study of a named patient, its reading open."""
    from tests.gui.test_reading_gui import only_original

    only_original(window)  # the enhanced panels are not what these tests are about
    study_dir = tmp_path / "study"
    reading_study(study_dir)
    with qtbot.waitSignal(window.worklist.worklistReady, timeout=WAIT_MS):
        window.open_paths([study_dir])
    qtbot.waitUntil(lambda: window.image is not None and window.reading.session is not None, timeout=WAIT_MS)
    return window


def _answer_dialogs(monkeypatch, target, *, impression=None, deidentify=False, seen=None):
    """Fill the export dialog (recording what it showed) and the file dialog."""

    def exec_(dialog: ExportReportDialog):
        if seen is not None:
            seen.append(dialog.editor.toPlainText())
        if impression is not None:
            dialog.editor.setPlainText(impression)
        dialog.deidentify_box.setChecked(deidentify)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportReportDialog, "exec", exec_)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PDF (*.pdf)"))


@pytest.fixture
def named_mammogram(mias_dir, tmp_path):
    """A real mammogram (MIAS mdb001, right MLO, 0.2 mm) as DICOM of a named patient."""
    from tests.io.dicom_builders import mammo_dataset, mias_12bit, write_dicom
    from tests.reading.helpers import PATIENT_NAME

    folder = tmp_path / "named"
    folder.mkdir()
    ds = mammo_dataset(mias_12bit(mias_dir), laterality="R", view="MLO", patient_name=PATIENT_NAME,
                       pixel_spacing=(0.2, 0.2))
    write_dicom(folder / "rmlo.dcm", ds)
    return folder


def test_ellipse_drawn_and_assessed_in_the_window_is_in_the_pdf(qtbot, window, named_mammogram, tmp_path,
                                                                 monkeypatch):
    from tests.gui.test_reading_gui import choose, drag, only_original, open_study

    only_original(window)
    open_study(qtbot, window, lambda: window.open_paths([named_mammogram]))
    dock = window.reading.panel
    qtbot.keyClick(window, Qt.Key.Key_E)  # the ellipse tool
    drag(qtbot, window.viewer.panel("original"), (400, 300), (520, 460))
    (finding,) = window.reading.reading.findings
    choose(dock.birads["right"], 3)
    choose(dock.birads["overall"], 3)
    choose(dock.density, "B")

    target = tmp_path / "report.pdf"
    seen = []
    _answer_dialogs(monkeypatch, target, impression="Probably benign; short-interval follow-up.", seen=seen)
    with qtbot.waitSignal(window.reportWritten, timeout=WAIT_MS):
        window.choose_export()
    assert seen == [""]  # nothing saved yet
    # The dialog wrote the impression into the reading: the dock shows it, undo knows it.
    assert window.reading.reading.impression == "Probably benign; short-interval follow-up."
    assert dock.impression.toPlainText() == "Probably benign; short-interval follow-up."
    size = finding.size()
    text = pdf_text(target)
    for expected in ("Reader's assessment", "BI-RADS right BI-RADS left BI-RADS overall Breast density 3 - 3 B",
                     "Probably benign; short-interval follow-up.",
                     f"1 mass (ellipse) right MLO {size.long_axis:.1f} x {size.short_axis:.1f} mm rmlo.dcm",
                     "RMLO - reader's marks", "Zyxwander Quillonette", "AI classification (research)"):
        assert expected in text, expected
    _assert_panel_pictures_fill_their_frame(target)

    # The next export starts from the impression as saved, also when typed in the dock.
    window.reading.session.set_impression("Edited in the reading dock.")
    seen.clear()
    _answer_dialogs(monkeypatch, target, seen=seen)
    with qtbot.waitSignal(window.reportWritten, timeout=WAIT_MS):
        window.choose_export()
    assert seen == ["Edited in the reading dock."]
    assert "Edited in the reading dock." in pdf_text(target)


def _assert_panel_pictures_fill_their_frame(path):
    """The window's pictures are grabs of its panels, the image inside a band of the panel's
    black: in the PDF each is cropped to its content, so no side is more than a thin margin."""
    import numpy as np
    from pypdf import PdfReader

    from mammoview.report.framing import content_box

    pages = [p for p in PdfReader(str(path)).pages if "reader's marks" not in p.extract_text()]
    pictures = [np.asarray(im.image.convert("RGB")) for page in pages for im in page.images]
    assert pictures, "no panel picture in the report"
    for rgb in pictures:
        r0, r1, c0, c1 = content_box(rgb)
        rows, cols = rgb.shape[:2]
        assert r1 - r0 >= 0.9 * rows and c1 - c0 >= 0.9 * cols, (rgb.shape, (r0, r1, c0, c1))


def test_deidentified_export_and_messages_carry_no_patient_name(qtbot, opened, tmp_path, monkeypatch, caplog):
    window = opened
    caplog.set_level(logging.DEBUG, logger="mammoview")  # our own logs, all levels
    session = window.reading.session
    session.add_point(session.context_for(window.image), "asymmetry", (5.0, 5.0))
    target = tmp_path / "deid.pdf"
    _answer_dialogs(monkeypatch, target, deidentify=True)
    with qtbot.waitSignal(window.reportWritten, timeout=WAIT_MS):
        window.choose_export()
    text, meta = pdf_text(target), pdf_metadata_text(target)
    for value in IDENTIFYING:
        assert value.lower() not in text.lower() and value.lower() not in meta.lower(), value
    assert "MV-" in text and "asymmetry (point)" in text and "De-identified" in text

    # A report that cannot be written: the message names the file and the reason only.
    failing = tmp_path / "no such folder" / "r.pdf"
    window.export_report_to(failing, deidentify=True)
    qtbot.waitUntil(lambda: "not written" in window.work_label.text(), timeout=WAIT_MS)
    messages = [window.work_label.text(), caplog.text,
                *(f"{source} {reason}" for source, reason in window.problems.problems())]
    assert "r.pdf" in window.work_label.text()
    for part in NAME_PARTS:
        assert all(part.lower() not in m.lower() for m in messages), part



def test_dialog_is_read_only_while_another_window_edits_the_study(qtbot, opened, monkeypatch):
    window = opened
    session = window.reading.session
    session.set_impression("Saved by this window.")
    monkeypatch.setattr(session, "read_only", True)  # as when another MammoView took the lease
    shown = []

    def exec_(dialog):
        shown.append((dialog.editor.toPlainText(), dialog.editor.isReadOnly()))
        dialog.editor.setPlainText("typed anyway")
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(ExportReportDialog, "exec", exec_)
    assert window.reports.ask(window.current_study(), "study") is None
    assert shown == [("Saved by this window.", True)]
    assert session.reading.impression == "Saved by this window."
