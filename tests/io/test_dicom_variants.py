"""DICOM flavours built at test time from a real MIAS mammogram.

Every lossless flavour must display exactly like the plain MONOCHROME2 original;
SIGMOID is checked against its own formula (PS3.3 C.11.2.1.3.1).
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels import apply_voi_lut as pydicom_voi_lut
from pydicom.sequence import Sequence

from mammoview.core.errors import ImageReadError, UnsupportedFileError
from mammoview.imaging.display import to_display, to_uint8
from mammoview.io.dicom import FOR_PROCESSING_WARNING, is_dicom, read_dicom, read_dicom_header
from mammoview.io.limits import MAX_PIXELS
from tests.io.dicom_builders import (
    MAX_VALUE,
    VIEW_CODES_SCT,
    WINDOW,
    build_variants,
    mammo_dataset,
    mias_12bit,
    write_dicom,
)


@pytest.fixture(scope="module")
def mias_pixels(mias_dir) -> np.ndarray:
    return mias_12bit(mias_dir, "mdb001.png")


@pytest.fixture(scope="module")
def variants(mias_pixels, tmp_path_factory) -> dict:
    return build_variants(tmp_path_factory.mktemp("variants"), mias_pixels)


@pytest.fixture(scope="module")
def original_display(variants) -> np.ndarray:
    return to_display(read_dicom(variants["original"]))


def test_original_reads_the_real_pixels(variants, mias_pixels):
    image = read_dicom(variants["original"])
    np.testing.assert_array_equal(image.pixels, mias_pixels)
    assert image.shape == (1024, 1024)
    assert int(mias_pixels.max()) > 3000  # really spread over 12 bits
    assert image.ref.slot == "RCC"
    assert image.pixel_spacing_mm == (0.2, 0.2) and image.spacing_source == "PixelSpacing"
    assert image.warnings == ()
    assert image.ref.patient.id == "MIAS001" and image.ref.study.accession == "ACC42"
    # The window clips both ends on this image, so the comparisons below mean something.
    display = to_display(image)
    assert (display == 0).any() and (display == 1).any()


@pytest.mark.parametrize("name", ["j2k_lossless", "rle", "jpegls_lossless"])
def test_lossless_compressed_variants_display_identically(variants, mias_pixels, original_display, name):
    ds = pydicom.dcmread(variants[name], stop_before_pixels=True)
    assert ds.file_meta.TransferSyntaxUID.is_compressed
    image = read_dicom(variants[name])
    np.testing.assert_array_equal(image.pixels, mias_pixels)
    np.testing.assert_array_equal(to_display(image), original_display)


def test_monochrome1_with_inverted_values_displays_identically(variants, original_display):
    image = read_dicom(variants["monochrome1"])
    assert image.is_monochrome1
    display = to_display(image)
    # Mirrored LINEAR window: equal up to float32 rounding, and equal on screen.
    np.testing.assert_allclose(display, original_display, atol=1e-6)
    np.testing.assert_array_equal(to_uint8(display), to_uint8(original_display))
    # The user's invert undoes the MONOCHROME1 inversion.
    np.testing.assert_allclose(to_display(image, invert=True), 1 - original_display, atol=1e-6)


def test_for_processing_opens_with_warning_and_same_display(variants, original_display):
    image = read_dicom(variants["for_processing"])
    assert image.presentation_intent == "FOR PROCESSING"
    assert image.warnings == (FOR_PROCESSING_WARNING,)
    np.testing.assert_array_equal(to_display(image), original_display)


def test_sigmoid_window_follows_its_formula_and_pydicom(tmp_path, mias_pixels):
    center, width = WINDOW
    path = write_dicom(tmp_path / "sigmoid.dcm", mammo_dataset(mias_pixels, voi_function="SIGMOID"))
    image = read_dicom(path)
    assert image.voi[0].function == "SIGMOID"
    display = to_display(image)
    x = mias_pixels.astype(np.float64)
    expected = 1.0 / (1.0 + np.exp(-4.0 * (x - center) / width))  # PS3.3 C.11.2.1.3.1
    np.testing.assert_allclose(display, expected, atol=2e-6)
    ds = pydicom.dcmread(path)
    reference = pydicom_voi_lut(ds.pixel_array, ds) / MAX_VALUE
    np.testing.assert_allclose(display, reference, atol=2e-6)


def test_multi_valued_window_gives_one_voi_per_value(tmp_path, mias_pixels):
    ds = mammo_dataset(mias_pixels, window=[(2200, 2600), (2000, 1000)],
                       explanations=["NORMAL", "HARDER"], voi_function="LINEAR_EXACT")
    image = read_dicom(write_dicom(tmp_path / "two.dcm", ds))
    assert [(v.center, v.width, v.function, v.explanation) for v in image.voi] == [
        (2200, 2600, "LINEAR_EXACT", "NORMAL"),
        (2000, 1000, "LINEAR_EXACT", "HARDER"),
    ]


def test_invalid_window_is_dropped_with_a_warning(tmp_path, mias_pixels):
    ds = mammo_dataset(mias_pixels, window=[(2200, 0.5), (2000, 1000)])
    image = read_dicom(write_dicom(tmp_path / "bad.dcm", ds))
    assert [(v.center, v.width) for v in image.voi] == [(2000, 1000)]
    assert any("invalid window 1" in w for w in image.warnings)


def test_rescale_slope_and_intercept(tmp_path, mias_pixels):
    integral = read_dicom(write_dicom(tmp_path / "int.dcm", mammo_dataset(mias_pixels, rescale=(2, -100))))
    assert integral.pixels.dtype.kind == "i"
    np.testing.assert_array_equal(integral.pixels, mias_pixels.astype(np.int64) * 2 - 100)
    fractional = read_dicom(write_dicom(tmp_path / "frac.dcm", mammo_dataset(mias_pixels, rescale=(0.5, 10))))
    assert fractional.pixels.dtype == np.float32
    np.testing.assert_allclose(fractional.pixels, mias_pixels * 0.5 + 10)


def test_modality_lut_sequence(tmp_path, mias_pixels):
    ds = mammo_dataset(mias_pixels)
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    item.ModalityLUTType = "OD"
    item.add_new(0x00283006, "US", [int(v) for v in (np.arange(4096) * 3 // 2)])  # LUT Data
    ds.ModalityLUTSequence = Sequence([item])
    image = read_dicom(write_dicom(tmp_path / "mlut.dcm", ds))
    np.testing.assert_array_equal(image.pixels, mias_pixels.astype(np.int64) * 3 // 2)
    reference = pydicom.pixels.apply_modality_lut(pydicom.dcmread(tmp_path / "mlut.dcm").pixel_array, ds)
    np.testing.assert_array_equal(image.pixels, reference)


def test_imager_pixel_spacing_is_the_fallback(tmp_path, mias_pixels):
    ds = mammo_dataset(mias_pixels[:8, :8], pixel_spacing=None, imager_spacing=(0.07, 0.065))
    image = read_dicom(write_dicom(tmp_path / "imager.dcm", ds))
    assert image.pixel_spacing_mm == (0.07, 0.065)
    assert image.spacing_source == "ImagerPixelSpacing"


def test_sct_view_codes_and_text_fallback(tmp_path, mias_pixels):
    small = mias_pixels[:8, :8]
    ref = read_dicom_header(write_dicom(tmp_path / "sct.dcm", mammo_dataset(small, view="MLO", view_codes=VIEW_CODES_SCT, laterality="L")))
    assert ref.slot == "LMLO"
    ds = mammo_dataset(small, view=None, laterality=None)
    ds.SeriesDescription = "R CC"
    assert read_dicom_header(write_dicom(tmp_path / "text.dcm", ds)).slot == "RCC"


def test_patient_name_never_in_error_messages(tmp_path, mias_pixels):
    ds = mammo_dataset(mias_pixels, patient_name="Secret^Person")
    path = write_dicom(tmp_path / "t.dcm", ds)
    data = path.read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) - 1000])
    with pytest.raises(ImageReadError) as info:
        read_dicom(tmp_path / "cut.dcm")
    assert "Secret" not in str(info.value)
    assert "pixel data is truncated" in str(info.value)


def test_multi_frame_opens_first_frame_with_warning(tmp_path, mias_pixels):
    frames = np.stack([mias_pixels[:64, :64], MAX_VALUE - mias_pixels[:64, :64]])
    image = read_dicom(write_dicom(tmp_path / "mf.dcm", mammo_dataset(frames, frames=2)))
    np.testing.assert_array_equal(image.pixels, mias_pixels[:64, :64])
    assert "multi-frame image (2 frames): showing frame 1 only" in image.warnings


def test_huge_image_is_refused_from_the_header(tmp_path, mias_pixels):
    ds = mammo_dataset(mias_pixels[:8, :8])
    ds.Rows, ds.Columns = 20000, 20000  # 400 MP claimed, 128 bytes present
    path = write_dicom(tmp_path / "huge.dcm", ds)
    assert 20000 * 20000 > MAX_PIXELS
    for read in (read_dicom_header, read_dicom):
        with pytest.raises(ImageReadError, match=r"image too large: 20000 x 20000 = 400 megapixels \(the limit is 200 megapixels\)"):
            read(path)


def test_empty_file_and_garbage(tmp_path):
    (tmp_path / "empty.dcm").write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"^empty.dcm: empty file \(0 bytes\)$"):
        read_dicom_header(tmp_path / "empty.dcm")
    (tmp_path / "text.dcm").write_bytes(b"hello, this is not an image" * 10)
    with pytest.raises(ImageReadError, match="not a DICOM file"):
        read_dicom(tmp_path / "text.dcm")


def test_other_modality_accepted_only_for_breast(tmp_path, mias_pixels):
    small = mias_pixels[:8, :8]
    ds = mammo_dataset(small, modality="CR")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR Image
    read_dicom_header(write_dicom(tmp_path / "breast_cr.dcm", ds))  # BodyPartExamined BREAST
    ds.BodyPartExamined = "CHEST"
    with pytest.raises(UnsupportedFileError, match="not a mammogram: Modality CR$"):
        read_dicom_header(write_dicom(tmp_path / "chest_cr.dcm", ds))


def test_file_without_preamble_still_opens(tmp_path, mias_pixels):
    # Old archives hold bare datasets: no 128-byte preamble, no "DICM", no File Meta.
    ds = mammo_dataset(mias_pixels[:16, :16])
    del ds.file_meta
    path = tmp_path / "bare.dcm"
    ds.save_as(path, implicit_vr=True, little_endian=True)
    assert path.read_bytes()[128:132] != b"DICM"
    assert is_dicom(path)
    image = read_dicom(path)
    np.testing.assert_array_equal(image.pixels, mias_pixels[:16, :16])
    assert image.ref.slot == "RCC"
