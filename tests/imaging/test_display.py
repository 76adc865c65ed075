"""The display pipeline: VOI (PS3.3 C.11.2), MONOCHROME1, invert, and the GUI's LUT."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_voi, apply_windowing

from mammoview.core import Image, ImageRef, Voi
from mammoview.imaging.display import (
    apply_voi as mv_apply_voi,
    default_voi,
    display_lut,
    lut_sample_points,
    to_display,
    to_uint8,
)
from mammoview.io.dicom import read_dicom

REF = ImageRef(path="t", kind="raster", uid="t", study_uid="s")


def make_image(pixels, photometric="MONOCHROME2", voi=()):
    return Image(pixels=np.asarray(pixels), ref=REF, photometric=photometric, voi=tuple(voi), bits_stored=12)


# ------------------------------------------------------------------ formulas


def test_linear_window_follows_c_11_2_1_2_1():
    voi = Voi(center=100, width=21)  # ramp from 89.5 (exclusive) to 109.5
    x = np.array([89, 89.5, 90, 99.5, 100, 109, 109.5, 110])
    expected = np.clip((x - 99.5) / 20 + 0.5, 0, 1)
    np.testing.assert_allclose(mv_apply_voi(x, voi), expected, atol=1e-7)
    assert mv_apply_voi(np.array([89.5]), voi)[0] == 0.0


def test_linear_width_one_is_a_threshold():
    out = mv_apply_voi(np.array([98, 99, 99.5, 100, 101]), Voi(center=100, width=1))
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 1])


def test_linear_exact_follows_c_11_2_1_3_2():
    voi = Voi(center=100, width=20, function="LINEAR_EXACT")
    x = np.array([80, 90, 95, 100, 105, 110, 120])
    np.testing.assert_allclose(mv_apply_voi(x, voi), [0, 0, 0.25, 0.5, 0.75, 1, 1], atol=1e-7)


def test_sigmoid_follows_c_11_2_1_3_1():
    voi = Voi(center=2000, width=400, function="SIGMOID")
    x = np.arange(0, 4096, dtype=np.float64)
    expected = 1 / (1 + np.exp(-4 * (x - 2000) / 400))
    np.testing.assert_allclose(mv_apply_voi(x, voi), expected, atol=1e-6)
    assert mv_apply_voi(np.array([2000]), voi)[0] == pytest.approx(0.5)


def test_voi_lut_clamps_below_first_and_past_the_end():
    voi = Voi(lut=np.array([0, 100, 200, 255], dtype=np.uint16), lut_first=10, lut_bits=8)
    out = mv_apply_voi(np.array([0, 10, 11, 12, 13, 50]), voi)
    np.testing.assert_allclose(out, np.array([0, 0, 100, 200, 255, 255]) / 255)


@pytest.mark.parametrize("bad", [Voi(center=1, width=0.5), Voi(center=1, width=0, function="SIGMOID"),
                                 Voi(center=1, width=5, function="GAMMA"), Voi()])
def test_invalid_voi_is_refused(bad):
    with pytest.raises(ValueError):
        mv_apply_voi(np.zeros(3), bad)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32, np.float32])
def test_apply_voi_any_dtype_never_modifies_input(dtype):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 250, size=(40, 30)).astype(dtype)
    before = pixels.copy()
    voi = Voi(center=120, width=100, function="SIGMOID")
    out = mv_apply_voi(pixels, voi)
    np.testing.assert_array_equal(pixels, before)
    assert out.dtype == np.float32 and out.shape == pixels.shape
    expected = 1 / (1 + np.exp(-4 * (pixels.astype(np.float64) - 120) / 100))
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_negative_integer_pixels_take_the_table_path_correctly():
    pixels = np.arange(-1000, 1000, dtype=np.int16).reshape(40, 50).repeat(3, axis=0)
    voi = Voi(center=-100, width=500)
    expected = np.clip((pixels.astype(np.float64) - (-100 - 0.5)) / 499 + 0.5, 0, 1)
    np.testing.assert_allclose(mv_apply_voi(pixels, voi), expected, atol=1e-6)


# ------------------------------------------------------------------ default VOI, to_display


def test_default_voi_is_the_files_first_else_the_data_range():
    first = Voi(center=5, width=10, explanation="NORMAL")
    assert default_voi(make_image([[1, 2]], voi=[first, Voi(center=1, width=2)])) is first
    image = make_image([[100, 300], [200, 250]])
    voi = default_voi(image)
    out = to_display(image, voi)
    assert out.min() == 0.0 and out.max() == 1.0
    assert out[1, 0] == pytest.approx(0.5)
    flat = to_display(make_image([[7, 7]]))
    assert np.isfinite(flat).all()


def test_monochrome1_is_inverted_and_user_invert_comes_after():
    pixels = np.array([[0, 50, 100]])
    voi = Voi(center=50, width=100, function="LINEAR_EXACT")
    mono2 = to_display(make_image(pixels), voi)
    mono1 = to_display(make_image(pixels, "MONOCHROME1"), voi)
    np.testing.assert_allclose(mono2, [[0, 0.5, 1]])
    np.testing.assert_allclose(mono1, [[1, 0.5, 0]])  # minimum value is white
    np.testing.assert_allclose(to_display(make_image(pixels), voi, invert=True), mono1)
    np.testing.assert_allclose(to_display(make_image(pixels, "MONOCHROME1"), voi, invert=True), mono2)


def test_to_uint8_rounds_and_clips():
    np.testing.assert_array_equal(to_uint8(np.array([-0.1, 0, 0.5 / 255, 0.5, 1, 2])), [0, 0, 1, 128, 255, 255])


# ------------------------------------------------------------------ display LUT for the GUI


VOIS = [
    Voi(center=2200, width=2600),
    Voi(center=2200, width=1, function="LINEAR"),
    Voi(center=1800.5, width=700, function="LINEAR_EXACT"),
    Voi(center=2262, width=380, function="SIGMOID"),
    Voi(lut=(np.arange(2000) * 2).astype(np.uint16), lut_first=1000, lut_bits=12),
]


@pytest.mark.parametrize("voi", VOIS, ids=lambda v: v.describe())
@pytest.mark.parametrize("monochrome1, invert", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("lo, hi, n", [(0, 4096, 4096), (-37.5, 5000.25, 4096), (100, 612, 256)])
def test_display_lut_equals_to_display_at_its_sample_points(voi, monochrome1, invert, lo, hi, n):
    lut = display_lut(voi, lo, hi, monochrome1=monochrome1, invert=invert, n=n, bits_stored=12)
    assert lut.dtype == np.uint8 and lut.shape == (n,)
    x = lut_sample_points(lo, hi, n)
    image = make_image(x[None, :], "MONOCHROME1" if monochrome1 else "MONOCHROME2")
    np.testing.assert_array_equal(lut, to_uint8(to_display(image, voi, invert=invert))[0])


def _pyqtgraph_index(values, lo, hi, n):
    """How pyqtgraph's ImageItem picks a LUT entry with levels=(lo, hi) (rescaleData + clip)."""
    return np.clip(np.floor((values.astype(np.float64) - lo) * (n / (hi - lo))), 0, n - 1).astype(int)


