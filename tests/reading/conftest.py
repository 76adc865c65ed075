from __future__ import annotations

import pytest

from mammoview.io.phantom import demo_studies, render_phantom
from mammoview.reading import ReadingSession, ReadingStore


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "readings.sqlite3"


@pytest.fixture
def store(db_path):
    with ReadingStore(db_path) as s:
        yield s


@pytest.fixture(scope="session")
def phantom():
    """The first synthetic demo study and its right CC image (spacing 0.15 mm)."""
    study = demo_studies()[0]
    return study, render_phantom(study.images[0])


@pytest.fixture
def session(store, phantom):
    study, _ = phantom
    s = ReadingSession.open(store, study, reader="tester")
    yield s
    s.close()
