"""Window/level presets: the file's own, two computed from the image, and the user's.

* ``file``: every VOI the DICOM file carries (:attr:`Image.voi`), windows and LUTs,
  under the file's own names ("NORMAL", "HARDER"...);
* ``auto``: "Full range" (the data range) and "Auto 1-99%" (the 1st to 99th
  percentile of the stored values, on a subsample so it stays fast on 30 MB images);
* ``user``: windows the reader saved by name, kept in the readings database's settings
  (per user, since the database lives in the per-user data folder).

:func:`default_preset` is the user's chosen default when it applies to this image, else
the file's first VOI, else "Full range" (the same rule as
:func:`mammoview.imaging.display.default_voi`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mammoview.core.image import Image, Voi
from mammoview.reading.errors import ReadingError

USER_PRESETS_KEY = "window_presets"
DEFAULT_PRESET_KEY = "window_default"
FULL_RANGE = "Full range"
AUTO_PERCENTILE = "Auto 1-99%"
MAX_SAMPLE = 512


@dataclass(frozen=True)
class WindowPreset:
    """A named VOI; ``source`` is "file", "auto" or "user"."""

    name: str
    voi: Voi
    source: str


def file_presets(image: Image) -> list[WindowPreset]:
    """The VOIs of the file itself, named as the file names them."""
    presets = []
    for i, voi in enumerate(image.voi, start=1):
        name = voi.explanation or (f"File LUT {i}" if voi.is_lut else f"File window {i}")
        presets.append(WindowPreset(name, voi, "file"))
    return presets


def auto_presets(image: Image) -> list[WindowPreset]:
    """"Full range" and "Auto 1-99%" windows computed from the stored values."""
    lo, hi = image.value_range()
    full = Voi(center=(lo + hi) / 2, width=max(hi - lo, 1.0), explanation=FULL_RANGE)
    step = max(1, math.ceil(max(image.shape) / MAX_SAMPLE))
    sample = image.pixels[::step, ::step]
    p1, p99 = (float(v) for v in np.percentile(sample, (1, 99)))
    if p99 <= p1:
        p1, p99 = lo, hi
    auto = Voi(center=(p1 + p99) / 2, width=max(p99 - p1, 1.0), explanation=AUTO_PERCENTILE)
    return [WindowPreset(FULL_RANGE, full, "auto"), WindowPreset(AUTO_PERCENTILE, auto, "auto")]


def user_presets(store) -> list[WindowPreset]:
    """The reader's saved windows, in the order saved."""
    saved = store.get_setting(USER_PRESETS_KEY, [])
    return [
        WindowPreset(item["name"], Voi(center=item["center"], width=item["width"], explanation=item["name"]), "user")
        for item in saved
    ]


def save_user_preset(store, name: str, center: float, width: float) -> WindowPreset:
    """Save (or replace) a named window for this user."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ReadingError("a window preset needs a name of 1 to 64 characters")
    center, width = float(center), float(width)
    if not (math.isfinite(center) and math.isfinite(width) and width > 0):
        raise ReadingError("a window preset needs a finite centre and a positive width")
    saved = [item for item in store.get_setting(USER_PRESETS_KEY, []) if item["name"] != name]
    saved.append({"name": name, "center": center, "width": width})
    store.set_setting(USER_PRESETS_KEY, saved)
    return WindowPreset(name, Voi(center=center, width=width, explanation=name), "user")


def delete_user_preset(store, name: str) -> None:
    saved = store.get_setting(USER_PRESETS_KEY, [])
    store.set_setting(USER_PRESETS_KEY, [item for item in saved if item["name"] != name])


def set_default_preset(store, name: str | None) -> None:
    """The preset to show first: a user preset's name, a file VOI's name, "Full range",
    "Auto 1-99%", or None for the built-in rule (the file's first VOI)."""
    if name is None:
        store.delete_setting(DEFAULT_PRESET_KEY)
    else:
        store.set_setting(DEFAULT_PRESET_KEY, name)


def presets_for(image: Image, store=None) -> list[WindowPreset]:
    """Every preset offered for ``image``: the file's, the computed ones, the user's."""
    presets = file_presets(image) + auto_presets(image)
    if store is not None:
        presets += user_presets(store)
    return presets


def default_preset(image: Image, store=None) -> WindowPreset:
    """The preset the viewer starts with (see the module docstring)."""
    presets = presets_for(image, store)
    wanted = store.get_setting(DEFAULT_PRESET_KEY) if store is not None else None
    if wanted:
        for preset in presets:
            if preset.name == wanted:
                return preset
    for preset in presets:
        if preset.source == "file":
            return preset
    return presets[[p.name for p in presets].index(FULL_RANGE)]
