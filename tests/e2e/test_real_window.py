"""The real application in a real X window (Xvfb): start, compute, paint, screenshot.

Runs ``python -m mammoview --demo --screenshot OUT.png`` exactly as a user or the README
tooling would, under the xcb platform plugin, and checks the picture: not blank, and the
four enhancement panels of the first demo image each show a breast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.realwindow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCREEN = (1920, 1080)


def _free_display() -> int:
    for number in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    pytest.skip("no free X display number between :90 and :139")


@pytest.fixture
def xvfb():
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb); the real-window test needs it")
    number = _free_display()
    proc = subprocess.Popen(
        [exe, f":{number}", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb did not start: {proc.stderr.read().decode(errors='replace')}")
        time.sleep(0.05)
    yield f":{number}"
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def bright_regions(rgb: np.ndarray, *, min_fraction: float = 0.002) -> list[tuple[int, int, int]]:
    """(area, centre row, centre col) of large grey-bright blobs: the breasts on screen.

    Grey (low saturation) and brighter than the dark theme and the black panel
    background; large enough that text, icons and the yellow notices never count.
    """
    from scipy import ndimage

    img = rgb.astype(np.int16)
    grey = img.mean(axis=2)
    saturation = img.max(axis=2) - img.min(axis=2)
    mask = (grey > 70) & (saturation < 40)
    mask = ndimage.binary_opening(mask, iterations=2)
    labels, count = ndimage.label(mask)
    if count == 0:
        return []
    areas = ndimage.sum(mask, labels, index=range(1, count + 1))
    centres = ndimage.center_of_mass(mask, labels, index=range(1, count + 1))
    minimum = min_fraction * mask.size
    return [(int(a), int(c[0]), int(c[1])) for a, c in zip(areas, centres) if a >= minimum]


def test_demo_screenshot_shows_four_panels(xvfb, tmp_path):
    from PIL import Image as PILImage

    out = tmp_path / "shot.png"
    env = dict(os.environ)
    env.update(DISPLAY=xvfb, QT_QPA_PLATFORM="xcb", MAMMOVIEW_CONFIG_DIR=str(tmp_path / "cfg"),
               PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "mammoview", "--demo", "--screenshot", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert out.is_file(), proc.stderr

    rgb = np.asarray(PILImage.open(out).convert("RGB"))
    assert rgb.shape[:2] == (SCREEN[1], SCREEN[0])  # the whole screen was grabbed
    assert rgb.std() > 20, "screenshot is blank"
    regions = bright_regions(rgb)
    assert len(regions) == 4, f"expected 4 breast panels side by side, found {regions}"
    rows = [r for _, r, _ in regions]
    cols = sorted(c for _, _, c in regions)
    # Side by side: one row of four, at least a tenth of the screen apart.
    assert max(rows) - min(rows) < SCREEN[1] * 0.15
    assert min(np.diff(cols)) > SCREEN[0] * 0.1
