"""A DICOM study with a patient name and a reading made through the core session API."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from mammoview.reading import ReadingSession, ReadingStore
from tests.reading.helpers import PATIENT_NAME, images_of, only_study, write_dicom_study

PATIENT_ID = "MIAS001"  # what tests/io/dicom_builders.py writes
BIRTH_DATE = "19500101"
STUDY_UID = "1.2.826.0.1.3680043.8.498.4242"
FOUR_VIEWS = (("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO"))
IMPRESSION = "Spiculated mass upper outer right breast; biopsy advised."
NOTE = "irregular margin, 2 o'clock"
IDENTIFYING = (PATIENT_NAME, "Zyxwander Quillonette", "Zyxwander", "Quillonette", PATIENT_ID, BIRTH_DATE,
               "1950-01-01", "img0.dcm", "img1.dcm")


def reading_study(folder: Path, *, slots=FOUR_VIEWS, spacing=(0.1, 0.07)):
    """Four tiny DICOM views (32 x 24) of one study; returns the discovered study."""
    write_dicom_study(folder, STUDY_UID, slots=slots, pixel_spacing=spacing)
    return only_study(folder)


def make_reading(store: ReadingStore, study, *, read: bool = True):
    """An ellipse (RCC), a point (LCC) and a ruler, BI-RADS 4/1/4, density C, the impression."""
    images = images_of(study)
    with ReadingSession.open(store, study, reader="reader1") as session:
        rcc, lcc = session.context_for(images[0]), session.context_for(images[1])
        session.add_ellipse(rcc, "mass", (12.0, 10.0), (6.0, 3.0), angle_deg=0.0, note=NOTE)
        session.add_point(lcc, "calcification cluster", (20.0, 5.0))
        session.add_ruler(rcc, (2.0, 2.0), (2.0, 22.0))
        session.set_birads("right", 4)
        session.set_birads("left", 1)
        session.set_birads("overall", 4)
        session.set_density("C")
        session.set_impression(IMPRESSION)
        if read:
            session.mark_read()
        return session.reading


def pdf_text(path) -> str:
    """All pages' text, whitespace runs made one space."""
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(str(path)).pages)


def pdf_metadata_text(path) -> str:
    meta = PdfReader(str(path)).metadata or {}
    return " ".join(f"{k} {v}" for k, v in meta.items())


def pdf_stream_bytes(path) -> bytes:
    """The file's bytes plus every decompressed stream (pictures, pages, fonts, metadata)."""
    reader = PdfReader(str(path))
    chunks = [Path(path).read_bytes()]
    for number in range(1, int(reader.trailer["/Size"])):
        obj = reader.get_object(number)
        if hasattr(obj, "get_data"):
            try:
                chunks.append(obj.get_data())
            except Exception:  # noqa: BLE001 - an image codec pypdf cannot decode
                continue
    return b"\n".join(chunks)
