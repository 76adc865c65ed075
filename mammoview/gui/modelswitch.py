"""Switching models in a running window: what is on screen follows the active model.

:class:`ModelSwitch` listens to :mod:`mammoview.nets.registry` (an install, activation
or deletion made anywhere in the window's process: the Manage dialog, the training
dialog, a worker thread) and, on the UI thread, drops the results the old model made and
recomputes what is shown:

* classifier stages: :meth:`AiController.reload_models` (results, heatmaps, aggregates,
  LIME and Grad-CAM; the AI dock then names the new versions);
* lesion UNet: the UNet layer's cache entries, then the layer of the shown images under
  the new version (its cache key carries the version);
* super-resolution: the SR panel of the shown image (its cache key carries the version).

Research use only, not for diagnosis.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication

from mammoview.gui.aicontrol import clear_layers

log = logging.getLogger(__name__)

CLASSIFIER_TASKS = ("classifier-stage1", "classifier-stage2")


class ModelSwitch(QObject):
    """Keeps a :class:`~mammoview.gui.main_window.MainWindow` on the active models.

    Signals
    -------
    changed(str, str)
        The active model of a task changed (task, new version or ""), after the window
        dropped the old results (emitted on the UI thread).
    """

    changed = Signal(str, str)
    _heard = Signal(str)  # from any thread -> queued to the UI thread

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self._heard.connect(self.apply)
        from mammoview.nets.registry import add_listener

        add_listener(self._on_registry)  # held weakly by the registry
        # Another process (``mammoview models activate``, a second window) changes only
        # active.json, which no listener here hears: look again whenever the window
        # comes back to the front. Reading the cards takes a few ms.
        self._known: dict[str, str | None] | None = None
        app = QGuiApplication.instance()
        if app is not None:
            app.applicationStateChanged.connect(self._on_app_state)

    def _on_app_state(self, state) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.check_other_processes()

    def check_other_processes(self) -> list[str]:
        """Apply the changes of active models made outside this process; the tasks changed."""
        from mammoview.nets.registry import active_versions

        try:
            now = active_versions()
        except (OSError, ValueError) as err:  # an unreadable models folder: keep what is shown
            log.warning("models folder: %s", err)
            return []
        before, self._known = self._known, now
        if before is None:
            return []  # the first look only records what the window started with
        changed = [task for task, version in now.items() if before.get(task) != version]
        for task in changed:
            self.apply(task)
        return changed

    def _on_registry(self, event) -> None:
        try:
            self._heard.emit(event.task)
        except RuntimeError:  # the window is gone
            pass

    # ------------------------------------------------------------------ per task
    def apply(self, task: str) -> None:
        """Bring ``task``'s results on screen in line with its active model now."""
        version = active_version(task)
        if self._known is not None:
            self._known[task] = version
        if task in CLASSIFIER_TASKS:
            if self.window.ai.reload_models():
                self.changed.emit(task, version or "")
        elif task == "segmentation":
            if self._switch_unet(version):
                self.changed.emit(task, version or "")
        elif task == "superres":
            if self._switch_superres(version):
                self.changed.emit(task, version or "")

    def _switch_unet(self, version: str | None) -> bool:
        w = self.window
        if w._unet_probe == "not yet" or version == w._unet_version:
            return False  # never probed: the first probe finds the active model
        w.runner.bump("layer:unet", "probe")  # a probe still running saw the old model
        w._pending_layers = {p for p in w._pending_layers if p[1] != "unet"}
        w.overlay_cache.discard_where(lambda key: key[1] == "unet")
        # The key's version from the card (cheap); the probe then checks it loads and
        # disables the layer with the reason when it does not.
        w._unet_version = version
        w.layers.set_unavailable("unet", None if version else "no UNet model installed")
        clear_layers(w, ["unet"], "recomputing with the new model…")
        w._unet_probe = "not yet"
        w._probe_unet()
        w._request_layers(["unet"])
        return True

    def _switch_superres(self, version: str | None) -> bool:
        w = self.window
        cached = w._sr_version_cache
        w._sr_version_cache = None
        if not w.use_sr_model or (cached is not None and cached[0] == version):
            return False
        w.runner.bump("view:superres")
        w.view_cache.discard_where(lambda key: key[1] == "superres" and key[3] != version)
        w._refresh_view("superres")
        return True

    # ------------------------------------------------------------------ the dialog
    def show_manage_dialog(self):
        """Models > Manage…: installed models per task (non-modal)."""
        from mammoview.gui.dialogs.manage_models import ManageModelsDialog

        dialog = ManageModelsDialog(self.window)
        dialog.open()
        return dialog


def active_version(task: str) -> str | None:
    """The version of ``task``'s active model from its card (JSON only, no torch)."""
    from mammoview.nets.registry import active_model
    from mammoview.nets.store import ModelLoadError, read_card

    path = active_model(task)
    if path is None:
        return None
    try:
        return read_card(path).version or None
    except ModelLoadError as err:
        log.warning("%s", err)
        return None
