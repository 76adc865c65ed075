"""Synthetic demo phantom: studies, pixels, orientation, lesions, determinism, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mammoview.core.errors import ImageReadError
from mammoview.core.image import ImageRef
from mammoview.io.phantom import (
    PHANTOM_WARNING,
    PhantomLesion,
    demo_studies,
    lesion_position,
    make_phantom,
    render_phantom,
)


@pytest.fixture(scope="module")
def studies():
    return demo_studies()


@pytest.fixture(scope="module")
def rendered(studies):
    return {ref.path: render_phantom(ref) for study in studies for ref in study.images}


def test_two_four_view_synthetic_studies(studies):
    assert len(studies) == 2
    for n, study in enumerate(studies, start=1):
        assert study.is_four_view and study.synthetic
        assert [ref.slot for ref in study.images] == ["RCC", "LCC", "RMLO", "LMLO"]
        assert study.label == f"SYNTHETIC DEMO {n}"
        for ref in study.images:
            assert ref.kind == "phantom" and ref.synthetic
            assert ref.path == f"phantom://{n}/{ref.slot}"
            assert ref.patient.name == f"SYNTHETIC DEMO {n}"
            assert ref.study_uid == study.uid
    assert [s.ground_truth for s in studies] == ["benign", "malignant"]
    assert len({ref.uid for s in studies for ref in s.images}) == 8


def test_findings_and_ground_truth_per_view(studies):
    one, two = studies
    kinds = {ref.slot: sorted(f.kind for f in ref.findings) for ref in one.images}
    assert kinds == {"RCC": ["CIRC"], "RMLO": ["CIRC"], "LCC": [], "LMLO": []}
    kinds = {ref.slot: sorted(f.kind for f in ref.findings) for ref in two.images}
    assert kinds == {"LCC": ["CALC", "SPIC"], "LMLO": ["CALC", "SPIC"], "RCC": [], "RMLO": []}
    for study in studies:
        for ref in study.images:
            assert all(f.source == "phantom" and f.has_location for f in ref.findings)
            expected = "normal" if not ref.findings else ref.findings[0].severity
            assert ref.ground_truth == expected


def test_rendered_image_fields(rendered):
    for image in rendered.values():
        assert image.pixels.shape == (1600, 1200) and image.pixels.dtype == np.uint16
        assert int(image.pixels.max()) <= 4095 and image.bits_stored == 12
        assert image.warnings == (PHANTOM_WARNING,)
        assert image.pixel_spacing_mm is not None and image.pixel_spacing_mm[0] > 0
        assert image.voi and image.voi[0].center is not None
        assert image.photometric == "MONOCHROME2"


def test_chest_wall_side_follows_laterality(rendered):
    for image in rendered.values():
        left_band = image.pixels[:, :100].mean()
        right_band = image.pixels[:, -100:].mean()
        if image.laterality == "R":
            assert right_band > 3 * left_band, image.path  # right breast: chest wall on the right
        else:
            assert left_band > 3 * right_band, image.path


def test_mlo_has_a_pectoral_muscle_and_cc_does_not(rendered):
    for image in rendered.values():
        px = image.pixels.astype(float)
        corner = px[20:200, :120] if image.laterality == "L" else px[20:200, -120:]
        centre = px[700:900, 300:900]
        if image.view == "MLO":
            assert corner.mean() > centre.mean() + 300, image.path
        else:
            assert corner.mean() < 500, image.path  # above the CC outline: air


def test_lesions_are_where_the_findings_say(rendered):
    for image in rendered.values():
        px = image.pixels.astype(float)
        for finding in image.findings:
            r, c, radius = int(finding.row), int(finding.col), finding.radius
            inner = px[r - int(radius / 3) : r + int(radius / 3), c - int(radius / 3) : c + int(radius / 3)]
            ring = np.concatenate([
                px[r - int(3 * radius) : r - int(2 * radius), c - 10 : c + 10].ravel(),
                px[r + int(2 * radius) : r + int(3 * radius), c - 10 : c + 10].ravel(),
            ])
            if finding.kind == "CALC":
                assert inner.max() > np.percentile(ring, 99) + 500, image.path
            else:
                assert inner.mean() > ring.mean() + 200, image.path


def test_rendering_is_deterministic(studies, rendered):
    ref = studies[1].images[1]
    np.testing.assert_array_equal(render_phantom(ref).pixels, rendered[ref.path].pixels)
    other = studies[1].images[0]
    assert not np.array_equal(rendered[other.path].pixels, rendered[ref.path].pixels)


def test_views_render_fast(studies):
    render_phantom(studies[0].images[0])  # warm imports
    times = []
    for ref in studies[1].images:
        start = time.perf_counter()
        render_phantom(ref)
        times.append(time.perf_counter() - start)
    # Target < 0.3 s per view; the bound leaves room for a busy shared test machine.
    assert np.median(times) < 0.6, times


def test_make_phantom_at_benchmark_size():
    lesion = PhantomLesion("SPIC", 0.5, 0.0, 8.0, "malignant")
    pixels = make_phantom("RMLO", rows=3328, cols=4084, seed=3, lesions=(lesion,))
    assert pixels.shape == (3328, 4084) and pixels.dtype == np.uint16
    row, col, _ = lesion_position("RMLO", 3328, 4084, lesion)
    assert 0 < row < 3328 and 0 < col < 4084
    assert pixels[int(row), int(col)] > np.median(pixels[pixels > 500])


def test_seed_changes_texture_not_anatomy():
    a = make_phantom("LCC", rows=400, cols=300, seed=1)
    b = make_phantom("LCC", rows=400, cols=300, seed=2)
    assert not np.array_equal(a, b)
    assert abs(float((a > 500).mean()) - float((b > 500).mean())) < 0.02  # same outline


def test_bad_inputs():
    with pytest.raises(ValueError, match="slot"):
        make_phantom("XCC", rows=100, cols=100)
    for path in ("phantom://9/RCC", "phantom://1/RXX", "/tmp/a.png"):
        ref = ImageRef(path=path, kind="phantom", uid="x", study_uid="y")
        with pytest.raises(ImageReadError):
            render_phantom(ref)
