"""File > Export report: the dialog, and the work around it.

The dialog shows the study's impression *as saved in its reading* and writes an edit
back to the reading (through the open reading session), so the report and the reading
never disagree; a "De-identify" switch replaces the patient's name, ID and birth date
(and the file names) by the study pseudonym everywhere in the PDF.

:class:`ReportExport` does the rest off the UI thread: it reads the study's saved
reading from the database, adds the reader's assessment and numbered findings to the
report content the window built, draws the reader's marks on the images that carry
them (a page of their own), de-identifies on request and writes the PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
)

from mammoview.core.image import Image
from mammoview.core.study import Study

DEIDENTIFY_TEXT = "De-identify: replace patient name, ID, birth date and file names by the study pseudonym"


class ExportReportDialog(QDialog):
    """The impression (from and to the study's reading) and the de-identify switch.

    Parameters
    ----------
    study_text : str
        How the study is named in the window.
    impression : str
        The impression saved in the study's reading.
    editable : bool
        False when the reading cannot be written from here (``reason`` says why): the
        box then shows the saved text, read-only.
    """

    def __init__(self, study_text: str, parent=None, *, impression: str = "", editable: bool = True,
                 reason: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.resize(500, 340)
        self._saved = impression
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Report for: {study_text}"))
        layout.addWidget(QLabel("Impression (saved in the study's reading, printed as typed):"))
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("reportImpression")
        self.editor.setPlaceholderText("e.g. No suspicious findings. BI-RADS 1.")
        self.editor.setPlainText(impression)
        self.editor.setReadOnly(not editable)
        layout.addWidget(self.editor)
        if reason:
            why = QLabel(reason)
            why.setWordWrap(True)
            why.setObjectName("reportImpressionNote")
            layout.addWidget(why)
        self.deidentify_box = QCheckBox(DEIDENTIFY_TEXT)
        self.deidentify_box.setObjectName("reportDeidentify")
        layout.addWidget(self.deidentify_box)
        note = QLabel("The report shows the views as displayed and the reading as saved (findings, "
                      "BI-RADS, density). Research use only, not for diagnosis.")
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Choose file…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def impression(self) -> str:
        return self.editor.toPlainText().strip()

    def impression_changed(self) -> bool:
        return not self.editor.isReadOnly() and self.impression() != self._saved.strip()

    def deidentify(self) -> bool:
        return self.deidentify_box.isChecked()


# The old name, for callers written before the reading existed.
ImpressionDialog = ExportReportDialog


@dataclass(frozen=True)
class ExportChoice:
    """What the user chose in the dialog."""

    deidentify: bool


class ReportExport:
    """The window's report export: dialog, saved reading, marks page, de-identification.

    ``window`` gives ``worklist`` (:class:`~mammoview.gui.worklistcontrol.WorklistController`:
    the database and the study identities), ``image_cache`` and ``viewer``; when it has a
    reading controller (``window.reading``) whose session is on the study, the impression
    is written through that session (its undo history and dock stay in step).
    """

    def __init__(self, window) -> None:
        self.window = window

    # ------------------------------------------------------------------ dialog
    def ask(self, study: Study, study_text: str) -> ExportChoice | None:
        """Show the dialog; save an edited impression; None when cancelled."""
        self._flush_reading_dock()
        impression, editable, reason = self._saved_impression(study)
        dialog = ExportReportDialog(study_text, self.window, impression=impression, editable=editable,
                                    reason=reason)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        if dialog.impression_changed():
            problem = self.save_impression(study, dialog.impression())
            if problem:
                self.window.problems.add_problem("reading", f"impression not saved: {problem}")
        return ExportChoice(deidentify=dialog.deidentify())

    def _flush_reading_dock(self) -> None:
        """Typing still waiting in the reading dock is saved before the report reads it."""
        control = getattr(self.window, "reading", None)
        flush = getattr(control, "flush", None)
        if callable(flush):
            flush()

    def _saved_impression(self, study: Study) -> tuple[str, bool, str]:
        from mammoview.reading.errors import ReadingError

        try:
            identity, reading = self.window.worklist.saved_reading(study)
        except (ReadingError, OSError) as err:
            text = str(err) if isinstance(err, ReadingError) else (err.strerror or type(err).__name__)
            return "", False, f"The reading cannot be read ({text}); the report has no reading."
        impression = reading.impression if reading else ""
        session = self._session_for(identity.key)
        if session is not None and session.read_only:
            return impression, False, ("Read-only: another MammoView is editing this study; its saved "
                                       "impression is printed.")
        return impression, True, ""

    def _session_for(self, key: str):
        """The window's open reading session on this study, when there is one."""
        control = getattr(self.window, "reading", None)
        session = getattr(control, "session", None)
        if session is not None and getattr(session, "study_key", None) == key:
            return session
        return None

    def save_impression(self, study: Study, text: str) -> str:
        """Write ``text`` as the study's impression; "" on success, else why not."""
        from mammoview.reading.errors import ReadingError
        from mammoview.reading.session import ReadingSession

        try:
            identity, _reading = self.window.worklist.saved_reading(study)
            session = self._session_for(identity.key)
            if session is not None:
                session.set_impression(text)
            else:
                store = self.window.worklist.ensure_store()
                own = ReadingSession.open(store, study, identity=identity, allow_read_only=False)
                try:
                    own.set_impression(text)
                finally:
                    own.close()
        except ReadingError as err:
            return str(err)
        except OSError as err:
            return f"cannot read the study's files ({err.strerror or type(err).__name__})"
        self.window.worklist.refresh_states()
        return ""

    # ------------------------------------------------------------------ the PDF
    def job(self, path: str | Path, content, study: Study, *, deidentify: bool = False):
        """A worker job writing ``content`` plus the saved reading to ``path``."""
        from mammoview.core.errors import ExportError
        from mammoview.gui.panels.study_browser import study_title
        from mammoview.io.loader import load_image
        from mammoview.reading.errors import ReadingError
        from mammoview.report.deidentify import deidentify_content, study_alias
        from mammoview.report.pdf import REPORT_MAX_SIDE, write_report
        from mammoview.report.reading import attach_reading

        worklist = self.window.worklist
        images = self._cached_images(study)
        voi = self.window.viewer.voi()
        invert = self.window.act_invert.isChecked()
        heading = study_title(study)

        def run(ctx):
            try:
                identity, reading = worklist.saved_reading(study)
                store = worklist.ensure_store()
            except (ReadingError, OSError) as err:
                if deidentify:  # no pseudonym without the database: never write it identified
                    raise ExportError(f"{Path(path).name}: not de-identified, so not written "
                                      f"(readings database: {_why(err)})") from None
                content.warnings.append(f"reading not included ({_why(err)})")
                identity = reading = store = None
            ctx.check()
            result = content
            if identity is not None:
                result = attach_reading(result, study, identity, reading, heading=heading,
                                        image_for=lambda ref: images.get(ref.uid) or load_image(ref),
                                        max_side=REPORT_MAX_SIDE, voi=voi, invert=invert)
            ctx.check()
            if deidentify:
                result = deidentify_content(result, [study_alias(study, store.pseudonym(identity.key))])
            return write_report(path, result)

        return run

    def _cached_images(self, study: Study) -> dict[str, Image]:
        """The study's images already decoded (by uid); the others load on the worker."""
        from mammoview.gui.viewer.prepare import PreparedImage

        found = {}
        for ref in study.images:
            cached = self.window.image_cache.get(("image", ref.uid))
            image = cached.image if isinstance(cached, PreparedImage) else cached
            if isinstance(image, Image):
                found[ref.uid] = image
        return found


def _why(err: Exception) -> str:
    if isinstance(err, OSError):
        return err.strerror or type(err).__name__
    return str(err)
