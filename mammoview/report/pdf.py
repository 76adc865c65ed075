"""The PDF report: patient header, the views as displayed, settings, findings, impression.

No Qt: it runs headless from the command line too. :func:`build_report` turns studies or
images into a :class:`~mammoview.report.content.ReportContent`; :func:`write_report`
lays it out with reportlab and writes it atomically.

Every page carries the research notice, "Page N of M" and the MammoView version; a
synthetic study carries a "SYNTHETIC DEMO DATA" banner on every page.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)

from mammoview import RESEARCH_NOTICE
from mammoview.core.errors import ExportError, MammoViewError
from mammoview.core.image import Finding, Image, ImageRef, PatientInfo, StudyInfo
from mammoview.core.progress import Progress
from mammoview.core.study import SLOT_ORDER, Study
from mammoview.io.atomic import atomic_write
from mammoview.reading.store import ReadingStore
from mammoview.report.ai import AiCollector
from mammoview.report.content import ReaderSection, ReportContent, ReportView, models_text
from mammoview.report.deidentify import SubjectAlias, aliases_for, deidentify_content
from mammoview.report.framing import fit_to_content
from mammoview.report.reading import image_names_of, numbered_marks, reader_section, saved_reading

SYNTHETIC_BANNER = "SYNTHETIC DEMO DATA"
DEFAULT_VIEWS = ("original", "wavelet", "clahe", "superres")

_PAGE = A4
_MARGIN = 15 * mm
_FOOTER_H = 10 * mm
_BANNER_H = 8 * mm
# Pictures are drawn at most this size in the PDF; 900 px over ~9 cm is ~250 dpi,
# plenty for print while keeping a 16-picture report to a few MB.
REPORT_MAX_SIDE = 900
JPEG_QUALITY = 92


# --------------------------------------------------------------------------- writing


def write_report(path: str | Path, content: ReportContent) -> Path:
    """Write ``content`` as a PDF at ``path``, atomically.

    The whole PDF is built in memory first and then written through
    :func:`mammoview.io.atomic.atomic_write`, so the target only ever holds a complete
    report: after a failure there is no half file and an existing target is untouched.

    Parameters
    ----------
    path : str or Path
        The PDF to create or replace; its folder must exist.
    content : ReportContent

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ExportError
        Naming the file and the reason (unwritable folder, disk full, layout failure).
    """
    target = Path(path)
    try:
        data = render_pdf_bytes(content)
    except MammoViewError:
        raise
    except Exception as err:  # reportlab raises a range of types for layout problems
        # Not str(err): reportlab quotes the offending paragraph, which can hold a
        # patient's name, and this message reaches logs and the status bar.
        raise ExportError(f"{target.name}: could not lay out the report "
                          f"({type(err).__name__}: a table or picture does not fit the page)") from None
    try:
        with atomic_write(target, "wb") as fh:
            # Write in pieces: a full disk shows up part-way, inside the atomic block.
            view = memoryview(data)
            for start in range(0, len(view), 1 << 20):
                fh.write(view[start : start + (1 << 20)])
    except OSError as err:
        reason = err.strerror or str(err)
        raise ExportError(f"{target.name}: cannot write the report ({reason})") from err
    return target


def render_pdf_bytes(content: ReportContent) -> bytes:
    """Lay out ``content`` and return the finished PDF file as bytes."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=_PAGE,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN + (_BANNER_H + 2 * mm if content.synthetic else 0),
        bottomMargin=_MARGIN + _FOOTER_H,
        title=content.title,
        author=f"MammoView {content.app_version}",
        subject=RESEARCH_NOTICE,
        creator=f"MammoView {content.app_version}",
    )
    story = _story(content, doc.width, doc.height)

    def canvas_factory(*args: Any, **kwargs: Any) -> Canvas:
        return _FooterCanvas(*args, content=content, **kwargs)

    # Binary streams: ASCII85 text encoding would add a quarter to every picture.
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        doc.build(story, canvasmaker=canvas_factory)
    finally:
        rl_config.useA85 = saved
    return buf.getvalue()


