"""Raster reader: MIAS PGM/PNG, 16-bit PGM/PNG/TIFF, JPEG, colour handling and errors."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageFile

from mammoview.core.errors import ImageReadError, UnsupportedFileError
from mammoview.io import raster
from mammoview.io.raster import read_raster, read_raster_header

from tests.conftest import require_data

PGM_NAMES = ("mdb001", "mdb002", "mdb005", "mdb006")


@pytest.fixture(scope="module")
def mdb001() -> np.ndarray:
    return np.asarray(PILImage.open(require_data("mias", "mdb001.png")))


def _pgm(pixels: np.ndarray, *, maxval: int = 255, header: bytes | None = None) -> bytes:
    rows, cols = pixels.shape
    head = header if header is not None else f"P5\n{cols} {rows}\n{maxval}\n".encode()
    data = pixels.astype(">u2").tobytes() if maxval > 255 else pixels.astype(np.uint8).tobytes()
    return head + data


# ----------------------------------------------------------------------------- MIAS


def test_every_mias_image_opens_as_1024_square_uint8(mias_dir):
    paths = sorted(mias_dir.glob("mdb*.png"))
    assert len(paths) == 258
    for path in paths:
        image = read_raster(path)
        assert image.pixels.shape == (1024, 1024), path.name
        assert image.pixels.dtype == np.uint8, path.name
        assert image.pixel_spacing_mm == (0.2, 0.2)
        assert image.spacing_source == "MIAS (200 micron)"
        assert image.view == "MLO"


def test_mias_metadata_from_name_and_info(mias_dir):
    right = read_raster_header(mias_dir / "mdb005.png")
    left = read_raster_header(mias_dir / "mdb006.png")
    assert (right.laterality, left.laterality) == ("R", "L")
    assert right.slot == "RMLO" and left.slot == "LMLO"
    assert right.patient.id == left.patient.id == "MIAS patient 3"
    assert right.study_uid == left.study_uid == "mias-patient-3"
    assert right.kind == "raster" and right.rows == right.cols == 1024
    assert len(right.findings) == 2 and right.ground_truth == "benign"
    assert left.findings == () and left.ground_truth == "normal"


def test_pixels_are_kept_as_stored(mdb001):
    image = read_raster(require_data("mias", "mdb001.png"))
    np.testing.assert_array_equal(image.pixels, mdb001)
    # mdb001 is a right breast: its tissue is on the image's right, not mirrored.
    assert image.pixels[:, -300:].mean() > image.pixels[:, :300].mean()


@pytest.mark.parametrize("name", PGM_NAMES)
def test_distributed_pgms_match_the_pngs(name):
    pgm = read_raster(require_data("mias-pgm", f"{name}.pgm"))
    png = read_raster(require_data("mias", f"{name}.png"))
    assert pgm.pixels.dtype == np.uint8 and pgm.bits_stored == 8
    np.testing.assert_array_equal(pgm.pixels, png.pixels)
    assert pgm.ref.laterality == png.ref.laterality and pgm.pixel_spacing_mm == (0.2, 0.2)


@pytest.mark.parametrize(
    "header",
    [
        b"P5\n# CREATOR: scanner\n1024 1024\n255\n",
        b"P5 # after magic\n1024 # width\n# a full comment line\n1024\n# before maxval\r\n255\n",
        b"P5\n#\n#\n1024\t1024 255\n",
    ],
)
def test_pgm_comment_lines_anywhere_in_the_header(tmp_path, mdb001, header):
    path = tmp_path / "mdb001.pgm"
    path.write_bytes(_pgm(mdb001, header=header))
    np.testing.assert_array_equal(read_raster(path).pixels, mdb001)
    assert (read_raster_header(path).rows, read_raster_header(path).cols) == (1024, 1024)


@pytest.mark.parametrize("maxval, scale", [(65535, 257), (4095, 16)])
def test_16_bit_pgm_is_big_endian(tmp_path, mdb001, maxval, scale):
    wide = mdb001.astype(np.uint16) * scale
    path = tmp_path / "mdb001_16.pgm"
    path.write_bytes(_pgm(wide, maxval=maxval))
    image = read_raster(path)
    assert image.pixels.dtype == np.uint16
    assert image.bits_stored == maxval.bit_length()
    np.testing.assert_array_equal(image.pixels, wide)


def test_ascii_pgm(tmp_path, mdb001):
    crop = mdb001[300:500, 600:900]
    body = "\n".join(" ".join(str(v) for v in row) for row in crop)
    path = tmp_path / "crop.pgm"
    path.write_text(f"P2\n# plain\n{crop.shape[1]} {crop.shape[0]}\n255\n{body}\n")
    np.testing.assert_array_equal(read_raster(path).pixels, crop)


def test_ascii_pgm_16_bit(tmp_path):
    values = np.array([[0, 1000], [40000, 65535]], dtype=np.uint16)
    path = tmp_path / "w.pgm"
    path.write_text("P2 2 2 65535\n0 1000\n40000 65535\n")
    image = read_raster(path)
    assert image.pixels.dtype == np.uint16
    np.testing.assert_array_equal(image.pixels, values)


# ----------------------------------------------------------------------------- other formats


def test_ddsm_tissue_pngs_open_as_960_by_480():
    folder = require_data("ddsm-tissue", "images")
    paths = sorted(folder.glob("*.png"))
    assert len(paths) == 50
    for path in paths:
        ref = read_raster_header(path)
        assert (ref.rows, ref.cols) == (960, 480)
        # Side and view are what the name says (io/names.py); no findings are invented.
        assert (ref.laterality, ref.view, ref.findings) == ("R", "MLO", ())
        assert ref.study_uid == f"name:{folder / path.name.split('.')[0]}"
    image = read_raster(paths[0])
    assert image.pixels.shape == (960, 480) and image.pixels.dtype == np.uint8
    assert image.pixel_spacing_mm is None


def test_ddsm_tissue_orientation_comes_from_the_pixels_not_the_name():
    """Every file is named RIGHT_MLO, but the chest wall is on the left in most and on the
    right in some (index.csv): the side drawn is found in the pixels."""
    import csv

    from mammoview.imaging.orientation import chest_wall_side

    root = require_data("ddsm-tissue")
    with open(root / "index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    sides = {row["chest_wall_side"] for row in rows}
    assert sides == {"left", "right"}
    for row in rows:
        image = read_raster(root / row["image"])
        assert image.ref.laterality == "R"
        assert chest_wall_side(image.pixels) == row["chest_wall_side"], row["id"]


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_png_and_tiff(tmp_path, mdb001, suffix):
    wide = (mdb001.astype(np.uint16) * 16 + 7).astype(np.uint16)  # 12-bit content
    path = tmp_path / f"wide{suffix}"
    PILImage.fromarray(wide).save(path)
    image = read_raster(path)
    assert image.pixels.dtype == np.uint16
    np.testing.assert_array_equal(image.pixels, wide)


@pytest.mark.parametrize("suffix", [".tif", ".jpg", ".bmp"])
def test_8_bit_formats(tmp_path, mdb001, suffix):
    path = tmp_path / f"img{suffix}"
    PILImage.fromarray(mdb001).save(path, **({"quality": 95} if suffix == ".jpg" else {}))
    image = read_raster(path)
    assert image.pixels.dtype == np.uint8 and image.pixels.shape == (1024, 1024)
    tolerance = 3.0 if suffix == ".jpg" else 0.0
    assert np.abs(image.pixels.astype(float) - mdb001).mean() <= tolerance


def test_grey_rgb_is_converted_with_a_warning(tmp_path, mdb001):
    path = tmp_path / "grey_rgb.png"
    PILImage.fromarray(np.stack([mdb001] * 3, axis=-1)).save(path)
    image = read_raster(path)
    np.testing.assert_array_equal(image.pixels, mdb001)
    assert any("converted to greyscale" in w for w in image.warnings)


def test_grey_rgb_jpeg_passes_the_grey_test(tmp_path, mdb001):
    path = tmp_path / "grey.jpg"
    PILImage.fromarray(np.stack([mdb001] * 3, axis=-1)).save(path, quality=90)
    image = read_raster(path)
    assert np.abs(image.pixels.astype(float) - mdb001).mean() < 3.0


def test_colour_image_is_refused(tmp_path, mdb001):
    rgb = np.stack([mdb001, mdb001[::-1], mdb001[:, ::-1]], axis=-1)
    path = tmp_path / "photo.png"
    PILImage.fromarray(rgb).save(path)
    with pytest.raises(UnsupportedFileError, match="colour image, not a mammogram"):
        read_raster(path)


def test_colour_ppm_is_refused(tmp_path):
    rgb = np.zeros((10, 10, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    path = tmp_path / "red.ppm"
    path.write_bytes(b"P6\n10 10\n255\n" + rgb.tobytes())
    with pytest.raises(UnsupportedFileError, match="colour image"):
        read_raster(path)


# ----------------------------------------------------------------------------- errors


def _error(path) -> str:
    with pytest.raises(ImageReadError) as info:
        read_raster(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(path.name + ": ")
    return message


def test_empty_file(tmp_path):
    path = tmp_path / "mdb001.pgm"
    path.write_bytes(b"")
    assert "empty file" in _error(path)
    with pytest.raises(ImageReadError, match="empty file"):
        read_raster_header(path)


def test_truncated_pgm(tmp_path, mdb001):
    path = tmp_path / "cut.pgm"
    path.write_bytes(_pgm(mdb001)[: 1024 * 500])
    assert "truncated PGM" in _error(path)


def test_truncated_pgm_header(tmp_path):
    path = tmp_path / "cut.pgm"
    path.write_bytes(b"P5\n1024 ")
    assert "truncated PGM header" in _error(path)


def test_truncated_png(tmp_path, mdb001):
    path = tmp_path / "cut.png"
    PILImage.fromarray(mdb001).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in _error(path)


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n" * 20)
    assert "not an image file" in _error(path)


def test_huge_pgm_is_refused_from_its_header(tmp_path):
    path = tmp_path / "huge.pgm"
    path.write_bytes(b"P5\n100000 100000\n255\n" + b"\0" * 100)
    assert "too large" in _error(path)
    with pytest.raises(ImageReadError, match="too large"):
        read_raster_header(path)


def _png_with_size(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_huge_png_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_with_size(30000, 30000))
    monkeypatch.setattr(ImageFile.ImageFile, "load", _no_decoding)
    assert "too large" in _error(path)


def test_one_bit_image_is_unsupported(tmp_path):
    path = tmp_path / "bw.png"
    PILImage.new("1", (20, 20)).save(path)
    with pytest.raises(UnsupportedFileError, match="black-and-white"):
        read_raster(path)


# ----------------------------------------------------------------------------- header only


def _no_decoding(*args, **kwargs):
    raise AssertionError("pixels were decoded")


def test_header_reads_size_without_decoding(monkeypatch, tmp_path, mdb001):
    monkeypatch.setattr(ImageFile.ImageFile, "load", _no_decoding)
    monkeypatch.setattr(raster, "_read_pnm_pixels", _no_decoding)
    ref = read_raster_header(require_data("mias", "mdb002.png"))
    assert (ref.rows, ref.cols, ref.laterality) == (1024, 1024, "L")
    tif = tmp_path / "x.tif"
    PILImage.fromarray(mdb001[:700, :300]).save(tif)
    assert (read_raster_header(tif).rows, read_raster_header(tif).cols) == (700, 300)
    pgm = require_data("mias-pgm", "mdb006.pgm")
    assert read_raster_header(pgm).rows == 1024
    with pytest.raises(AssertionError, match="decoded"):
        read_raster(pgm)


def test_ref_size_is_corrected_when_the_file_changed(tmp_path, mdb001):
    path = tmp_path / "a.png"
    PILImage.fromarray(mdb001).save(path)
    ref = read_raster_header(path)
    PILImage.fromarray(mdb001[:100, :50]).save(path)
    image = read_raster(path, ref)
    assert (image.ref.rows, image.ref.cols) == (100, 50)
