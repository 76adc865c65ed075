"""The DICOM reader on the real sample files (data/dicom-samples)."""

from __future__ import annotations

import time

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut as pydicom_modality_lut

from mammoview.core.errors import ImageReadError, UnsupportedFileError
from mammoview.io.dicom import (
    FOR_PROCESSING_WARNING,
    is_dicom,
    read_dicom,
    read_dicom_header,
)
from mammoview.io.dicom_view import resolve_laterality_view

GE_PRESENTATION = "mammo/openrem_MG-Im-GE_Seno_1_ForPresentation.dcm"
GE_PRESENTATION_2 = "mammo/openrem_MG-Im-GE_Seno_2_ForPresentation.dcm"
MG1_J2K = "mammo/wg04_MG1_J2KI.dcm"


# (file, laterality, view, spacing (row, col), spacing source, presentation intent, photometric)
MAMMO_FILES = [
    ("mammo/cbisddsm_Mass-Test_P_00116_RIGHT_MLO_2_cropped.dcm", "R", "MLO", None, "", "", "MONOCHROME2"),
    ("mammo/openrem_MG-Im-GE-SenDS-scaled.dcm", "L", "CC", (53.961136, 45.0225), "PixelSpacing", "FOR PROCESSING", "MONOCHROME1"),
    (GE_PRESENTATION, "L", "CC", (74.708182, 46.575), "PixelSpacing", "FOR PRESENTATION", "MONOCHROME2"),
    ("mammo/openrem_MG-Im-GE_Seno_1_ForProcessing.dcm", "L", "CC", (74.708182, 46.575), "PixelSpacing", "FOR PROCESSING", "MONOCHROME1"),
    (GE_PRESENTATION_2, "L", "CC", (74.708182, 46.575), "PixelSpacing", "FOR PRESENTATION", "MONOCHROME2"),
]


@pytest.mark.parametrize("name, side, view, spacing, source, intent, photometric", MAMMO_FILES)
def test_mammo_file_header_and_pixels(dicom_samples, name, side, view, spacing, source, intent, photometric):
    path = dicom_samples / name
    ref = read_dicom_header(path)
    assert (ref.laterality, ref.view) == (side, view)
    ds = pydicom.dcmread(path)
    assert ref.uid == ds.SOPInstanceUID
    assert ref.study_uid == ds.StudyInstanceUID
    assert (ref.rows, ref.cols) == (ds.Rows, ds.Columns)

    image = read_dicom(path, ref)
    assert image.ref is ref
    assert image.photometric == photometric
    assert image.presentation_intent == intent
    assert image.spacing_source == source
    if spacing is None:
        assert image.pixel_spacing_mm is None
    else:
        assert image.pixel_spacing_mm == pytest.approx(spacing)
    assert (FOR_PROCESSING_WARNING in image.warnings) == (intent == "FOR PROCESSING")
    expected = pydicom_modality_lut(ds.pixel_array, ds)
    np.testing.assert_array_equal(image.pixels, expected)


def test_ge_file_has_three_sigmoid_windows_and_three_voi_luts(dicom_samples):
    image = read_dicom(dicom_samples / GE_PRESENTATION)
    windows = [v for v in image.voi if not v.is_lut]
    luts = [v for v in image.voi if v.is_lut]
    assert [(v.center, v.width, v.function, v.explanation) for v in windows] == [
        (2262, 380, "SIGMOID", "NORMAL"),
        (2286, 380, "SIGMOID", "HARDER"),
        (2262, 500, "SIGMOID", "SOFTER"),
    ]
    assert image.voi[0] is windows[0]  # windows first: the viewer can drag them
    assert [(len(v.lut), v.lut_first, v.lut_bits, v.explanation) for v in luts] == [
        (1715, 1405, 12, "NORMAL"),
        (1715, 1429, 12, "HARDER"),
        (2255, 1135, 12, "SOFTER"),
    ]
    ds = pydicom.dcmread(dicom_samples / GE_PRESENTATION)
    np.testing.assert_array_equal(luts[2].lut, np.asarray(ds.VOILUTSequence[2].LUTData))