class _FooterCanvas(Canvas):
    """A canvas that holds pages back until the end so each can say "Page N of M".

    reportlab writes a page as soon as it is finished, before the page count is known;
    keeping each page's drawing state and replaying it at ``save`` lets the footer
    carry the total.
    """

    def __init__(self, *args: Any, content: ReportContent, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._content = content
        self._held_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, start=1):
            self.__dict__.update(state)
            self._draw_furniture(number, total)
            super().showPage()
        super().save()

    def _draw_furniture(self, number: int, total: int) -> None:
        width, height = self._pagesize
        self.saveState()
        self.setStrokeColor(colors.grey)
        self.setLineWidth(0.5)
        y = _MARGIN
        self.line(_MARGIN, y + 4 * mm, width - _MARGIN, y + 4 * mm)
        self.setFont(FONT_BOLD, 8)
        self.setFillColor(colors.black)
        self.drawString(_MARGIN, y, RESEARCH_NOTICE)
        self.setFont(FONT, 8)
        self.drawCentredString(width / 2, y, f"MammoView {self._content.app_version}")
        self.drawRightString(width - _MARGIN, y, f"Page {number} of {total}")
        if self._content.synthetic:
            top = height - _MARGIN - _BANNER_H
            self.setFillColor(colors.HexColor("#b00020"))
            self.rect(_MARGIN, top, width - 2 * _MARGIN, _BANNER_H, stroke=0, fill=1)
            self.setFillColor(colors.white)
            self.setFont(FONT_BOLD, 11)
            self.drawCentredString(
                width / 2, top + 2.6 * mm, f"{SYNTHETIC_BANNER} - not patient images"
            )
        self.restoreState()


# --------------------------------------------------------------------------- layout

# Fonts that cover accented and Vietnamese names as DICOM carries them (ISO_IR 192);
# searched in the project's resources first, then where common systems keep them. The
# built-in Helvetica (Latin-1 only) is the fallback.
_FONT_CANDIDATES = (
    ("resources/fonts/DejaVuSans.ttf", "resources/fonts/DejaVuSans-Bold.ttf"),
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    ("/Library/Fonts/Arial Unicode.ttf", "/Library/Fonts/Arial Unicode.ttf"),
    ("C:/Windows/Fonts/arial.ttf", "C:/Windows/Fonts/arialbd.ttf"),
)


def _register_fonts() -> tuple[str, str]:
    """(regular, bold) font names for the report: a Unicode TTF if one is found."""
    root = Path(__file__).resolve().parents[2]
    for regular, bold in _FONT_CANDIDATES:
        paths = [Path(regular), Path(bold)]
        paths = [p if p.is_absolute() else root / p for p in paths]
        if all(p.is_file() for p in paths):
            try:
                pdfmetrics.registerFont(TTFont("MV-Regular", str(paths[0])))
                pdfmetrics.registerFont(TTFont("MV-Bold", str(paths[1])))
            except Exception:  # a damaged font file: try the next one
                continue
            return "MV-Regular", "MV-Bold"
    return "Helvetica", "Helvetica-Bold"


FONT, FONT_BOLD = _register_fonts()

_STYLES = getSampleStyleSheet()
_TITLE = ParagraphStyle(
    "mvTitle", parent=_STYLES["Title"], fontName=FONT_BOLD, fontSize=16, spaceAfter=2 * mm
)
_H2 = ParagraphStyle(
    "mvH2", parent=_STYLES["Heading2"], fontName=FONT_BOLD, fontSize=12, spaceBefore=4 * mm
)
_BODY = ParagraphStyle("mvBody", parent=_STYLES["BodyText"], fontName=FONT, fontSize=9, leading=11.5)
_SMALL = ParagraphStyle("mvSmall", parent=_BODY, fontSize=7.5, leading=9)
_CAPTION = ParagraphStyle("mvCaption", parent=_SMALL, alignment=1)
_VIEW_TITLE = ParagraphStyle("mvViewTitle", parent=_BODY, fontName=FONT_BOLD, alignment=1)
_WARN = ParagraphStyle("mvWarn", parent=_BODY, textColor=colors.HexColor("#8a4b00"))

