"""Every edit is saved at once and restored by a fresh process; undo/redo; sizes in mm."""

from __future__ import annotations

import math

import pytest

from mammoview.reading import ReadingError, ReadingSession, ReadingStore
from mammoview.reading.geometry import DETECTOR_SPACING_WARNING, NO_SPACING_WARNING
from mammoview.reading.model import ImageContext


def reopen(db_path, study) -> ReadingSession:
    """What another process (or a restart) sees: a new store on the same file."""
    return ReadingSession.open(ReadingStore(db_path), study)


def test_every_edit_type_is_saved_and_restored(db_path, session, phantom):
    study, image = phantom
    ctx = session.context_for(image)
    assert (ctx.laterality, ctx.view, ctx.spacing_mm) == ("R", "CC", (0.15, 0.15))
    point = session.add_point(ctx, "calcification cluster", (100.0, 200.5), note="fine pleomorphic")
    ellipse = session.add_ellipse(ctx, "mass", (812.0, 430.5), (40.0, 25.0), angle_deg=30.0)
    outline = session.add_outline(ctx, "architectural distortion", [(10, 10), (10, 60), (50, 60), (50, 10)])
    session.add_point(ctx, "asymmetry", (5.0, 5.0))
    session.add_point(ctx, "other", (6.0, 6.0), note="skin marker")
    ruler = session.add_ruler(ctx, (0.0, 0.0), (30.0, 40.0), note="nipple distance")
    session.update_finding(point.id, type="mass", note="changed")
    session.update_finding(ellipse.id, points=((800.0, 420.0),), radii=(41.0, 26.5), angle_deg=-15.0)
    session.update_ruler(ruler.id, end=(60.0, 80.0))
    session.remove_finding(outline.id)
    session.set_birads("right", 4)
    session.set_birads("left", 1)
    session.set_birads("overall", 4)
    session.set_density("c")
    session.set_impression("Suspicious mass right breast.\nBiopsy recommended.")
    session.mark_read()
    expected = session.reading

    restored = reopen(db_path, study).reading
    assert restored == expected
    assert restored.state == "read" and restored.reader == "tester"
    assert restored.density == "C" and (restored.birads_right, restored.birads_left, restored.birads_overall) == (4, 1, 4)
    assert [f.type for f in restored.findings] == ["mass", "mass", "asymmetry", "other"]
    assert restored.finding(point.id).note == "changed"
    assert restored.finding(ellipse.id).radii == (41.0, 26.5)
    assert restored.measurement(ruler.id).end == (60.0, 80.0)
    assert all(f.laterality == "R" and f.view == "CC" for f in restored.findings)
    assert restored.revision == expected.revision > 0


def test_undo_redo_each_step_is_saved(db_path, session, phantom):
    study, image = phantom
    ctx = session.context_for(image)
    assert session.reading.state == "unread" and not session.can_undo
    f = session.add_point(ctx, "mass", (1.0, 2.0))
    assert session.reading.state == "in progress"
    session.set_birads("overall", 3)
    session.remove_finding(f.id)
    assert session.undo_label == "delete finding"

    assert session.undo()  # finding back, in place
    assert reopen(db_path, study).reading.findings == (f,)
    assert session.undo()  # BI-RADS cleared
    assert reopen(db_path, study).reading.birads_overall is None
    assert session.undo()  # the first edit undone: unread again, nothing recorded
    saved = reopen(db_path, study).reading
    assert saved.state == "unread" and saved.findings == () and saved.is_empty
    assert not session.undo()

    assert session.redo() and session.redo()
    saved = reopen(db_path, study).reading
    assert saved.findings == (f,) and saved.birads_overall == 3 and saved.state == "in progress"
    session.set_density("A")  # a new edit clears the redo list
    assert not session.can_redo


def test_undo_history_is_per_session_but_edits_persist(db_path, session, phantom):
    study, image = phantom
    session.add_point(session.context_for(image), "mass", (1.0, 2.0))
    session.close()
    again = reopen(db_path, study)
    assert len(again.reading.findings) == 1
    assert not again.can_undo  # documented: undo does not survive a restart


def test_impression_typing_merges_into_one_undo_step(session):
    for text in ("S", "Su", "Sus", "Susp"):
        session.set_impression(text)
    assert session.reading.impression == "Susp"
    session.undo()
    assert session.reading.impression == "" and session.reading.state == "unread"