@pytest.mark.parametrize("invert", [False, True])
def test_levels_plus_lut_reproduce_every_pixel_of_a_real_mammogram(mias_dir, invert):
    from tests.io.dicom_builders import mias_12bit

    pixels = mias_12bit(mias_dir)
    image = make_image(pixels)
    for voi in VOIS:
        lut = display_lut(voi, 0, 4096, invert=invert, n=4096, bits_stored=12)
        on_screen = lut[_pyqtgraph_index(pixels, 0, 4096, 4096)]
        np.testing.assert_array_equal(on_screen, to_uint8(to_display(image, voi, invert=invert)))


def test_pyqtgraph_itself_renders_the_same_grey_levels(mias_dir):
    fn = pytest.importorskip("pyqtgraph.functions")
    from tests.io.dicom_builders import mias_12bit

    pixels = mias_12bit(mias_dir)[300:500, 200:500]
    voi = Voi(center=2262, width=380, function="SIGMOID")
    lut = display_lut(voi, 0, 4096, monochrome1=True, n=4096, bits_stored=12)
    argb, _alpha = fn.makeARGB(pixels, lut=lut, levels=(0, 4096))
    expected = to_uint8(to_display(make_image(pixels, "MONOCHROME1"), voi))
    np.testing.assert_array_equal(argb[..., 0], expected)