_GRID_FONT_SIZE = 8
_GRID_PADDING = 3
_GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTSIZE", (0, 0), (-1, -1), _GRID_FONT_SIZE),
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
        ("LEFTPADDING", (0, 0), (-1, -1), _GRID_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), _GRID_PADDING),
    ]
)


def header_width(text: str) -> float:
    """Points a header cell needs: its bold text on one line plus the cell's padding."""
    return pdfmetrics.stringWidth(text, FONT_BOLD, _GRID_FONT_SIZE) + 2 * _GRID_PADDING + 1


def column_widths(header: Sequence[str], fractions: Sequence[float], width: float) -> list[float]:
    """Column widths near ``fractions`` of ``width`` in which every header fits on one line.

    A plain-string header cell does not wrap: one wider than its column ran into the next
    ("p(malignant)" over "Call"). A column too narrow for its header gets what the header
    needs; the columns with room to spare give it up in proportion to that room, so the
    table keeps its width. Only if the headers cannot all fit is the width shared in
    proportion to their needs.
    """
    needed = [header_width(h) for h in header]
    widths = [f * width for f in fractions]
    short = sum(max(0.0, n - w) for n, w in zip(needed, widths))
    if short == 0:
        return widths
    spare = sum(max(0.0, w - n) for n, w in zip(needed, widths))
    if short > spare:
        return [n * width / sum(needed) for n in needed]
    return [n if w < n else w - (w - n) * short / spare for n, w in zip(needed, widths)]


def _grid(rows: list[list[Any]], fractions: Sequence[float], width: float) -> Table:
    """A table in the report's grid style; row 0 is the header (strings), repeated on
    every page the table spans."""
    table = Table(rows, colWidths=column_widths(rows[0], fractions, width), repeatRows=1)
    table.setStyle(_GRID)
    return table


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    """A paragraph of user text: escaped, line breaks kept."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def format_date(value: str) -> str:
    """DICOM ``YYYYMMDD`` as ``YYYY-MM-DD``; anything else as given, "-" when empty."""
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value or "-"


def _story(content: ReportContent, width: float, height: float) -> list[Flowable]:
    story: list[Flowable] = [Paragraph(escape(content.title), _TITLE)]
    story.append(
        _p(
            f"Generated {content.generated:%Y-%m-%d %H:%M} by MammoView {content.app_version}. "
            f"{RESEARCH_NOTICE}",
            _SMALL,
        )
    )
    if content.synthetic:
        story.append(
            _p(
                f"{SYNTHETIC_BANNER}: the images below are synthetic phantoms, not patient data.",
                _WARN,
            )
        )
    story += _header_section(content, width)
    for section in content.readings:
        story += _reader_section(section, width, several=len(content.readings) > 1)
    story += _impression_section(content)
    story += _findings_section(content, width)
    story += _ai_section(content, width)
    story += _warnings_section(content)
    story += _settings_section(content, width)
    for heading, views in content.pages():
        story.append(PageBreak())
        story += _views_page(heading, views, width, height)
    return story


def _header_section(content: ReportContent, width: float) -> list[Flowable]:
    if content.deidentified:
        return _pseudonym_header(content, width)
    rows: list[list[Any]] = [
        ["Patient name", "Patient ID", "Birth date", "Study date", "Description", "Institution"]
    ]
    for patient, study in content.all_studies:
        rows.append(
            [
                _p(patient.name.replace("^", " ").strip() or "-", _SMALL),
                _p(patient.id or "-", _SMALL),
                format_date(patient.birth_date),
                format_date(study.date),
                _p(study.description or "-", _SMALL),
                _p(study.institution or "-", _SMALL),
            ]
        )
    table = _grid(rows, (0.22, 0.13, 0.11, 0.11, 0.23, 0.20), width)
    title = "Patient and study" if len(rows) == 2 else f"Patients and studies ({len(rows) - 1})"
    return [Paragraph(title, _H2), table]


def _pseudonym_header(content: ReportContent, width: float) -> list[Flowable]:
    rows: list[list[Any]] = [["Study pseudonym", "Study date", "Description", "Institution"]]
    for patient, study in content.all_studies:
        rows.append([_p(patient.id or "-", _SMALL), format_date(study.date),
                     _p(study.description or "-", _SMALL), _p(study.institution or "-", _SMALL)])
    table = _grid(rows, (0.30, 0.14, 0.30, 0.26), width)
    note = _p("De-identified: patient name, ID and birth date are replaced by the study "
              "pseudonym; file names by image numbers.", _SMALL)
    title = "Study" if len(rows) == 2 else f"Studies ({len(rows) - 1})"
    return [Paragraph(title, _H2), table, note]


def _impression_section(content: ReportContent) -> list[Flowable]:
    text = content.impression.strip()
    if not text and any(r.saved for r in content.readings):
        return []  # the reader's impression is in the reading's section
    body = _p(text) if text else _p("No impression entered.", _SMALL)
    return [Paragraph("Impression", _H2), body]


def _birads(value: int | None) -> str:
    return "-" if value is None else str(value)


def _reader_section(section: ReaderSection, width: float, *, several: bool) -> list[Flowable]:
    """The reader's saved assessment, impression and numbered findings for one study."""
    title = "Reader's assessment" + (f": {section.heading}" if several else "")
    out: list[Flowable] = [Paragraph(escape(title), _H2)]
    if not section.saved:
        out.append(_p("No reading saved for this study.", _SMALL))
        return out
    who = f"state {section.state}"
    if section.reader:
        who += f", reader {section.reader}"
    if section.updated:
        who += f", last saved {section.updated}"
    out.append(_p(who, _SMALL))
    table = _grid([["BI-RADS right", "BI-RADS left", "BI-RADS overall", "Breast density"],
                   [_birads(section.birads_right), _birads(section.birads_left),
                    _birads(section.birads_overall), section.density or "-"]],
                  (0.25,) * 4, width)
    out.append(table)
    out.append(Paragraph("<b>Impression:</b> " + (escape(section.impression.strip()).replace("\n", "<br/>")
                                                  or "none entered"), _BODY))
    marks = section.findings + section.rulers
    if not marks:
        out.append(_p("The reader marked no findings.", _SMALL))
        return out
    rows: list[list[Any]] = [["#", "Finding", "Side / view", "Size", "Image", "Note"]]
    for mark in marks:
        size = mark.size + (f" ({mark.warning})" if mark.warning else "")
        rows.append([mark.number, _p(mark.kind, _SMALL), _p(mark.side_view, _SMALL), _p(size, _SMALL),
                     _p(mark.image, _SMALL), _p(mark.note or "-", _SMALL)])
    out.append(_grid(rows, (0.05, 0.21, 0.12, 0.16, 0.24, 0.22), width))
    return out


