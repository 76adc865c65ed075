"""build_report: studies and images -> report content, on the demo phantoms and real MIAS files."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pypdf import PdfReader

from mammoview.core.image import ImageRef
from mammoview.io.discovery import discover
from mammoview.io.loader import load_image
from mammoview.io.phantom import demo_studies
from mammoview.report.pdf import build_report, write_report




def _page_texts(path):
    return [" ".join(p.extract_text().split()) for p in PdfReader(str(path)).pages]


def test_four_view_demo_study_gets_one_hanging_page_per_view(tmp_path):
    study = demo_studies()[0]
    events = []
    content = build_report(
        study, views=("original", "clahe"), impression="demo impression", max_side=240,
        progress=events.append,
    )
    assert content.synthetic
    pages = content.pages()
    assert [len(views) for _, views in pages] == [4, 4]
    assert [v.title for v in pages[0][1]] == ["RCC - Original", "LCC - Original", "RMLO - Original", "LMLO - Original"]
    assert "hanging" in pages[1][0] and "CLAHE" in pages[1][0]
    assert all(max(v.rgb.shape[:2]) <= 240 for v in content.views)
    assert not any(v.trim_margins for v in content.views)  # renders are shown whole, one scale
    assert list(content.settings) == ["CLAHE"] and content.settings["CLAHE"]["tiles"] == 8
    assert events[-1].done == events[-1].total == 8

    texts = _page_texts(write_report(tmp_path / "demo.pdf", content))
    assert len(texts) == 3
    for number, text in enumerate(texts, start=1):
        assert "SYNTHETIC DEMO DATA" in text and f"Page {number} of 3" in text


def test_mias_report_lists_ground_truth_with_locations(tmp_path, mias_pgm_folder):
    found = discover([mias_pgm_folder])
    content = build_report(found.studies, views=("original",), max_side=200)
    findings = {(name, f.kind, f.row, f.col) for name, f in content.findings}
    # Info.txt: mdb001 G CIRC B 535 425 197 -> row 1024 - 425 = 599, col 535.
    assert ("mdb001.pgm", "CIRC", 599.0, 535.0) in findings
    assert ("mdb006.pgm", "NORM", None, None) in findings  # the normal image is listed too
    assert len(content.pages()) == 4  # no 4-view study: one page per image
    assert len(content.all_studies) == 2  # MIAS patients 1 and 3

    text = _page_texts(write_report(tmp_path / "mias.pdf", content))[0]
    assert "(599, 535)" in text and "circumscribed mass" in text and "MIAS patient 3" in text


def test_unreadable_image_is_a_warning_not_a_failure(mias_pgm_folder, tmp_path):
    found = discover([mias_pgm_folder / "mdb001.pgm"])
    good = found.studies[0].images[0]
    missing = replace(good, path=str(tmp_path / "gone.pgm"), uid="gone")
    content = build_report([good, missing], views=("original",), max_side=100)
    assert len(content.views) == 1
    assert any("gone.pgm" in w and "left out" in w for w in content.warnings)


def test_loaded_images_are_reported_as_given(mias_pgm_folder):
    ref = discover([mias_pgm_folder / "mdb002.pgm"]).studies[0].images[0]
    image = load_image(ref)
    content = build_report(image, views=("original", "superres"), max_side=128)
    assert [v.title for v in content.views] == ["Original", "Super-resolution"]
    assert "2048 x 2048 px" in content.views[1].caption


def test_nothing_readable_or_bad_view_raises_value_error(tmp_path):
    ghost = ImageRef(path=str(tmp_path / "none.pgm"), kind="raster", uid="x", study_uid="s")
    with pytest.raises(ValueError, match="none of the images"):
        build_report([ghost], views=("original",))
    with pytest.raises(ValueError, match="unknown view"):
        build_report([ghost], views=("sharpen",))