def test_lut_sample_points_refuse_bad_levels():
    with pytest.raises(ValueError):
        lut_sample_points(10, 10, 16)
    with pytest.raises(ValueError):
        lut_sample_points(0, 10, 1)


# ------------------------------------------------------------------ against pydicom on real files


def _pydicom_window_range(ds):
    """pydicom's windowing output range for this header (see apply_windowing)."""
    bits = int(ds.BitsStored)
    if ds.PixelRepresentation == 0:
        y_min, y_max = 0, 2**bits - 1
    else:
        y_min, y_max = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        y_min, y_max = y_min * slope + intercept, y_max * slope + intercept
    return y_min, y_max


@pytest.mark.parametrize("name", ["openrem_MG-Im-GE_Seno_1_ForPresentation.dcm", "openrem_MG-Im-GE_Seno_2_ForPresentation.dcm"])
def test_ge_sigmoid_windows_and_voi_luts_match_pydicom(dicom_samples, name):
    path = dicom_samples / "mammo" / name
    image = read_dicom(path)
    ds = pydicom.dcmread(path)
    # The files hold 1x2 pixels; run every 12-bit value through both implementations.
    values = np.arange(0, 4096, dtype=np.uint16)
    windows = [v for v in image.voi if not v.is_lut]
    luts = [v for v in image.voi if v.is_lut]
    assert len(windows) == len(luts) == 3
    y_min, y_max = _pydicom_window_range(ds)
    for index, voi in enumerate(windows):
        assert voi.function == "SIGMOID"
        reference = (apply_windowing(values, ds, index) - y_min) / (y_max - y_min)
        np.testing.assert_allclose(mv_apply_voi(values, voi), reference, atol=2e-6)
    for index, voi in enumerate(luts):
        reference = apply_voi(values, ds, index) / (2**voi.lut_bits - 1)
        np.testing.assert_allclose(mv_apply_voi(values, voi), reference, atol=1e-7)
    # The stored pixels themselves, through to_display (MONOCHROME2: no inversion).
    np.testing.assert_allclose(
        to_display(image), (apply_windowing(ds.pixel_array, ds, 0) - y_min) / (y_max - y_min), atol=2e-6
    )


def test_voi_lut_test_pattern_matches_pydicom(dicom_samples):
    path = dicom_samples / "other" / "pydicomdata_vlut_04.dcm"
    image = read_dicom(path, require_mammogram=False)
    ds = pydicom.dcmread(path)
    assert image.voi[0].is_lut and image.voi[0].lut_bits == 16
    reference = apply_voi(ds.pixel_array, ds, 0) / 65535
    np.testing.assert_allclose(to_display(image), reference, atol=1e-7)


@pytest.mark.parametrize("name", ["pydicom_MR_small.dcm", "wg04_RG3_J2KI.dcm"])
def test_linear_windows_match_pydicom_signed_and_monochrome1(dicom_samples, name):
    path = dicom_samples / "other" / name
    image = read_dicom(path, require_mammogram=False)
    ds = pydicom.dcmread(path)
    y_min, y_max = _pydicom_window_range(ds)
    reference = (apply_windowing(ds.pixel_array, ds, 0) - y_min) / (y_max - y_min)
    if image.is_monochrome1:
        reference = 1 - reference
    np.testing.assert_allclose(to_display(image), reference, atol=2e-6)


@pytest.mark.slow
def test_full_size_mammogram_window_matches_pydicom(dicom_samples):
    path = dicom_samples / "mammo" / "wg04_MG1_J2KI.dcm"
    image = read_dicom(path)
    header = pydicom.dcmread(path, stop_before_pixels=True)  # pixels: see test_dicom_samples
    display = to_display(image)
    band = image.pixels[2000:2400]
    reference = apply_windowing(band, header, 0) / 4095
    np.testing.assert_allclose(display[2000:2400], reference, atol=2e-6)
    assert 0.0 < display.mean() < 1.0
