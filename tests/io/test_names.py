"""Side and view from a raster file's name."""

import pytest

from mammoview.io.names import NamedView, view_from_name


@pytest.mark.parametrize("stem, expected", [
    ("A_0002_1.RIGHT_MLO", NamedView("R", "MLO", "A_0002_1")),
    ("Calc-Test_P_00038_LEFT_CC", NamedView("L", "CC", "Calc-Test_P_00038")),
    ("patient7-r-mlo", NamedView("R", "MLO", "patient7")),
    ("LCC", NamedView("L", "CC", "")),
    ("case 12 L MLO", NamedView("L", "MLO", "case 12")),
    ("x_RCC_then_LMLO", NamedView("L", "MLO", "x_RCC_then")),  # the last token wins
])
def test_named_views(stem, expected):
    assert view_from_name(stem) == expected


@pytest.mark.parametrize("stem", ["scan_0042", "ORACC", "RCCX", "mdb001", "full_mammogram_1024", "MLO"])
def test_names_without_a_side_and_view(stem):
    assert view_from_name(stem) is None
