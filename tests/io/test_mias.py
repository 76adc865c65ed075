"""MIAS Info.txt parsing against the real distributed file and hand-written edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mammoview.core.errors import ImageReadError
from mammoview.io.mias import (
    find_info,
    lookup_entry,
    mias_laterality,
    mias_number,
    mias_patient,
    parse_info,
)
from mammoview.io.raster import read_raster

# Published centres that lie in the background of their image under either y
# convention (checked by hand: both are far outside the breast outline).
KNOWN_OFF_BREAST = {"mdb212", "mdb214"}


@pytest.fixture(scope="module")
def info(mias_dir):
    return parse_info(mias_dir / "Info.txt")


def test_ground_truth_counts_over_the_images_present(info, mias_dir):
    present = sorted(p.stem for p in mias_dir.glob("mdb*.png"))
    assert len(present) == 258
    truths = [info[ref].ground_truth for ref in present]
    assert truths.count("normal") == 161
    assert truths.count("benign") == 54
    assert truths.count("malignant") == 43


def test_several_rows_for_one_image_are_kept_in_order(info):
    entry = info["mdb005"]
    assert entry.background == "F" and entry.background_name == "fatty"
    findings = entry.findings()
    assert len(findings) == 2
    # Rows "477 133 30" and "500 168 26": y is counted from the bottom.
    assert (findings[0].row, findings[0].col, findings[0].radius) == (1024 - 133, 477, 30)
    assert (findings[1].row, findings[1].col, findings[1].radius) == (1024 - 168, 500, 26)
    assert all(f.kind == "CIRC" and f.severity == "benign" for f in findings)
    assert entry.ground_truth == "benign"


def test_rows_without_location(info):
    (finding,) = info["mdb059"].findings()
    assert finding.kind == "CIRC" and finding.severity == "benign"
    assert not finding.has_location and finding.radius is None
    for ref in ("mdb216", "mdb233", "mdb245"):  # "*NOTE 3*": spread calcifications
        (calc,) = info[ref].findings()
        assert calc.kind == "CALC" and calc.severity == "malignant"
        assert not calc.has_location and "distributed" in calc.note
        assert info[ref].ground_truth == "malignant"


def test_normal_images_have_no_findings(info):
    assert info["mdb006"].findings() == ()
    assert info["mdb006"].ground_truth == "normal"


def test_image_height_sets_the_y_flip(info):
    (finding,) = info["mdb001"].findings(height=2048)
    assert finding.row == 2048 - 425 and finding.col == 535


def test_patient_pairs_and_laterality():
    assert [mias_patient(n) for n in ("mdb001", "mdb002", "mdb005", "mdb006", "mdb322")] == [1, 1, 3, 3, 161]
    assert mias_laterality("mdb001") == "R" and mias_laterality("mdb002") == "L"
    assert mias_laterality(322) == "L"
    assert mias_number("MDB007.PGM") == 7 and mias_number("scan001.png") is None
    with pytest.raises(ValueError):
        mias_patient("scan.png")


def _breast_mask(pixels: np.ndarray) -> np.ndarray:
    """Largest bright connected region of a 4x-reduced, smoothed image (the breast)."""
    small = pixels.reshape(256, 4, 256, 4).mean(axis=(1, 3))
    small = ndimage.uniform_filter(small, 3)
    labels, count = ndimage.label(small > 20)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, count + 1))
    return labels == 1 + int(np.argmax(sizes))


@pytest.fixture(scope="module")
def breast_masks(info, mias_dir):
    masks = {}
    for ref, entry in info.items():
        if any(f.has_location for f in entry.findings()):
            masks[ref] = _breast_mask(read_raster(mias_dir / f"{ref}.png").pixels)
    return masks


def _off_breast(masks, centres) -> set[str]:
    """Images with a centre (row, col) outside the breast mask."""
    outside = set()
    for ref, mask in masks.items():
        for image_row, col in centres(ref):
            r = min(int(image_row) // 4, 255)
            c = min(int(col) // 4, 255)
            if not mask[r, c]:
                outside.add(ref)
    return outside


def test_located_findings_fall_inside_the_breast(info, breast_masks):
    assert len(breast_masks) > 90
    def parsed(ref):  # what the reader attaches to the image
        return [(f.row, f.col) for f in info[ref].findings() if f.has_location]

    assert _off_breast(breast_masks, parsed) == KNOWN_OFF_BREAST


def test_the_inside_breast_check_catches_a_missing_y_flip(info, breast_masks):
    # Reading y as a row (no flip) puts more centres in the background: the check
    # above would fail for a reader that forgot the bottom-left origin.
    def unflipped(ref):
        return [(row.y, row.x) for row in info[ref].rows if row.x is not None]

    wrong = _off_breast(breast_masks, unflipped)
    assert len(wrong - KNOWN_OFF_BREAST) >= 3


def test_parse_synthetic_file_with_header_and_quirks(tmp_path):
    path = tmp_path / "Info.txt"
    path.write_text(
        "    MAMMOGRAPHIC IMAGE ANALYSIS SOCIETY\n\nSome text mdb in a sentence.\n"
        "=====\n"
        "mdb001 G CIRC B 535 425 197\n"
        "mdb002 D NORM \n"
        "mdb003 F CALC M *NOTE 3* \n"
        "mdb004 F SPIC M 100 200\n"
        "mdb004 F MISC B\n"
        "\r\n",
        encoding="latin-1",
    )
    entries = parse_info(path)
    assert sorted(entries) == ["mdb001", "mdb002", "mdb003", "mdb004"]
    assert entries["mdb002"].ground_truth == "normal"
    assert entries["mdb003"].ground_truth == "malignant"
    spic, misc = entries["mdb004"].findings()
    assert (spic.row, spic.col, spic.radius) == (824, 100, None)
    assert not misc.has_location
    assert entries["mdb004"].ground_truth == "malignant"


@pytest.mark.parametrize(
    "row, reason",
    [
        ("mdb001 X CIRC B 1 2 3", "background"),
        ("mdb001 G BLOB B 1 2 3", "class"),
        ("mdb001 G CIRC 1 2 3", "severity"),
        ("mdb001 G CIRC B 1x 2 3", "not numbers"),
    ],
)
def test_malformed_rows_name_the_line(tmp_path, row, reason):
    path = tmp_path / "Info.txt"
    path.write_text(f"header\n{row}\n")
    with pytest.raises(ImageReadError, match=f"line 2: .*{reason}"):
        parse_info(path)


def test_file_without_rows_is_an_error(tmp_path):
    path = tmp_path / "Info.txt"
    path.write_text("just a readme\n")
    with pytest.raises(ImageReadError, match="no MIAS rows"):
        parse_info(path)


def test_info_is_found_beside_the_image_or_in_a_parent(tmp_path):
    (tmp_path / "Info.txt").write_text("mdb010 F CIRC B 525 425 33\n")
    nested = tmp_path / "images" / "png"
    nested.mkdir(parents=True)
    image = nested / "mdb010.png"
    assert find_info(image) == tmp_path / "Info.txt"
    entry = lookup_entry(image)
    assert entry is not None and entry.findings()[0].row == 1024 - 425
    assert lookup_entry(nested / "mdb011.png") is None  # no row for it
    assert lookup_entry(nested / "other.png") is None  # not a MIAS name
