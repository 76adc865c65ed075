"""How a mark's size reads: beside the mark (short) and in lists and the PDF (full)."""

from __future__ import annotations

from mammoview.reading.geometry import DETECTOR_SPACING_WARNING, NO_SPACING_WARNING, MarkSize


def test_a_size_reads_the_same_numbers_beside_the_mark_and_in_the_report():
    mm = MarkSize(12.34, 8.0, 77.5, "mm")
    assert mm.describe() == "12.3 x 8.0 mm"
    assert mm.describe(short=True) == "12.3×8.0 mm"
    # A size at the detector says so in both, the label in two words.
    detector = MarkSize(12.34, None, None, "mm", DETECTOR_SPACING_WARNING)
    assert detector.describe() == f"12.3 mm ({DETECTOR_SPACING_WARNING})"
    assert detector.describe(short=True) == "12.3 mm (at detector)"
    # Without a spacing the size is in pixels and never passes for millimetres.
    px = MarkSize(40.0, 20.0, 628.3, "px", NO_SPACING_WARNING)
    assert px.describe() == f"40.0 x 20.0 px ({NO_SPACING_WARNING})"
    assert px.describe(short=True) == "40.0×20.0 px (spacing unknown)"
    assert MarkSize(None, None, None, "mm").describe(short=True) == ""
