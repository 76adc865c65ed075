"""The PDF report takes the reader's findings and assessment from the saved reading."""

from __future__ import annotations

import numpy as np
import pytest

from mammoview.reading import ReadingSession, ReadingStore
from mammoview.reading.model import Measurement, ReaderFinding
from mammoview.report.pdf import build_report, write_report
from mammoview.report.reading import attach_reading, numbered_marks, reader_section, saved_reading
from mammoview.report.render import READER_COLOUR, draw_reader_marks
from tests.reading.helpers import images_of
from tests.report.reading_helpers import IMPRESSION, NOTE, make_reading, pdf_text, reading_study


@pytest.fixture
def store(tmp_path):
    with ReadingStore(tmp_path / "readings.sqlite3") as s:
        yield s


def test_report_content_comes_from_the_saved_reading(tmp_path, store):
    study = reading_study(tmp_path / "study")
    make_reading(store, study)
    content = build_report(study, views=("original",), max_side=200, store=store)

    (section,) = content.readings
    assert section.saved and section.state == "read" and section.reader == "reader1"
    assert (section.birads_right, section.birads_left, section.birads_overall, section.density) == (4, 1, 4, "C")
    assert section.impression == IMPRESSION
    mass, calc = section.findings
    assert (mass.number, mass.kind, mass.side_view, mass.image, mass.note) == (
        "1", "mass (ellipse)", "right CC", "img0.dcm", NOTE)
    # Semi-axes 6 px along columns (0.07 mm) and 3 px along rows (0.1 mm): 0.84 x 0.60 mm.
    assert mass.size == "0.8 x 0.6 mm" and mass.warning == ""
    assert (calc.number, calc.kind, calc.side_view, calc.size) == ("2", "calcification cluster (point)", "left CC", "-")
    (ruler,) = section.rulers
    assert (ruler.number, ruler.kind, ruler.size) == ("R1", "ruler", "1.4 mm")  # 20 columns x 0.07 mm


def test_report_pdf_prints_findings_birads_density_and_impression(tmp_path, store):
    study = reading_study(tmp_path / "study")
    make_reading(store, study)
    content = build_report(study, views=("original",), max_side=200, store=store)
    text = pdf_text(write_report(tmp_path / "r.pdf", content))
    assert "Reader's assessment" in text and "state read, reader reader1" in text
    assert "BI-RADS right BI-RADS left BI-RADS overall Breast density 4 1 4 C" in text
    assert IMPRESSION in text
    for expected in ("1 mass (ellipse) right CC 0.8 x 0.6 mm img0.dcm", NOTE,
                     "2 calcification cluster (point) left CC", "R1 ruler right CC 1.4 mm"):
        assert expected in text, expected


def test_a_later_edit_is_what_the_next_report_prints(tmp_path, store):
    """Nothing is cached between reports: the PDF follows the database."""
    study = reading_study(tmp_path / "study")
    make_reading(store, study)
    with ReadingSession.open(store, study) as session:
        session.reopen()
        session.set_birads("overall", 5)
        session.set_impression("Revised after comparison.")
    content = build_report(study, views=("original",), max_side=100, store=store)
    (section,) = content.readings
    assert (section.state, section.birads_overall, section.impression) == ("in progress", 5, "Revised after comparison.")


def test_study_without_a_reading_says_so(tmp_path, store):
    study = reading_study(tmp_path / "study", slots=(("R", "CC"),))
    content = build_report(study, views=("original",), max_side=100, store=store)
    assert [s.saved for s in content.readings] == [False]
    assert "No reading saved for this study." in pdf_text(write_report(tmp_path / "r.pdf", content))
    # Without a database there is no reader section at all (the old report).
    assert build_report(study, views=("original",), max_side=100).readings == []


def test_unknown_spacing_is_reported_in_pixels_with_a_warning(tmp_path, store):
    study = reading_study(tmp_path / "study", slots=(("R", "CC"),), spacing=None)
    with ReadingSession.open(store, study) as session:
        image = images_of(study)[0]
        session.add_ellipse(session.context_for(image), "asymmetry", (10.0, 10.0), (4.0, 2.0))
    section = reader_section(saved_reading(store, study)[1], heading="x", image_names={})
    (row,) = section.findings
    assert row.size == "8.0 x 4.0 px" and "spacing unknown" in row.warning
    assert row.image == "image not in this report"


def _green(rgb: np.ndarray) -> np.ndarray:
    r, g, b = READER_COLOUR
    return (np.abs(rgb[..., 0].astype(int) - r) < 30) & (np.abs(rgb[..., 1].astype(int) - g) < 30) & (
        np.abs(rgb[..., 2].astype(int) - b) < 30)


def _finding(shape, points, radii=None, angle=0.0):
    return ReaderFinding(id=shape, image_key="k", type="mass", shape=shape, points=points, radii=radii,
                         angle_deg=angle)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_marks_are_drawn_where_they_were_made_at_any_scale(scale):
    rows, cols = int(100 * scale), int(220 * scale)
    blank = np.zeros((rows, cols, 3), np.uint8)
    # An ellipse 40 px wide (axis a along +col at 0 degrees) and 20 px tall, upper right.
    drawn = draw_reader_marks(blank, [("1", _finding("ellipse", ((30.0, 160.0),), (20.0, 10.0)))],
                              scale=(scale, scale))
    ys, xs = np.nonzero(_green(drawn))
    assert ys.size > 20
    # The outline's extent (the number is drawn to its upper right, so look left/below of it).
    assert xs.min() == pytest.approx(140 * scale, abs=3) and ys.max() == pytest.approx(40 * scale, abs=3)
    assert not _green(drawn)[:, : int(100 * scale)].any()  # nothing in the left half: no mirror

    rotated = draw_reader_marks(blank, [("1", _finding("ellipse", ((50.0, 110.0),), (30.0, 5.0), 90.0))],
                                scale=(scale, scale))
    ys, _ = np.nonzero(_green(rotated)[:, : int(130 * scale)])
    assert ys.min() == pytest.approx(20 * scale, abs=3) and ys.max() == pytest.approx(80 * scale, abs=3)