def _findings_section(content: ReportContent, width: float) -> list[Flowable]:
    out: list[Flowable] = [Paragraph("Findings from the data (ground truth)", _H2)]
    if not content.findings:
        out.append(_p("No findings recorded for these images.", _SMALL))
        return out
    rows: list[list[Any]] = [
        ["Image", "Finding", "Severity", "Location (row, col)", "Radius", "Source"]
    ]
    for image_name, finding in content.findings:
        rows.append(
            [
                _p(image_name, _SMALL),
                _p(_finding_kind(finding), _SMALL),
                finding.severity or "-",
                _location(finding),
                f"{finding.radius:.0f} px" if finding.radius else "-",
                _p(finding.source, _SMALL),
            ]
        )
    return [*out, _grid(rows, (0.17, 0.25, 0.11, 0.22, 0.09, 0.16), width)]


def _finding_kind(finding: Finding) -> str:
    if finding.kind == "NORM":
        return "normal (NORM)"
    # describe() without the severity and location, which have their own columns.
    kind_only = Finding(kind=finding.kind).describe()
    return f"{kind_only} ({finding.kind})" if kind_only.upper() != finding.kind else kind_only


def _location(finding: Finding) -> Any:
    if finding.has_location:
        return f"({finding.row:.0f}, {finding.col:.0f})"
    return _p(finding.note or "not given", _SMALL)