def test_header_patient_and_study_fields(dicom_samples):
    ref = read_dicom_header(dicom_samples / MG1_J2K)
    assert ref.kind == "dicom"
    assert ref.modality == "RG"
    assert ref.patient.sex == "F"
    assert ref.study.date == "20040826"
    assert ref.study.uid == "1.3.6.1.4.1.5962.1.2.3.20040826185059.5457"
    assert (ref.laterality, ref.view, ref.slot) == ("L", "MLO", "LMLO")
    ge = read_dicom_header(dicom_samples / GE_PRESENTATION)
    assert ge.study.manufacturer == "GE MEDICAL SYSTEMS"


def test_hologic_view_code_sequence_wins_over_view_position(dicom_samples):
    # ViewPosition says FLATFIELD; the View Code Sequence says cranio-caudal. The file
    # has no pixel data, so the header values go through the same rules directly.
    ds = pydicom.dcmread(dicom_samples / "mammo/openrem_MG-Im-Hologic-PropProj.dcm")
    assert ds.ViewPosition == "FLATFIELD"
    side, view = resolve_laterality_view(
        view_codes=[(item.CodeValue, item.CodeMeaning) for item in ds.ViewCodeSequence],
        view_position=ds.ViewPosition,
        laterality=ds.Laterality,
        patient_orientation=list(ds.PatientOrientation),
        texts=[ds.SeriesDescription, ds.ProtocolName],
    )
    assert (side, view) == ("R", "CC")


def test_header_read_is_fast_on_the_full_size_file(dicom_samples):
    path = dicom_samples / MG1_J2K
    read_dicom_header(path)
    start = time.perf_counter()
    for _ in range(10):
        read_dicom_header(path)
    # It must not touch the 2.7 MB of pixel data: discovery calls it on every file.
    assert (time.perf_counter() - start) / 10 < 0.05


@pytest.mark.slow
def test_full_size_jpeg2000_mammogram_decodes(dicom_samples):
    path = dicom_samples / MG1_J2K
    image = read_dicom(path)
    assert image.shape == (4664, 3064)
    assert image.pixels.dtype == np.uint16
    assert image.bits_stored == 12
    assert int(image.pixels.max()) <= 4095
    assert [(v.center, v.width, v.function) for v in image.voi] == [(2047, 4095, "LINEAR")]
    # Spot-check against pydicom's own decode of a row band.
    reference = pydicom.dcmread(path).pixel_array
    np.testing.assert_array_equal(image.pixels[2000:2010], reference[2000:2010])


# ---------------------------------------------------------------- refused files

REFUSED = [
    ("mammo/wg04_MG1_JPLY.dcm", ImageReadError,
     r"^wg04_MG1_JPLY\.dcm: cannot decode JPEG Extended \(12-bit\) pixel data \(1\.2\.840\.10008\.1\.2\.4\.51\): no installed decoder"),
    ("mammo/openrem_MG-Im-Hologic-PropProj.dcm", ImageReadError, r"no pixel data in the file \(header only\)$"),
    ("other/DICOMDIR", UnsupportedFileError, r"^DICOMDIR: DICOMDIR \(an index of a DICOM disc, not an image\)"),
    ("other/openrem_MG-RDSR-Hologic_2D.dcm", UnsupportedFileError, r"radiation dose structured report \(RDSR\), not an image$"),
    ("other/pydicom_test-SR.dcm", UnsupportedFileError, r"structured report \(SR\), not an image$"),
    ("other/pydicom_CT_small.dcm", UnsupportedFileError, r"not a mammogram: Modality CT$"),
    ("other/pydicom_MR_small.dcm", UnsupportedFileError, r"not a mammogram: Modality MR$"),
    ("other/pydicom_MR_small_RLE.dcm", UnsupportedFileError, r"not a mammogram: Modality MR$"),
    ("other/pydicom_MR_small_jp2klossless.dcm", UnsupportedFileError, r"not a mammogram: Modality MR$"),
    ("other/pydicom_MR_small_jpeg_ls_lossless.dcm", UnsupportedFileError, r"not a mammogram: Modality MR$"),
    ("other/pydicom_MR_truncated.dcm", UnsupportedFileError, r"not a mammogram: Modality MR$"),
    ("other/pydicomdata_JPEG-LL.dcm", UnsupportedFileError, r"not a mammogram: Modality NM$"),
    ("other/pydicomdata_US1_J2KI.dcm", UnsupportedFileError, r"not a mammogram: Modality US$"),
    ("other/pydicomdata_vlut_04.dcm", UnsupportedFileError, r"not a mammogram: Modality OT$"),
    ("other/wg04_RG3_J2KI.dcm", UnsupportedFileError, r"not a mammogram: Modality CR$"),
    ("other/pydicomdata_emri_small_jpeg_2k_lossless_too_short.dcm", UnsupportedFileError, r"not a mammogram: Modality MR$"),
    ("other/pydicom_no_meta.dcm", ImageReadError, r"not a DICOM file: no 'DICM' preamble and no readable DICOM header$"),
]


