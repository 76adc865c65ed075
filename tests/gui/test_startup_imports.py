"""The window must appear before torch has loaded: nothing on the start-up path imports it.

ARCHITECTURE.md: torch is imported lazily wherever the app starts up. A stray module-level
``import torch`` in a GUI, enhance or segmentation module would add seconds to start-up.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT

STARTUP_MODULES = (
    "mammoview.cli",
    "mammoview.gui.app",
    "mammoview.gui.main_window",
    "mammoview.enhance.views",
    "mammoview.report.pdf",
)


def test_startup_path_does_not_import_torch():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in STARTUP_MODULES)
        + "heavy = sorted(m for m in ('torch', 'torchvision') if m in sys.modules)\n"
        + "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"start-up path imported {out.stdout.strip()}"
