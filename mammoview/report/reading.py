"""The reader's saved reading in the report: assessment, numbered findings, marks on pictures.

The report always takes the reading as *saved* in the readings database
(:class:`mammoview.reading.ReadingStore`), never a copy held by a dialog, so the PDF
says exactly what the database says. Findings are numbered 1, 2, ... and rulers R1,
R2, ... in the order the reading keeps them; the same numbers are drawn beside the
marks on the pictures (:func:`mammoview.report.render.draw_reader_marks`).

No Qt: the command line and the window use the same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from mammoview.core.image import Image, ImageRef
from mammoview.core.study import Study
from mammoview.reading.identity import StudyIdentity, study_identity
from mammoview.reading.model import Measurement, ReaderFinding, Reading
from mammoview.reading.store import ReadingStore
from mammoview.report.content import ReaderFindingRow, ReaderSection, ReportContent, ReportView

Mark = ReaderFinding | Measurement


def saved_reading(store: ReadingStore, study: Study, *,
                  identity: StudyIdentity | None = None) -> tuple[StudyIdentity, Reading | None]:
    """The study's identity and its saved reading (None when nothing was ever saved).

    Raises
    ------
    OSError
        A non-DICOM study's file cannot be read for its content hash.
    mammoview.reading.StoreError
        The database cannot be read.
    """
    identity = identity or study_identity(study, store=store)
    return identity, store.load(identity.key)


def numbered_marks(reading: Reading | None) -> dict[str, list[tuple[str, Mark]]]:
    """Image key -> [(number, mark)]: findings "1", "2"..., rulers "R1", "R2"..."""
    marks: dict[str, list[tuple[str, Mark]]] = {}
    if reading is None:
        return marks
    for i, finding in enumerate(reading.findings, start=1):
        marks.setdefault(finding.image_key, []).append((str(i), finding))
    for i, ruler in enumerate(reading.measurements, start=1):
        marks.setdefault(ruler.image_key, []).append((f"R{i}", ruler))
    return marks


def _size_text(mark: Mark) -> tuple[str, str]:
    """("12.4 x 8.1 mm" or "-", warning) for a finding or a ruler."""
    size = mark.size()
    if size.long_axis is None:
        return "-", size.warning if size.unit == "px" else ""
    text = f"{size.long_axis:.1f}"
    if size.short_axis is not None:
        text += f" x {size.short_axis:.1f}"
    return f"{text} {size.unit}", size.warning


def _side_view(mark: Mark) -> str:
    side = {"R": "right", "L": "left"}.get(mark.laterality or "", "side ?")
    return f"{side} {mark.view}" if mark.view else side


def reader_section(reading: Reading | None, *, heading: str,
                   image_names: Mapping[str, str]) -> ReaderSection:
    """What the report prints of one study's reading.

    Parameters
    ----------
    reading : Reading or None
        The saved reading; None gives a section that says nothing was saved.
    heading : str
        The study's name in the report (its label, or its pseudonym when de-identified).
    image_names : mapping
        Image key -> the image's name in the report (file name, or an alias).
    """
    if reading is None:
        return ReaderSection(heading=heading, saved=False)

    def row(number: str, mark: Mark) -> ReaderFindingRow:
        size, warning = _size_text(mark)
        kind = "ruler" if isinstance(mark, Measurement) else f"{mark.type} ({mark.shape})"
        return ReaderFindingRow(
            number=number, image=image_names.get(mark.image_key, "image not in this report"),
            kind=kind, side_view=_side_view(mark), size=size, note=mark.note, warning=warning)

    rows = [row(str(i), f) for i, f in enumerate(reading.findings, start=1)]
    rulers = [row(f"R{i}", m) for i, m in enumerate(reading.measurements, start=1)]
    updated = ""
    if reading.updated_at:
        updated = datetime.fromtimestamp(reading.updated_at).astimezone().strftime("%Y-%m-%d %H:%M")
    return ReaderSection(
        heading=heading, saved=True, state=reading.state, reader=reading.reader, updated=updated,
        birads_right=reading.birads_right, birads_left=reading.birads_left,
        birads_overall=reading.birads_overall, density=reading.density,
        impression=reading.impression, findings=rows, rulers=rulers)


def image_names_of(identity: StudyIdentity, images: Iterable[Any]) -> dict[str, str]:
    """Image key -> display name for the images (or refs) of a study."""
    names = {}
    for item in images:
        ref = item.ref if isinstance(item, Image) else item
        key = identity.image_keys.get(ref.uid)
        if key is not None:
            names[key] = ref.display_name
    return names


def reading_pictures(images: Iterable[Image], identity: StudyIdentity, reading: Reading | None, *,
                     page: str, max_side: int, voi=None, invert: bool = False,
                     title: Callable[[Image], str] | None = None) -> list[ReportView]:
    """The original of each image that carries reader marks, with the marks drawn.

    The window's report shows the pictures as displayed; these extra pictures make sure
    every finding of the saved reading is drawn in the PDF whatever the viewer showed.
    """
    from mammoview.report.render import render_view_info

    marks = numbered_marks(reading)
    views = []
    for image in images:
        on_image = marks.get(identity.image_keys.get(image.ref.uid, ""), [])
        if not on_image:
            continue
        rendered = render_view_info(image, view="original", voi=voi, invert=invert,
                                    max_side=max_side, reader_marks=on_image)
        numbers = ", ".join(number for number, _ in on_image)
        name = title(image) if title else (image.ref.slot or image.ref.display_name)
        views.append(ReportView(title=f"{name} - reader's marks", rgb=_rgb(rendered.rgb),
                                caption=f"marks {numbers} (numbers as in the reader's findings)",
                                page=page))
    return views


def _rgb(array) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.uint8)


def attach_reading(content: ReportContent, study: Study, identity: StudyIdentity, reading: Reading | None, *,
                   heading: str, image_for: Callable[[ImageRef], Image], max_side: int, voi=None,
                   invert: bool = False) -> ReportContent:
    """Add the saved reading to report content the window built from what it shows.

    The reader's section (assessment, impression, numbered findings) goes after the
    header, and a page "<heading>: reader's marks" shows the original of every image
    that carries a mark, with the marks drawn and numbered. ``image_for(ref)`` gives
    the decoded image (only called for images with marks). Returns ``content``.
    """
    content.readings.append(reader_section(reading, heading=heading,
                                           image_names=image_names_of(identity, study.images)))
    marked = set(numbered_marks(reading))
    refs = [ref for ref in study.images if identity.image_keys.get(ref.uid) in marked]
    if refs:
        images = [image_for(ref) for ref in refs]
        content.views += reading_pictures(images, identity, reading, page=f"{heading}: reader's marks",
                                          max_side=max_side, voi=voi, invert=invert)
    return content