def test_listeners_see_every_change(session, phantom):
    seen = []
    session.add_listener(lambda reading, command: seen.append((reading.revision, command.label if command else None)))
    session.set_birads("overall", 2)
    session.undo()
    assert [label for _, label in seen] == ["set birads overall", "set birads overall"]
    assert seen[-1][0] == session.reading.revision


def test_invalid_edits_are_refused_and_nothing_is_saved(db_path, session, phantom):
    study, image = phantom
    ctx = session.context_for(image)
    with pytest.raises(ReadingError, match="0-6"):
        session.set_birads("overall", 7)
    with pytest.raises(ReadingError, match="density"):
        session.set_density("E")
    with pytest.raises(ReadingError, match="finding type"):
        session.add_point(ctx, "tumour", (1.0, 1.0))
    with pytest.raises(ReadingError, match="outline needs 3"):
        session.add_outline(ctx, "mass", [(1, 1), (2, 2)])
    with pytest.raises(ReadingError, match="radii must be positive"):
        session.add_ellipse(ctx, "mass", (1.0, 1.0), (0.0, 2.0))
    with pytest.raises(ReadingError, match="finite"):
        session.add_point(ctx, "mass", (math.nan, 1.0))
    with pytest.raises(ReadingError, match="overall BI-RADS"):
        session.mark_read()
    assert ReadingStore(db_path).load(session.study_key) is None


def test_sizes_in_millimetres_with_non_square_pixels():
    from mammoview.reading.model import ReaderFinding, Measurement

    # Axis-aligned ellipse: semi-axis a along columns (angle 0), b along rows.
    e = ReaderFinding("e", "img", "mass", "ellipse", ((0.0, 0.0),), radii=(10.0, 5.0), angle_deg=0.0,
                      spacing_mm=(0.2, 0.1))
    size = e.size()
    assert size.unit == "mm" and size.warning == ""
    assert size.long_axis == pytest.approx(2.0)  # 2 * 5 rows * 0.2 and 2 * 10 cols * 0.1: both 2 mm
    assert size.short_axis == pytest.approx(2.0)
    e90 = ReaderFinding("e", "img", "mass", "ellipse", ((0.0, 0.0),), radii=(10.0, 5.0), angle_deg=90.0,
                        spacing_mm=(0.2, 0.1))
    assert (e90.size().long_axis, e90.size().short_axis) == (pytest.approx(4.0), pytest.approx(1.0))
    square = ReaderFinding("o", "img", "mass", "outline", ((0, 0), (0, 10), (10, 10), (10, 0)), spacing_mm=(0.5, 0.5))
    assert square.size().area == pytest.approx(25.0)
    assert square.size().long_axis == pytest.approx(math.hypot(5, 5))
    ruler = Measurement("m", "img", (0.0, 0.0), (30.0, 40.0), spacing_mm=(0.1, 0.1))
    assert ruler.size().long_axis == pytest.approx(5.0)
    unknown = Measurement("m", "img", (0.0, 0.0), (30.0, 40.0))
    assert unknown.size().unit == "px" and unknown.size().long_axis == pytest.approx(50.0)
    assert unknown.size().warning == NO_SPACING_WARNING
    detector = Measurement("m", "img", (0.0, 0.0), (3.0, 4.0), spacing_mm=(1.0, 1.0), spacing_source="ImagerPixelSpacing")
    assert detector.size().warning == DETECTOR_SPACING_WARNING
    assert ReaderFinding("p", "img", "mass", "point", ((1.0, 1.0),)).size().long_axis is None


def test_spacing_unknown_is_recorded_on_the_mark(session, phantom):
    from dataclasses import replace

    _, image = phantom
    ctx = replace(session.context_for(image), spacing_mm=None, spacing_source="")
    f = session.add_ellipse(ctx, "mass", (10.0, 10.0), (4.0, 3.0))
    assert f.size().unit == "px" and "spacing unknown" in f.size().describe()


def test_image_from_another_study_is_refused(session):
    from mammoview.io.phantom import demo_studies, render_phantom

    other = render_phantom(demo_studies()[1].images[0])
    with pytest.raises(ReadingError, match="not part of this study"):
        session.context_for(other)
    assert isinstance(ImageContext("k"), ImageContext)
