"""What the window remembers between runs, in one INI file.

The file lives in ``$MAMMOVIEW_CONFIG_DIR`` when that is set (tests set it to a fresh
folder) and otherwise in ``platformdirs.user_config_dir("mammoview")``. An INI file
rather than the platform registry so that a user can read, copy or delete it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10
SETTINGS_FILE = "mammoview.ini"


def config_dir() -> Path:
    """The folder that holds the settings file (not created here)."""
    env = os.environ.get("MAMMOVIEW_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("mammoview"))


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


class AppSettings:
    """Typed access to the settings file.

    Parameters
    ----------
    path : Path, optional
        INI file to use; defaults to :func:`settings_path` evaluated now, so that a
        changed ``MAMMOVIEW_CONFIG_DIR`` is honoured by the next window.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else settings_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def sync(self) -> None:
        self._qs.sync()

    # -- window ------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self._qs.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, data: QByteArray) -> None:
        self._qs.setValue("window/geometry", data)

    def window_state(self) -> QByteArray | None:
        value = self._qs.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_state(self, data: QByteArray) -> None:
        self._qs.setValue("window/state", data)

    # -- enhancement parameters ------------------------------------------------------------
    def params(self, key: str, default: Any) -> Any:
        """A frozen params dataclass stored as JSON, or ``default`` when absent or stale.

        Unknown or mistyped fields (a settings file from another version) fall back to
        the default's value for that field instead of failing.
        """
        raw = self._qs.value(f"params/{key}")
        if not raw:
            return default
        try:
            stored = json.loads(str(raw))
        except ValueError:
            return default
        kwargs = {}
        for f in fields(default):
            current = getattr(default, f.name)
            if f.name in stored and _same_kind(stored[f.name], current):
                value = stored[f.name]
                kwargs[f.name] = tuple(value) if isinstance(current, tuple) else value
            else:
                kwargs[f.name] = current
        try:
            return type(default)(**kwargs)
        except (TypeError, ValueError):
            return default

    def set_params(self, key: str, params: Any) -> None:
        self._qs.setValue(f"params/{key}", json.dumps(asdict(params)))

    # -- panels ------------------------------------------------------------------------
    def visible_panels(self, default: list[str]) -> list[str]:
        raw = self._qs.value("view/visible_panels")
        if raw is None:
            return list(default)
        try:
            names = json.loads(str(raw))
        except ValueError:
            return list(default)
        return [str(n) for n in names] if isinstance(names, list) else list(default)

    def set_visible_panels(self, names: list[str]) -> None:
        self._qs.setValue("view/visible_panels", json.dumps(list(names)))

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._qs.value(f"view/{key}")
        if value is None:
            return default
        return str(value).lower() in ("1", "true", "yes")

    def set_flag(self, key: str, value: bool) -> None:
        self._qs.setValue(f"view/{key}", "true" if value else "false")

    # -- files -------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        raw = self._qs.value("files/recent")
        try:
            items = json.loads(str(raw)) if raw else []
        except ValueError:
            return []
        return [str(p) for p in items][:MAX_RECENT] if isinstance(items, list) else []

    def add_recent(self, paths: list[str]) -> list[str]:
        """Put ``paths`` first in the recent list (no duplicates, at most MAX_RECENT)."""
        recent = [str(p) for p in paths]
        recent += [p for p in self.recent_files() if p not in recent]
        recent = recent[:MAX_RECENT]
        self._qs.setValue("files/recent", json.dumps(recent))
        return recent

    def clear_recent(self) -> None:
        self._qs.setValue("files/recent", json.dumps([]))

    def last_folder(self) -> str:
        return str(self._qs.value("files/last_folder") or "")

    def set_last_folder(self, folder: str) -> None:
        self._qs.setValue("files/last_folder", str(folder))


def _same_kind(stored: Any, current: Any) -> bool:
    if isinstance(current, bool):
        return isinstance(stored, bool)
    if isinstance(current, (int, float)):
        return isinstance(stored, (int, float)) and not isinstance(stored, bool)
    if isinstance(current, tuple):
        return isinstance(stored, list)
    return current is None or isinstance(stored, type(current))