def test_outline_point_and_ruler_are_drawn():
    blank = np.zeros((100, 100, 3), np.uint8)
    outline = _finding("outline", ((10.0, 10.0), (10.0, 40.0), (40.0, 40.0), (40.0, 10.0)))
    point = _finding("point", ((80.0, 20.0),))
    ruler = Measurement(id="r", image_key="k", start=(70.0, 60.0), end=(70.0, 95.0))
    drawn = _green(draw_reader_marks(blank, [("1", outline), ("2", point), ("R1", ruler)], scale=(1.0, 1.0)))
    assert drawn[10, 25] and drawn[25, 10] and not drawn[25, 25]  # the outline's edges, not its inside
    assert drawn[80, 12] and drawn[72, 20]  # the point's cross hairs
    assert drawn[70, 60:95].all()  # the ruler


def test_report_pictures_carry_the_marks_of_their_image_only(tmp_path, store):
    study = reading_study(tmp_path / "study")
    reading = make_reading(store, study)
    identity, _ = saved_reading(store, study)
    marks = numbered_marks(reading)
    rcc_key = identity.image_keys[study.images[0].uid]
    assert [number for number, _ in marks[rcc_key]] == ["1", "R1"]

    content = build_report(study, views=("original",), max_side=240, store=store)
    green = {v.title.split(" - ")[0]: _green(v.rgb).sum() for v in content.views}
    assert green["RCC"] > 0 and green["LCC"] > 0  # ellipse + ruler; the point
    assert green["RMLO"] == 0 and green["LMLO"] == 0


def test_window_report_gets_a_marks_page_and_the_section(tmp_path, store):
    from mammoview.report.content import ReportContent

    study = reading_study(tmp_path / "study")
    reading = make_reading(store, study)
    identity, _ = saved_reading(store, study)
    loaded = []

    def image_for(ref):
        loaded.append(ref.display_name)
        return next(im for im in images_of(study) if im.ref.uid == ref.uid)

    content = attach_reading(ReportContent(), study, identity, reading, heading="Study A",
                             image_for=image_for, max_side=200)
    assert loaded == ["img0.dcm", "img1.dcm"]  # only the images that carry marks are decoded
    assert [v.title for v in content.views] == ["RCC - reader's marks", "LCC - reader's marks"]
    assert {v.page for v in content.views} == {"Study A: reader's marks"}
    assert not any(v.trim_margins for v in content.views)  # the whole image, marks in place
    assert content.views[0].caption.startswith("marks 1, R1")
    assert content.readings[0].birads_overall == 4


class _FakeCascade:
    """The cascade's interface (``classify``, ``versions``) without the networks: the
    networks have their own tests (tests/classification); here, what the report does."""

    versions = {"classifier-stage1": "aaaa11112222", "classifier-stage2": "bbbb33334444"}

    def __init__(self):
        self.seen = []

    def classify(self, image):
        from mammoview.classification.cascade import ImageResult

        self.seen.append(image.ref.display_name)
        malignant = image.ref.laterality == "R"
        return ImageResult(p_abnormal=0.9 if malignant else 0.2, p_malignant=0.8 if malignant else 0.1,
                           label="malignant" if malignant else "normal", suspicion=8 if malignant else 1,
                           versions=dict(self.versions))


def test_ai_section_beside_the_reading_with_model_versions(tmp_path, store):
    from mammoview.report.ai import AiCollector

    study = reading_study(tmp_path / "study")
    make_reading(store, study)
    cascade = _FakeCascade()
    content = build_report(study, views=("original",), max_side=100, store=store, ai=AiCollector(cascade, device="cpu"))
    assert cascade.seen == ["img0.dcm", "img1.dcm", "img2.dcm", "img3.dcm"]  # each image once, whatever the views
    assert content.ai.rows[0][:5] == ("img0.dcm", "0.900", "0.800", "Malignant", "8/10")
    assert [scope for scope, _ in content.ai.aggregates] == [
        "Zyxwander Quillonette: Left breast", "Zyxwander Quillonette: Right breast", "Zyxwander Quillonette: study"]
    assert content.ai.aggregates[-1][1].startswith("malignant (suspicion 8/10")
    text = pdf_text(write_report(tmp_path / "r.pdf", content))
    assert "Model versions: classifier-stage1 aaaa11112222, classifier-stage2 bbbb33334444 · device cpu" in text
    assert "Reader's assessment" in text and "AI classification (research)" in text

    deid = build_report(study, views=("original",), max_side=100, store=store, ai=AiCollector(_FakeCascade()),
                        deidentify=True)
    flat = repr((deid.ai.rows, deid.ai.aggregates))
    assert "img0.dcm" not in flat and "Zyxwander" not in flat and "image 1 (RCC)" in flat