def _ai_section(content: ReportContent, width: float) -> list[Flowable]:
    """Predictions per image and aggregate, ground truth beside them, model versions."""
    ai = content.ai
    if ai is None:
        return []
    out: list[Flowable] = [Paragraph("AI classification (research)", _H2),
                           Paragraph(f"<b>{escape(RESEARCH_NOTICE)}</b> Two-stage ResNet cascade: stage 1 "
                              "normal vs abnormal, stage 2 benign vs malignant; suspicion 1-10 is "
                              "not a BI-RADS category.", _SMALL)]
    if ai.disabled:
        out.append(_p(f"AI disabled: {ai.disabled}", _WARN))
        return out
    rows: list[list[Any]] = [["Image", "p(abnormal)", "p(malignant)", "Call", "Suspicion",
                              "Ground truth", "Models"]]
    for row in ai.rows:
        rows.append([_p(str(cell), _SMALL) for cell in row])
    # Column widths follow the headers (see column_widths): the probability columns are
    # as wide as "p(malignant)" needs, the call and model versions wrap in what is left.
    out.append(_grid(rows, (0.15, 0.11, 0.11, 0.17, 0.09, 0.12, 0.25), width))
    for scope, text in ai.aggregates:
        out.append(Paragraph(f"<b>{escape(scope)}:</b> {escape(text)}", _SMALL))
    if ai.explanations:
        out.append(Paragraph("<b>Explanations shown in the pictures:</b>", _SMALL))
        for layer, setting, status in ai.explanations:
            extra = f" ({escape(setting)})" if setting else ""
            out.append(Paragraph(f"- {escape(layer)}{extra}: {escape(status)}", _SMALL))
    versions = models_text(ai.versions, ai.thresholds)
    out.append(Paragraph(f"Model versions: {escape(versions)}"
                  + (f" · device {escape(ai.device)}" if ai.device else ""), _SMALL))
    return out


def _warnings_section(content: ReportContent) -> list[Flowable]:
    if not content.warnings:
        return []
    out: list[Flowable] = [Paragraph("Warnings", _H2)]
    out += [_p(f"- {w}", _WARN) for w in content.warnings]
    return out


def _settings_section(content: ReportContent, width: float) -> list[Flowable]:
    if not content.settings:
        return []
    rows: list[list[Any]] = [["View", "Settings"]]
    for name, params in content.settings.items():
        text = ", ".join(f"{k} = {v}" for k, v in params.items()) if params else "none"
        rows.append([_p(name, _SMALL), _p(text, _SMALL)])
    table = _grid(rows, (0.25, 0.75), width)
    return [KeepTogether([Paragraph("Enhancement settings", _H2), table])]


def _views_page(
    heading: str, views: list[ReportView], width: float, height: float
) -> list[Flowable]:
    """One page: the heading and the pictures in a grid that fills the page."""
    head = Paragraph(escape(heading) if heading else "Images", _H2)
    cols = 1 if len(views) == 1 else 2
    rows = math.ceil(len(views) / cols)
    head_h = 12 * mm
    cell_w = width / cols
    cell_h = (height - head_h) / rows - 2 * mm
    pic_w = cell_w - 4 * mm
    # Room for the title line and the longest caption, so the grid never outgrows the page.
    caption_lines = max(_line_count(v.caption, _CAPTION, pic_w) for v in views)
    text_h = _VIEW_TITLE.leading + caption_lines * _CAPTION.leading + 6 * mm
    pic_h = max(cell_h - text_h, 20 * mm)
    cells = [
        [_p(v.title, _VIEW_TITLE), _Picture(rgb, pic_w, pic_h), _p(v.caption, _CAPTION)]
        for v, rgb in zip(views, _page_pictures(views))
    ]
    while len(cells) % cols:
        cells.append("")
    grid = [cells[i : i + cols] for i in range(0, len(cells), cols)]
    table = Table(grid, colWidths=[cell_w] * cols)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return [head, table]


def _page_pictures(views: list[ReportView]) -> list[np.ndarray]:
    """The pictures of one page, those that ask for it trimmed to their content."""
    pictures = [v.rgb for v in views]
    trimmed = [i for i, v in enumerate(views) if v.trim_margins]
    for i, rgb in zip(trimmed, fit_to_content([pictures[i] for i in trimmed])):
        pictures[i] = rgb
    return pictures


