"""Window/level presets in the window: a toolbar combo, a menu, and the user's default.

The presets are :mod:`mammoview.reading.presets`' (the file's own VOIs under the file's
names, "Full range", "Auto 1-99%", and windows the reader saved); the reader's saved
windows and default live in the readings database's settings, which is per user (it
sits in the per-user data folder). Choosing a preset sets one VOI on every panel of
the viewer; a window/level drag shows "Custom". When the shown image changes, the
reader's default is applied if they saved one (otherwise the viewer's own rule, the
file's first window, already holds).

The computed presets need a pass over the pixels (min/max of a full-field image, about
10 ms): they are computed on a worker and join the list when ready; the file's and the
reader's own presets are there at once.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QComboBox, QMenu

from mammoview.core import Image, Voi
from mammoview.gui.viewer.window_level import window_of
from mammoview.reading import presets as P
from mammoview.reading.errors import ReadingError

log = logging.getLogger(__name__)

MY_DEFAULT = "My default"
CUSTOM = "Custom"


class WindowPresets(QObject):
    """Presets for the image(s) the viewer shows (see the module docstring).

    Parameters
    ----------
    viewer : ViewerArea
    runner : JobRunner
        Where the computed presets are worked out.
    store_getter : callable
        Returns the :class:`~mammoview.reading.store.ReadingStore` or None (no database).
    report : callable
        ``report(text, error)``: one line for the status bar (and problems when an error).

    Signals
    -------
    presetApplied(str)
        The name of the preset just applied.
    """

    presetApplied = Signal(str)

    def __init__(self, viewer, runner, store_getter, report, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.runner = runner
        self._pending_default: str | None = None
        self._store = store_getter
        self._report = report
        self.presets: list[P.WindowPreset] = []
        self._image: Image | None = None
        self.combo = QComboBox()
        self.combo.setObjectName("windowPresetCombo")
        self.combo.setToolTip("Window/level preset for every panel (W: next)")
        self.combo.setMinimumContentsLength(14)
        self.combo.activated.connect(lambda i: self.apply(self.combo.itemText(i)))
        self.menu = QMenu("Window &presets")
        self.menu.setObjectName("windowPresetsMenu")
        self.act_next = QAction("Next window preset", self)
        self.act_next.setShortcut("W")
        self.act_next.triggered.connect(self.next_preset)
        self.act_save_default = QAction("Save current window as my default", self)
        self.act_save_default.triggered.connect(self.save_current_as_default)
        self.act_clear_default = QAction("Forget my default window", self)
        self.act_clear_default.triggered.connect(self.clear_default)
        self._group = QActionGroup(self)
        viewer.voiChanged.connect(lambda _voi: self._show_current(CUSTOM))
        self._rebuild()

    # ------------------------------------------------------------------ image shown

    def image_shown(self, image: Image | None, *, new_image: bool) -> None:
        """The viewer shows ``image`` (the panels' original, or the hanging's first view).

        ``new_image``: another image than before, so the reader's default applies.
        """
        self._image = image
        self._pending_default = None
        self.runner.bump("presets")
        store = self._store()
        if image is None:
            self.presets = []
            self._rebuild()
            return
        self.presets = P.file_presets(image) + self._user_presets(store)
        self._rebuild()
        wanted = self._wanted_default(store) if new_image else None
        if not (wanted and self.apply(wanted)):
            self._pending_default = wanted
            self._show_current(self._matching_name())
        self.runner.submit(lambda ctx: P.auto_presets(image), name="window presets", channels=("presets",),
                           on_done=lambda auto, im=image: self._auto_arrived(im, auto),
                           on_error=lambda f: self._report(f"window presets: {f.message}", False))

    def _auto_arrived(self, image: Image, auto: list[P.WindowPreset]) -> None:
        if image is not self._image:
            return
        files = [p for p in self.presets if p.source == "file"]
        self.presets = files + auto + [p for p in self.presets if p.source == "user"]
        self._rebuild()
        wanted, self._pending_default = self._pending_default, None
        if not (wanted and self.apply(wanted)):
            self._show_current(self._matching_name())

    def _user_presets(self, store) -> list[P.WindowPreset]:
        if store is None:
            return []
        try:
            return P.user_presets(store)
        except (ReadingError, KeyError, TypeError, ValueError) as err:  # a settings row the core refuses
            self._report(f"window presets: your saved windows cannot be read ({err})", True)
            return []

    def _wanted_default(self, store) -> str | None:
        if store is None:
            return None
        try:
            return store.get_setting(P.DEFAULT_PRESET_KEY) or None
        except ReadingError as err:
            self._report(f"window presets: {err}", True)
            return None

    def _matching_name(self) -> str:
        """The preset the viewer shows now: the one last chosen if it still is, else the
        first with the same window, else "Custom"."""
        voi = self.viewer.voi()
        current = next((p for p in self.presets if p.name == self.combo.currentText()), None)
        if current is not None and _same_window(current.voi, voi):
            return current.name
        for preset in self.presets:
            if _same_window(preset.voi, voi):
                return preset.name
        return CUSTOM

    # ------------------------------------------------------------------ actions

    def apply(self, name: str) -> bool:
        preset = next((p for p in self.presets if p.name == name), None)
        if preset is None:
            return False
        self.viewer.set_voi(preset.voi)
        self._show_current(name)
        self.presetApplied.emit(name)
        return True

    def next_preset(self) -> None:
        if not self.presets:
            return
        names = [p.name for p in self.presets]
        current = self.combo.currentText()
        i = names.index(current) + 1 if current in names else 0
        self.apply(names[i % len(names)])
        self._report(f"Window: {names[i % len(names)]}", False)

    def save_current_as_default(self) -> None:
        """Keep the current window as this user's "My default" and make it the default."""
        store = self._store()
        if store is None or self._image is None:
            self._report("Window not saved: no readings database or no image", True)
            return
        lo, hi = self._image.value_range()
        center, width = window_of(self.viewer.voi(), lo, hi)
        try:
            P.save_user_preset(store, MY_DEFAULT, center, width)
            P.set_default_preset(store, MY_DEFAULT)
        except ReadingError as err:
            self._report(f"Window not saved: {err}", True)
            return
        self.image_shown(self._image, new_image=False)
        self._show_current(MY_DEFAULT)
        self._report(f"Saved window C {center:.6g} / W {width:.6g} as your default", False)

    def clear_default(self) -> None:
        store = self._store()
        if store is None:
            return
        try:
            P.set_default_preset(store, None)
            P.delete_user_preset(store, MY_DEFAULT)
        except ReadingError as err:
            self._report(f"Default window not cleared: {err}", True)
            return
        self.image_shown(self._image, new_image=False)
        self._report("Default window forgotten: each image opens with its file's window", False)

    # ------------------------------------------------------------------ widgets

    def _rebuild(self) -> None:
        current = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        for preset in self.presets:
            self.combo.addItem(preset.name)
            self.combo.setItemData(self.combo.count() - 1, _describe(preset), 3)  # tooltip role
        self.combo.addItem(CUSTOM)
        self.combo.setCurrentText(current if current else CUSTOM)
        self.combo.setEnabled(bool(self.presets))
        self.combo.blockSignals(False)
        self.menu.clear()
        for action in self._group.actions():
            self._group.removeAction(action)
        for preset in self.presets:
            action = self.menu.addAction(preset.name)
            action.setCheckable(True)
            action.setToolTip(_describe(preset))
            action.triggered.connect(lambda _=False, n=preset.name: self.apply(n))
            self._group.addAction(action)
        if self.presets:
            self.menu.addSeparator()
        self.menu.addAction(self.act_next)
        self.menu.addAction(self.act_save_default)
        self.menu.addAction(self.act_clear_default)

    def _show_current(self, name: str) -> None:
        self.combo.blockSignals(True)
        index = self.combo.findText(name)
        self.combo.setCurrentIndex(index if index >= 0 else self.combo.count() - 1)
        self.combo.blockSignals(False)
        for action in self._group.actions():
            action.setChecked(action.text() == name)

    def current_name(self) -> str:
        return self.combo.currentText()

    def sync(self) -> None:
        """Name the window the viewer shows now (after a reset set it behind our back)."""
        self._show_current(self._matching_name())


def _describe(preset: P.WindowPreset) -> str:
    source = {"file": "from the file", "auto": "computed", "user": "saved by you"}.get(preset.source, "")
    return f"{preset.voi.describe()} ({source})" if source else preset.voi.describe()


def _same_window(a: Voi, b: Voi) -> bool:
    """The same window on screen. LINEAR and LINEAR_EXACT differ by half a stored value
    (the viewer's data-range default is LINEAR_EXACT, the core's "Full range" LINEAR)."""
    if a is b:
        return True
    if a.is_lut or b.is_lut or a.center is None or b.center is None:
        return False
    linear = {"LINEAR", "LINEAR_EXACT"}
    if a.function != b.function and not {a.function, b.function} <= linear:
        return False
    return abs(a.center - b.center) <= 0.5 and abs(a.width - b.width) <= 1.0
