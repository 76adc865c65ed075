"""Window/level presets: the file's own VOIs, computed ones, and the user's saved defaults."""

from __future__ import annotations

import pytest

from mammoview.reading import ReadingError, ReadingStore
from mammoview.reading.presets import (
    AUTO_PERCENTILE,
    FULL_RANGE,
    default_preset,
    delete_user_preset,
    presets_for,
    save_user_preset,
    set_default_preset,
)

from tests.reading.helpers import images_of, only_study, write_dicom_study, write_png


def test_dicom_file_windows_come_first_under_their_own_names(tmp_path, store):
    write_dicom_study(tmp_path / "d", "1.2.826.0.1.3680043.8.498.31")
    image = images_of(only_study(tmp_path / "d"))[0]
    presets = presets_for(image, store)
    assert [(p.name, p.source) for p in presets[:2]] == [("NORMAL", "file"), ("HARDER", "file")]
    assert (presets[0].voi.center, presets[0].voi.width) == (2000.0, 3000.0)
    assert default_preset(image, store).name == "NORMAL"


def test_auto_presets_cover_the_data(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    write_png(folder / "a.png", 3)
    image = images_of(only_study(folder))[0]
    presets = {p.name: p for p in presets_for(image)}
    lo, hi = image.value_range()
    full = presets[FULL_RANGE].voi
    assert full.center - full.width / 2 == pytest.approx(lo) and full.center + full.width / 2 == pytest.approx(hi)
    assert presets[AUTO_PERCENTILE].voi.width < full.width
    assert default_preset(image).name == FULL_RANGE  # no file VOI: the data range


def test_user_presets_and_default_persist_per_user(tmp_path, db_path):
    write_dicom_study(tmp_path / "d", "1.2.826.0.1.3680043.8.498.32")
    image = images_of(only_study(tmp_path / "d"))[0]
    with ReadingStore(db_path) as store:
        save_user_preset(store, "Dense", 2500, 800)
        save_user_preset(store, "Soft", 1800, 1600)
        save_user_preset(store, "Dense", 2600, 700)  # replaces
        set_default_preset(store, "Dense")
        with pytest.raises(ReadingError):
            save_user_preset(store, "Bad", 1, 0)
    with ReadingStore(db_path) as store:  # another session of the same user
        chosen = default_preset(image, store)
        assert (chosen.name, chosen.source, chosen.voi.center, chosen.voi.width) == ("Dense", "user", 2600.0, 700.0)
        assert [p.name for p in presets_for(image, store) if p.source == "user"] == ["Soft", "Dense"]
        delete_user_preset(store, "Dense")
        assert default_preset(image, store).name == "NORMAL"  # default gone: back to the file's
        set_default_preset(store, None)
