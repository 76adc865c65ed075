"""Where a finding on one view of a breast falls on the other view (no Qt): the reminder
band's columns, the breast outline it is measured on, and picking marks by a click."""

from __future__ import annotations

import numpy as np
import pytest

from mammoview.core import Image, ImageRef
from mammoview.gui.viewer.hanging import REMINDER_MIN_MM, BreastAxis, breast_axis, reminder_columns
from mammoview.io.phantom import demo_studies, render_phantom
from mammoview.reading.model import Measurement, ReaderFinding

CC = BreastAxis("right", chest_col=1000.0, nipple_col=200.0, top=100.0, bottom=900.0)  # depth 800
MLO = BreastAxis("left", chest_col=0.0, nipple_col=600.0, top=0.0, bottom=1000.0)  # depth 600


def test_same_distance_from_the_nipple_in_millimetres():
    # 300 px from the CC nipple at 0.1 mm = 30 mm; on the MLO at 0.2 mm that is 150 px,
    # towards its chest wall (on the left there).
    left, right, distance = reminder_columns(500.0, 10.0, CC, (0.1, 0.1), MLO, (0.2, 0.2))
    assert distance == pytest.approx(30.0)
    assert (left + right) / 2 == pytest.approx(600.0 - 150.0)
    assert right - left == pytest.approx(2 * REMINDER_MIN_MM / 0.2)  # a 1 mm finding: the minimum width


def test_fraction_of_the_depth_without_spacing():
    left, right, fraction = reminder_columns(600.0, 80.0, CC, None, MLO, (0.2, 0.2))
    assert fraction == pytest.approx(0.5)
    assert (left + right) / 2 == pytest.approx(600.0 - 300.0)
    assert right - left == pytest.approx(2 * 80.0 / 800.0 * 600.0)


def test_a_finding_beyond_the_breast_is_clipped_to_it():
    left, right, distance = reminder_columns(100.0, 0.0, CC, (0.1, 0.1), MLO, (0.1, 0.1))
    assert distance == 0.0 and (left + right) / 2 == pytest.approx(600.0)
    assert reminder_columns(0.0, 0.0, CC, None, BreastAxis("left", 5.0, 5.0, 0.0, 1.0), None) is None


def test_breast_outline_of_the_demo_phantoms_matches_their_lesions():
    """The phantoms draw each lesion at the same distance from the nipple in CC and MLO."""
    study = demo_studies()[0]
    images = {ref.slot: render_phantom(ref) for ref in study.images}
    from mammoview.gui.viewer.prepare import prepare_image

    axes = {slot: breast_axis(im, prepare_image(im).chest_wall) for slot, im in images.items()}
    cc, mlo = axes["RCC"], axes["RMLO"]
    assert cc.chest_wall == mlo.chest_wall == "right"
    assert 0 < cc.nipple_col < cc.chest_col <= images["RCC"].shape[1]
    truth_cc, truth_mlo = images["RCC"].findings[0], images["RMLO"].findings[0]
    spacing = images["RCC"].pixel_spacing_mm
    left, right, _ = reminder_columns(truth_cc.col, truth_cc.radius, cc, spacing, mlo, spacing)
    assert left <= truth_mlo.col <= right


def test_no_breast_no_axis():
    ref = ImageRef(path="blank", kind="raster", uid="blank", study_uid="s")
    assert breast_axis(Image(np.zeros((64, 48), np.uint8), ref), "left") is None


def test_picking_prefers_the_mark_under_the_click():
    from mammoview.gui.viewer.annotations import pick_mark

    big = ReaderFinding("big", "k", "mass", "ellipse", ((100.0, 100.0),), radii=(50.0, 40.0))
    small = ReaderFinding("small", "k", "mass", "ellipse", ((100.0, 110.0),), radii=(10.0, 8.0))
    outline = ReaderFinding("o", "k", "mass", "outline", ((300.0, 300.0), (300.0, 340.0), (340.0, 320.0)))
    ruler = Measurement("r", "k", (500.0, 0.0), (500.0, 100.0))
    marks = [big, small, outline, ruler]
    assert pick_mark(marks, 100.0, 110.0, 3.0) == "small"  # nested: the smaller one
    assert pick_mark(marks, 100.0, 60.0, 3.0) == "big"
    assert pick_mark(marks, 315.0, 320.0, 3.0) == "o"  # inside the outline
    assert pick_mark(marks, 502.0, 50.0, 3.0) == "r"  # beside the ruler
    assert pick_mark(marks, 700.0, 700.0, 3.0) is None
