"""GUI tests: no trained super-resolution model unless a test asks for it.

On a CPU the shipped EDSR takes about 2 s per 256-pixel tile; the window tests check
the window, and tests/gui/test_superres_panel.py checks the model path on a small image.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_sr_model(monkeypatch):
    monkeypatch.setenv("MAMMOVIEW_SR_MODEL", "off")
