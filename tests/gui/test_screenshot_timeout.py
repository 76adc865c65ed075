"""--screenshot on a study that takes too long: the picture of what is shown, and exit 1."""

import os
import subprocess
import sys

from PIL import Image as PILImage


def test_a_screenshot_past_the_timeout_saves_what_is_shown(tmp_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MAMMOVIEW_CONFIG_DIR=str(tmp_path / "cfg"),
               MAMMOVIEW_SCREENSHOT_TIMEOUT_S="0.001")  # before the demo can settle
    done = subprocess.run([sys.executable, "-m", "mammoview", "--demo", "--screenshot", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert PILImage.open(out).size[0] > 100  # the window as it was, not nothing
    assert "had not finished computing" in done.stderr and str(out) in done.stderr
