"""Shared fixtures: where the real data lives, and Qt set to run without a display."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Qt must never try to open a real display in the test process; the real-window
# test starts its own Xvfb and a separate process.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep the tests away from the user's own settings, recent files and models.
os.environ.setdefault("MAMMOVIEW_TESTING", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """The real data folder: $MAMMOVIEW_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("MAMMOVIEW_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def require_data(*parts: str) -> Path:
    """Path inside the data folder, or skip the test with the reason it is missing."""
    path = data_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set MAMMOVIEW_DATA)")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return require_data()


@pytest.fixture(scope="session")
def mias_dir() -> Path:
    return require_data("mias")


@pytest.fixture(scope="session")
def dicom_samples() -> Path:
    return require_data("dicom-samples")


@pytest.fixture
def mias_pgm_folder(tmp_path):
    """The four distributed MIAS PGMs with the real Info.txt beside them (a user's download)."""
    src = require_data("mias-pgm")
    info = require_data("mias", "Info.txt")
    folder = tmp_path / "mias"
    folder.mkdir()
    for pgm in sorted(src.glob("*.pgm")):
        shutil.copy(pgm, folder / pgm.name)
    shutil.copy(info, folder / "Info.txt")
    return folder


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Settings, recent files and caches go to a fresh folder for every test."""
    home = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("MAMMOVIEW_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("MAMMOVIEW_DATA_DIR", str(home / "data"))
