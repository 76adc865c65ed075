"""load_image / read_header dispatch across DICOM, raster and phantom refs."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from mammoview.core.errors import ImageReadError, UnsupportedFileError
from mammoview.io.loader import load_image, open_image, read_header
from mammoview.io.phantom import demo_studies

from tests.conftest import require_data

CBIS = ("dicom-samples", "mammo", "cbisddsm_Mass-Test_P_00116_RIGHT_MLO_2_cropped.dcm")


def test_raster_ref_loads_pixels_and_keeps_the_ref(mias_dir):
    ref = read_header(mias_dir / "mdb005.png")
    image = load_image(ref)
    assert image.ref is ref or image.ref == ref
    assert image.pixels.shape == (1024, 1024) and len(image.findings) == 2


def test_phantom_ref_renders():
    ref = demo_studies()[0].images[0]
    image = load_image(ref)
    assert image.synthetic and image.pixels.dtype == np.uint16


def test_dicom_ref_loads():
    path = require_data(*CBIS)
    ref = read_header(path)
    assert ref.kind == "dicom"
    image = load_image(ref)
    assert image.pixels.ndim == 2 and image.pixels.shape == (ref.rows, ref.cols)


def test_extensionless_dicom_is_recognised(tmp_path):
    target = tmp_path / "IM000001"
    shutil.copyfile(require_data(*CBIS), target)
    assert read_header(target).kind == "dicom"
    assert open_image(target).pixels.ndim == 2


def test_unknown_file_is_a_read_error(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"\x00\x01binary junk" * 50)
    with pytest.raises(ImageReadError, match="not a DICOM file or a supported image"):
        read_header(path)
    empty = tmp_path / "IM0002"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty file"):
        read_header(empty)


def test_unknown_kind_is_unsupported(mias_dir):
    ref = dataclasses.replace(read_header(mias_dir / "mdb001.png"), kind="video")
    with pytest.raises(UnsupportedFileError, match="no reader"):
        load_image(ref)


def test_file_gone_after_discovery_is_a_read_error(tmp_path, mias_dir):
    copy = tmp_path / "mdb001.png"
    shutil.copyfile(mias_dir / "mdb001.png", copy)
    ref = read_header(copy)
    copy.unlink()
    with pytest.raises(ImageReadError, match="not found"):
        load_image(ref)
