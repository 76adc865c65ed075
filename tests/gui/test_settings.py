"""Settings live in an INI file under $MAMMOVIEW_CONFIG_DIR and survive a restart."""

from __future__ import annotations


from mammoview.enhance.params import ClaheParams, WaveletParams
from mammoview.gui.settings import MAX_RECENT, AppSettings, settings_path


def test_file_goes_to_config_dir_from_env(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("MAMMOVIEW_CONFIG_DIR", str(tmp_path / "cfg"))
    s = AppSettings()
    s.set_last_folder("/data/mias")
    s.sync()
    assert settings_path() == tmp_path / "cfg" / "mammoview.ini"
    assert "mias" in (tmp_path / "cfg" / "mammoview.ini").read_text()


def test_params_round_trip_as_frozen_dataclasses(qapp):
    s = AppSettings()
    s.set_params("wavelet", WaveletParams(wavelet="db2", levels=3, gain=3.5, denoise=False))
    s.set_params("clahe", ClaheParams(clip_limit=0.03, tiles=4, denoise="wiener"))
    s.sync()
    again = AppSettings()
    assert again.params("wavelet", WaveletParams()) == WaveletParams("db2", 3, 3.5, False)
    assert again.params("clahe", ClaheParams()) == ClaheParams(0.03, 4, "wiener")


def test_corrupt_or_stale_values_fall_back_to_defaults(qapp):
    s = AppSettings()
    s._qs.setValue("params/wavelet", '{"wavelet": "haar-not-offered", "levels": "x", "gain": 2.5}')
    s._qs.setValue("params/clahe", "not json")
    # The invalid family fails validation, so the whole set falls back to the default.
    assert s.params("wavelet", WaveletParams()) == WaveletParams()
    assert s.params("clahe", ClaheParams()) == ClaheParams()
    s._qs.setValue("params/wavelet", '{"levels": "x", "gain": 2.5}')
    assert s.params("wavelet", WaveletParams()) == WaveletParams(gain=2.5)


def test_recent_files_most_recent_first_without_duplicates(qapp, tmp_path):
    s = AppSettings()
    for i in range(MAX_RECENT + 3):
        s.add_recent([f"/data/{i}.dcm"])
    s.add_recent(["/data/5.dcm"])
    recent = AppSettings().recent_files() if s.sync() is None else []
    assert recent[0] == "/data/5.dcm"
    assert len(recent) == MAX_RECENT
    assert len(set(recent)) == MAX_RECENT


def test_panels_and_flags(qapp):
    s = AppSettings()
    assert s.visible_panels(["original", "wavelet"]) == ["original", "wavelet"]
    s.set_visible_panels(["original", "clahe"])
    s.set_flag("invert", True)
    s.sync()
    again = AppSettings()
    assert again.visible_panels([]) == ["original", "clahe"]
    assert again.flag("invert") is True
    assert again.flag("hanging", False) is False
