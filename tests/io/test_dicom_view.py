"""Laterality and view parsing rules, one source at a time and in priority order."""

from __future__ import annotations

import pytest

from mammoview.io.dicom_view import (
    laterality_from_orientation,
    laterality_from_value,
    parse_view_text,
    resolve_laterality_view,
    view_from_codes,
    view_from_position,
)


@pytest.mark.parametrize(
    "code, view",
    [
        ("R-10242", "CC"), ("399162004", "CC"),
        ("R-10226", "MLO"), ("399368009", "MLO"),
        ("R-10224", "ML"), ("399260004", "ML"),
        ("R-10228", "LM"), ("399352003", "LM"),
        ("R-10230", "LMO"), ("399099002", "LMO"),
        ("R-1024A", "XCCL"), ("399192008", "XCCL"),
        ("R-1024B", "XCCM"), ("399101009", "XCCM"),
        ("R-10244", "FB"), ("399196006", "FB"),
        ("R-102D0", "SIO"), ("399188001", "SIO"),
    ],
)
def test_view_codes_of_cid_4014_in_both_snomed_forms(code, view):
    assert view_from_codes([(code, "")]) == view


def test_view_code_falls_back_to_code_meaning_then_none():
    assert view_from_codes([("X-PRIVATE", "Medio-Lateral Oblique")]) == "MLO"
    assert view_from_codes([("X-PRIVATE", "something else")]) is None
    assert view_from_codes([]) is None


def test_view_position_values():
    assert view_from_position(" mlo ") == "MLO"
    assert view_from_position("XCCL") == "XCCL"
    assert view_from_position("FLATFIELD") is None
    assert view_from_position(None) is None


@pytest.mark.parametrize("value, side", [("L", "L"), ("r", "R"), ("B", None), ("U", None), ("", None), (None, None)])
def test_laterality_values(value, side):
    assert laterality_from_value(value) == side


@pytest.mark.parametrize(
    "orientation, side",
    [(["A", "R"], "L"), (["A", "FR"], "L"), (["P", "L"], "R"), (["P", "FL"], "R"),
     (["R", "P"], None), (["F", "A"], None), ("MLO", None), (None, None), ([], None)],
)
def test_laterality_from_patient_orientation_row_direction(orientation, side):
    assert laterality_from_orientation(orientation) == side


@pytest.mark.parametrize(
    "text, expected",
    [
        ("R CC", ("R", "CC")),
        ("LMLO", ("L", "MLO")),
        ("L-XCCL", ("L", "XCCL")),
        ("RIGHT_MLO", ("R", "MLO")),
        ("Mass-Test_P_00116_LEFT_CC_1", ("L", "CC")),
        ("Tomo L MLO view", ("L", "MLO")),
        ("Left breast", ("L", None)),
        ("MLO", (None, "MLO")),
        ("ACCESSION CLOSED", (None, None)),  # no "CC"/"L" inside words
        ("Flat Field Tomo", (None, None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_parse_view_text(text, expected):
    assert parse_view_text(text) == expected


def test_priority_code_sequence_over_view_position_over_text():
    side, view = resolve_laterality_view(
        view_codes=[("R-10242", "cranio-caudal")], view_position="MLO", texts=["R ML"]
    )
    assert view == "CC"
    assert side == "R"  # only the laterality came from the text
    assert resolve_laterality_view(view_position="MLO", texts=["L CC"]) == ("L", "MLO")


def test_priority_image_laterality_over_laterality_over_orientation_over_text():
    common = dict(view_position="CC", texts=["R CC"])
    assert resolve_laterality_view(image_laterality="L", laterality="R", patient_orientation=["P", "L"], **common)[0] == "L"
    assert resolve_laterality_view(laterality="L", patient_orientation=["P", "L"], **common)[0] == "L"
    assert resolve_laterality_view(patient_orientation=["A", "R"], **common)[0] == "L"
    assert resolve_laterality_view(**common)[0] == "R"


def test_view_name_stored_in_patient_orientation_is_used_after_view_position():
    # CBIS-DDSM writes the view into Patient Orientation.
    assert resolve_laterality_view(laterality="R", patient_orientation="MLO") == ("R", "MLO")
    assert resolve_laterality_view(view_position="CC", patient_orientation="MLO")[1] == "CC"