@pytest.mark.parametrize("name, error, message", REFUSED)
def test_refused_files_give_one_line_reasons(dicom_samples, name, error, message):
    path = dicom_samples / name
    with pytest.raises(error, match=message) as info:
        read_dicom(path)
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text
    assert text.startswith(path.name + ": ")
    if error is UnsupportedFileError or "pixel data in the file" in message:
        # Decided from the header alone, so discovery reports it without decoding.
        with pytest.raises(error, match=message):
            read_dicom_header(path)


# Without the mammography check, the broken non-mammography files still fail cleanly
# on their own defect, and the codec test files decode like pydicom decodes them.
BROKEN_ANY_MODALITY = [
    ("other/pydicom_MR_truncated.dcm", r"pixel data is truncated: 8130 of 8192 bytes present$"),
    ("other/pydicomdata_emri_small_jpeg_2k_lossless_too_short.dcm",
     r"pixel data is truncated or damaged: the JPEG 2000 Lossless data ends early"),
    ("other/pydicomdata_US1_J2KI.dcm", r"colour image \(YBR_ICT, 3 samples per pixel\)"),
]


@pytest.mark.parametrize("name, message", BROKEN_ANY_MODALITY)
def test_broken_files_of_any_modality(dicom_samples, name, message):
    with pytest.raises(ImageReadError, match=message) as info:
        read_dicom(dicom_samples / name, require_mammogram=False)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "name",
    [
        "other/pydicom_MR_small_RLE.dcm",
        "other/pydicom_MR_small_jp2klossless.dcm",
        "other/pydicom_MR_small_jpeg_ls_lossless.dcm",
        "other/pydicomdata_JPEG-LL.dcm",
        "other/wg04_RG3_J2KI.dcm",
        "other/pydicom_CT_small.dcm",
        "other/pydicomdata_vlut_04.dcm",
    ],
)
def test_codec_files_decode_like_pydicom(dicom_samples, name):
    path = dicom_samples / name
    image = read_dicom(path, require_mammogram=False)
    ds = pydicom.dcmread(path)
    np.testing.assert_array_equal(image.pixels, pydicom_modality_lut(ds.pixel_array, ds))


def test_compressed_lossless_mr_files_equal_the_uncompressed_one(dicom_samples):
    plain = read_dicom(dicom_samples / "other/pydicom_MR_small.dcm", require_mammogram=False)
    assert plain.pixels.dtype == np.int16
    for name in ("pydicom_MR_small_RLE.dcm", "pydicom_MR_small_jp2klossless.dcm",
                 "pydicom_MR_small_jpeg_ls_lossless.dcm"):
        image = read_dicom(dicom_samples / "other" / name, require_mammogram=False)
        np.testing.assert_array_equal(image.pixels, plain.pixels)


def test_ct_rescale_intercept_is_applied_as_integers(dicom_samples):
    image = read_dicom(dicom_samples / "other/pydicom_CT_small.dcm", require_mammogram=False)
    ds = pydicom.dcmread(dicom_samples / "other/pydicom_CT_small.dcm")
    assert image.pixels.dtype.kind == "i"
    np.testing.assert_array_equal(image.pixels, ds.pixel_array.astype(np.int32) - 1024)


def test_is_dicom(dicom_samples, tmp_path):
    assert is_dicom(dicom_samples / MG1_J2K)
    assert is_dicom(dicom_samples / "other/DICOMDIR")
    assert not is_dicom(dicom_samples / "other/pydicom_no_meta.dcm")
    assert not is_dicom(dicom_samples.parent / "mias" / "mdb001.png")
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    assert not is_dicom(empty)
    assert not is_dicom(tmp_path / "missing.dcm")
