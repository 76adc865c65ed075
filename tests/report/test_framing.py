"""Report pictures fitted to their content: a panel grab's background band goes, marks stay."""

from __future__ import annotations

import numpy as np

from mammoview.report.framing import PAD_FRACTION, content_box, fit_to_content

# As QA saw it: a 1024 x 1024 mammogram in a 194 x 874 panel is drawn 186 pixels wide,
# in the middle of the panel's black background.
PANEL = (874, 194)
IMAGE_BOX = (344, 530, 4, 190)
GREEN = (60, 235, 60)


def _grab(panel=PANEL, box=IMAGE_BOX) -> np.ndarray:
    """A panel grab: black background, an asymmetric grey "image" (dark left, bright right,
    as a right breast is) and a reader's label reaching out past the image's left edge."""
    rgb = np.zeros((*panel, 3), np.uint8)
    r0, r1, c0, c1 = box
    ramp = np.linspace(30, 220, c1 - c0, dtype=np.float32)
    rgb[r0:r1, c0:c1] = ramp.astype(np.uint8)[None, :, None]
    rgb[r1 - 40 : r1 - 30, 0:70] = GREEN  # "#1 mass 12 x 10.0 mm", drawn past the image
    return rgb


def _green(rgb: np.ndarray) -> int:
    return int(np.all(rgb == GREEN, axis=2).sum())


def test_a_tall_panel_grab_is_trimmed_to_the_image_and_keeps_the_label():
    grab = _grab()
    (fitted,) = fit_to_content([grab])
    rows, cols = fitted.shape[:2]
    image_rows = IMAGE_BOX[1] - IMAGE_BOX[0]
    pad = max(2, round(PAD_FRACTION * image_rows))
    assert rows == image_rows + 2 * pad  # the black band above and below is gone
    assert cols == PANEL[1]  # the label reaches the panel's left edge: nothing cut there
    assert _green(fitted) == _green(grab)  # every pixel of the label is kept
    # Rows and columns are only dropped, never resampled: the aspect is the grab's own.
    r0, r1, c0, c1 = content_box(grab)
    assert np.array_equal(fitted, grab[r0:r1, c0:c1])


def test_a_mark_outside_the_image_widens_the_box():
    grab = _grab()
    grab[:, :80] = 0  # no label: the box is the image's
    assert content_box(grab)[2] > 0
    grab[100:104, 20:24] = (235, 40, 40)  # a red circle far above the image
    r0, r1, c0, c1 = content_box(grab)
    assert r0 <= 100 and c0 <= 20


def test_a_picture_filled_to_its_corners_is_left_whole():
    rng = np.random.default_rng(3)
    picture = rng.integers(0, 256, size=(120, 80, 3), dtype=np.uint8)
    assert content_box(picture) == (0, 120, 0, 80)
    blank = np.zeros((50, 60, 3), np.uint8)
    assert content_box(blank) == (0, 50, 0, 60)


def test_linked_panels_of_one_page_share_one_box():
    # Side-by-side panels differ by a pixel; CLAHE lifts the dark air, so its content
    # reaches further left. Alone each would be fitted to another scale.
    original = _grab()
    original[:, :80] = 0  # no label this time
    clahe = _grab(panel=(874, 193), box=(344, 530, 4, 189))
    clahe[:, :80] = 0
    clahe[IMAGE_BOX[0] : IMAGE_BOX[1], 4:100] = 90
    assert content_box(original) != content_box(clahe)
    other = np.full((300, 300, 3), 255, np.uint8)  # another size: fitted on its own
    a, b, c = fit_to_content([original, clahe, other])
    # One box: the same rows, the same columns but for the pixel one panel lacks.
    assert a.shape[0] == b.shape[0] and abs(a.shape[1] - b.shape[1]) <= 1
    own = content_box(original)
    assert a.shape[1] > own[3] - own[2]  # widened to CLAHE's content, so one scale
    assert a.shape[0] == own[1] - own[0]  # ... and still fitted: no black band
    assert c.shape == other.shape