def _line_count(text: str, style: ParagraphStyle, width: float) -> int:
    """Lines ``text`` takes in ``style`` at ``width`` (wrapped as the paragraph will be)."""
    if not text:
        return 0
    _, height = _p(text, style).wrap(width, 10_000)
    return max(1, round(height / style.leading))


class _Picture(Flowable):
    """An RGB array drawn as large as fits in (max_w, max_h), aspect kept, centred."""

    def __init__(self, rgb: np.ndarray, max_w: float, max_h: float) -> None:
        super().__init__()
        rows, cols = rgb.shape[:2]
        scale = min(max_w / cols, max_h / rows)
        self.draw_w = cols * scale
        self.draw_h = rows * scale
        self.box_w = max_w
        self._image = _pil_for_pdf(rgb)

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        return self.box_w, self.draw_h

    def draw(self) -> None:
        x = (self.box_w - self.draw_w) / 2
        self.canv.drawImage(ImageReader(self._image), x, 0, self.draw_w, self.draw_h)
        self.canv.setStrokeColor(colors.lightgrey)
        self.canv.setLineWidth(0.3)
        self.canv.rect(x, 0, self.draw_w, self.draw_h, stroke=1, fill=0)


def _pil_for_pdf(rgb: np.ndarray) -> io.BytesIO:
    """The picture as JPEG bytes that reportlab embeds as they are (DCTDecode).

    Lossless (Flate) embedding of noisy mammograms costs about 1.2 MB per picture; JPEG at
    quality 92 without chroma subsampling (so thin coloured circles stay sharp) is a
    fifth of that and looks the same on paper. The PDF is a record of what was seen,
    not a source for reading. Greyscale pictures without marks are stored as one channel.
    """
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        picture = PILImage.fromarray(np.ascontiguousarray(rgb[..., 0]), mode="L")
    else:
        picture = PILImage.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    buf = io.BytesIO()
    picture.save(buf, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    buf.seek(0)
    return buf


# --------------------------------------------------------------------------- content

VIEW_TITLES = {
    "original": "Original",
    "wavelet": "Wavelet",
    "clahe": "CLAHE",
    "adaptive-median": "Adaptive median",
    "superres": "Super-resolution",
}

ReportItem = Study | ImageRef | Image


def build_report(
    items: ReportItem | Iterable[ReportItem],
    *,
    views: Sequence[str] = DEFAULT_VIEWS,
    impression: str = "",
    settings: Mapping[str, Any] | None = None,
    warnings: Iterable[str] = (),
    title: str = "MammoView report",
    max_side: int = REPORT_MAX_SIDE,
    progress: Callable[[Progress], None] | None = None,
    store: ReadingStore | None = None,
    deidentify: bool = False,
    ai: AiCollector | None = None,
) -> ReportContent:
    """Render studies or images into the content of a report, headless.

    A study with all of RCC, LCC, RMLO and LMLO gets one 4-view hanging page per
    requested view; every other image gets a page of its own with the requested views.

    Parameters
    ----------
    items : Study, ImageRef or Image, or an iterable of them
        Refs are loaded here; loose refs and images are grouped by study UID.
    views : sequence of str
        Names from :data:`mammoview.enhance.views.VIEWS` ("original", "wavelet", ...).
    impression : str
        The reader's impression, printed as typed.
    settings : mapping or None
        View name -> params dataclass; views not named use their defaults.
    warnings : iterable of str
        Extra warnings to print (e.g. files that discovery could not read).
    title : str
    max_side : int
        Longest side of each picture in the PDF.
    progress : callable or None
        Called with a :class:`~mammoview.core.progress.Progress` after each picture.
    store : ReadingStore or None
        The readings database: each study's saved reading (assessment, impression,
        numbered findings) is printed, and its marks drawn on every picture.
    deidentify : bool
        Replace patient name, ID and birth date by the study pseudonym everywhere
        (:mod:`mammoview.report.deidentify`); needs ``store`` (it keeps the secret the
        pseudonyms are made with).
    ai : AiCollector or None
        Classify every image with the collector's cascade; the report gets the AI
        section (per image, per breast, per study, model versions).

    Returns
    -------
    ReportContent

    Raises
    ------
    ValueError
        For an unknown view, invalid settings, or nothing to report.
    """
    from mammoview.report.render import resolve_params

    views = tuple(views)
    if not views:
        raise ValueError("no views chosen for the report")
    if deidentify and store is None:
        raise ValueError("a de-identified report needs the readings database (for the study pseudonyms)")
    settings = dict(settings or {})
    params = {v: resolve_params(v, settings.get(v)) for v in views}
    groups = _group_items(items)
    if not groups:
        raise ValueError("nothing to report: no images given")

    content = ReportContent(title=title, impression=impression, warnings=list(warnings))
    for view in views:
        if view != "original":
            content.settings[VIEW_TITLES.get(view, view)] = params[view].as_dict()

    total = sum(len(members) for _, members in groups) * len(views)
    done = 0
    headers: list[tuple[PatientInfo, StudyInfo]] = []
    subjects: dict[int, SubjectAlias] = {}
    for study, members in groups:
        images = _load_all(members, content.warnings)
        if not images:
            continue
        first = images[0]
        header = (first.ref.patient, first.ref.study)
        if header not in headers:
            headers.append(header)
        marks_of: Callable[[Image], Any] = lambda im: ()  # noqa: E731
        if store is not None:
            whole = study or Study(uid=first.ref.study_uid, images=[im.ref for im in images])
            identity, reading = _study_reading(store, whole, content.warnings)
            name = _study_name(study, first)
            if identity is not None:
                content.readings.append(
                    reader_section(reading, heading=name, image_names=image_names_of(identity, images)))
                marks = numbered_marks(reading)
                marks_of = lambda im, i=identity, m=marks: m.get(i.image_keys.get(im.ref.uid, ""), ())  # noqa: E731
            key = identity.key if identity is not None else f"uid:{first.ref.study_uid}"
            alias = store.pseudonym(key)
            # Groups with the same header share its row (and the first group's pseudonym).
            known = subjects.get(headers.index(header))
            names = {**(known.image_names if known else {}), **aliases_for(alias, [im.ref for im in images])}
            subjects[headers.index(header)] = SubjectAlias(
                first.ref.patient, known.pseudonym if known else alias, label=name, image_names=names)
        content.synthetic = content.synthetic or any(im.synthetic for im in images)
        for im in images:
            content.findings += _findings_of(im)
            content.warnings += [f"{im.ref.display_name}: {w}" for w in im.warnings]

        if ai is not None:
            ai.add_study(_study_name(study, first), images, study.ground_truth if study else None,
                         on_image=lambda name: _tell(progress, done, total, f"AI: {name}"))

        hanging = _hanging_images(images)
        if hanging:
            for view in views:
                name = VIEW_TITLES.get(view, view)
                page = f"{_study_name(study, first)} - 4-view hanging - {name}"
                for slot in SLOT_ORDER:
                    im = hanging[slot]
                    picture = _report_view(
                        im, view, params[view], max_side, title=f"{slot} - {name}", page=page,
                        warnings=content.warnings, reader_marks=marks_of(im),
                    )
                    if picture is not None:
                        content.views.append(picture)
                    done += 1
                    _tell(progress, done, total, f"{im.ref.display_name}: {view}")
        hung = {id(im) for im in hanging.values()}
        for im in images:
            if id(im) in hung:
                continue
            page = _image_heading(im)
            for view in views:
                title = VIEW_TITLES.get(view, view)
                picture = _report_view(
                    im, view, params[view], max_side, title=title, page=page,
                    warnings=content.warnings, reader_marks=marks_of(im),
                )
                if picture is not None:
                    content.views.append(picture)
                done += 1
                _tell(progress, done, total, f"{im.ref.display_name}: {view}")

    if not headers:
        raise ValueError("nothing to report: none of the images could be read")
    content.patient, content.study = headers[0]
    content.other_studies = headers[1:]
    if ai is not None:
        content.ai = ai.report()
    if deidentify:
        content = deidentify_content(content, [subjects[i] for i in sorted(subjects)])
    return content


def _study_reading(store: ReadingStore, study: Study, warnings: list[str]):
    """(identity, saved reading or None), or (None, None) and a warning when the study's
    files cannot be hashed for its key or the database cannot be read."""
    from mammoview.reading.errors import StoreError

    try:
        return saved_reading(store, study)
    except OSError as err:
        warnings.append(f"reading not included: cannot read the study's files "
                        f"({err.strerror or type(err).__name__})")
    except StoreError as err:
        warnings.append(f"reading not included: {err}")
    return None, None


def _tell(progress: Callable[[Progress], None] | None, done: int, total: int, msg: str) -> None:
    if progress is not None:
        progress(Progress(done, total, msg))


def _group_items(items: ReportItem | Iterable[ReportItem]) -> list[tuple[Study | None, list]]:
    """(study or None, refs/images) groups in the order given; loose ones by study UID."""
    if isinstance(items, (Study, ImageRef, Image)):
        items = [items]
    groups: list[tuple[Study | None, list]] = []
    loose: dict[str, list] = {}
    for item in items:
        if isinstance(item, Study):
            if item.images:
                groups.append((item, list(item.images)))
        elif isinstance(item, (ImageRef, Image)):
            uid = item.study_uid if isinstance(item, ImageRef) else item.ref.study_uid
            if uid not in loose:
                loose[uid] = []
                groups.append((None, loose[uid]))
            loose[uid].append(item)
        else:
            raise TypeError(f"cannot report on a {type(item).__name__}")
    return groups


def _load_all(members: list, warnings: list[str]) -> list[Image]:
    """Images for refs (loaded) and images (as given); a failed load becomes a warning."""
    from mammoview.io.loader import load_image

    images: list[Image] = []
    for item in members:
        if isinstance(item, Image):
            images.append(item)
            continue
        try:
            images.append(load_image(item))
        except (MammoViewError, OSError) as err:
            warnings.append(f"{err} (left out of the report)")
    return images


def _hanging_images(images: list[Image]) -> dict[str, Image]:
    """Slot -> image when all four screening views are present, else empty."""
    slots: dict[str, Image] = {}
    for im in images:
        slot = im.ref.slot
        if slot in SLOT_ORDER and slot not in slots:
            slots[slot] = im
    return slots if len(slots) == len(SLOT_ORDER) else {}


def _study_name(study: Study | None, first: Image) -> str:
    if study is not None and study.label:
        return study.label
    patient = first.ref.patient
    return f"Patient {patient.id}" if patient.id else first.ref.display_name


def _image_heading(im: Image) -> str:
    ref = im.ref
    heading = ref.display_name
    if ref.slot or ref.view:
        heading += f" ({ref.slot or ref.view})"
    if ref.patient.id:
        heading += f" - {ref.patient.id}"
    return heading


def _findings_of(im: Image) -> list[tuple[str, Finding]]:
    name = im.ref.display_name
    found = [(name, f) for f in im.findings]
    if not found and im.ref.ground_truth == "normal":
        found.append((name, Finding(kind="NORM", source="ground truth", note="no abnormality")))
    return found


def _report_view(
    im: Image, view: str, params: Any, max_side: int, *, title: str, page: str,
    warnings: list[str], reader_marks=(),
) -> ReportView | None:
    """One picture with its caption; ``None`` (and a warning) when the view cannot be made.

    An enhancement can refuse an image (e.g. too small for 4 wavelet levels); the rest of
    the report is still worth having.
    """
    from mammoview.imaging.display import default_voi
    from mammoview.report.render import render_view_info

    try:
        rendered = render_view_info(im, view=view, params=params, max_side=max_side,
                                    reader_marks=reader_marks)
    except (ValueError, MammoViewError) as err:
        warnings.append(f"{im.ref.display_name}: {VIEW_TITLES.get(view, view)} not shown ({err})")
        return None
    parts = [f"VOI {default_voi(im).describe()}"]
    if view != "original":
        parts.append(rendered.label)
    if rendered.metrics:
        parts.append(", ".join(f"{k} {_fmt(v)}" for k, v in rendered.metrics.items()))
    full_rows, full_cols = rendered.full_shape
    reduced = " (shown reduced)" if rendered.rgb.shape[0] < full_rows else ""
    parts.append(f"{full_cols} x {full_rows} px{reduced}")
    return ReportView(title=title, rgb=rendered.rgb, caption="; ".join(parts), page=page)


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
