"""Side panel: which enhancement panels show, and the wavelet and CLAHE parameters.

The panel only edits values; it emits a signal per edit and the window decides when to
recompute (after a debounce) and where (on a worker). It validates nothing itself: the
parameter dataclasses in :mod:`mammoview.enhance.params` do, and the widgets' ranges
are taken from the same limits so that an invalid value cannot be typed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mammoview.enhance.params import CLAHE_DENOISE, WAVELET_FAMILIES, ClaheParams, WaveletParams

#: Panels the window can show, in display order, with the titles the user sees.
PANELS: dict[str, str] = {
    "original": "Original",
    "wavelet": "Wavelet",
    "clahe": "CLAHE",
    "superres": "Super-resolved",
}


class EnhancementPanel(QWidget):
    """Panel toggles plus wavelet and CLAHE controls.

    Signals
    -------
    panelToggled(str, bool)
        A panel's checkbox changed: (panel name, visible).
    paramsEdited(str)
        A control of view "wavelet" or "clahe" changed; read the new value with
        :meth:`params`.
    """

    panelToggled = Signal(str, bool)
    paramsEdited = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("enhancementPanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        panels_box = QGroupBox("Panels")
        panels_layout = QVBoxLayout(panels_box)
        self.panel_boxes: dict[str, QCheckBox] = {}
        for i, (name, title) in enumerate(PANELS.items(), start=1):
            box = QCheckBox(f"{i}  {title}")
            box.setChecked(True)
            box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            box.toggled.connect(lambda on, n=name: self.panelToggled.emit(n, on))
            panels_layout.addWidget(box)
            self.panel_boxes[name] = box
        layout.addWidget(panels_box)

        wavelet_box = QGroupBox("Wavelet")
        form = QFormLayout(wavelet_box)
        self.wavelet_family = QComboBox()
        self.wavelet_family.addItems(list(WAVELET_FAMILIES))
        self.wavelet_levels = QSpinBox()
        self.wavelet_levels.setRange(1, 8)
        self.wavelet_gain = QDoubleSpinBox()
        self.wavelet_gain.setRange(0.1, 10.0)
        self.wavelet_gain.setSingleStep(0.25)
        self.wavelet_gain.setDecimals(2)
        self.wavelet_denoise = QCheckBox("Soft-threshold noise")
        form.addRow("Family", self.wavelet_family)
        form.addRow("Levels", self.wavelet_levels)
        form.addRow("Detail gain", self.wavelet_gain)
        form.addRow("", self.wavelet_denoise)
        layout.addWidget(wavelet_box)

        clahe_box = QGroupBox("CLAHE")
        form = QFormLayout(clahe_box)
        self.clahe_clip = QDoubleSpinBox()
        self.clahe_clip.setRange(0.001, 1.0)
        self.clahe_clip.setDecimals(3)
        self.clahe_clip.setSingleStep(0.005)
        self.clahe_tiles = QSpinBox()
        self.clahe_tiles.setRange(1, 64)
        self.clahe_denoise = QComboBox()
        self.clahe_denoise.addItems(list(CLAHE_DENOISE))
        form.addRow("Clip limit", self.clahe_clip)
        form.addRow("Tiles", self.clahe_tiles)
        form.addRow("Denoise", self.clahe_denoise)
        layout.addWidget(clahe_box)
        layout.addStretch(1)

        self.set_params(WaveletParams(), ClaheParams())
        for widget in (self.wavelet_family, self.clahe_denoise):
            widget.currentIndexChanged.connect(self._emit_for(widget))
        for widget in (self.wavelet_levels, self.wavelet_gain, self.clahe_clip, self.clahe_tiles):
            widget.valueChanged.connect(self._emit_for(widget))
        self.wavelet_denoise.toggled.connect(self._emit_for(self.wavelet_denoise))

    def _emit_for(self, widget):
        view = "clahe" if widget in (self.clahe_clip, self.clahe_tiles, self.clahe_denoise) else "wavelet"
        return lambda *_: self.paramsEdited.emit(view)

    # -- values ------------------------------------------------------------------------
    def wavelet_params(self) -> WaveletParams:
        return WaveletParams(
            wavelet=self.wavelet_family.currentText(),
            levels=self.wavelet_levels.value(),
            gain=round(self.wavelet_gain.value(), 2),
            denoise=self.wavelet_denoise.isChecked(),
        )

    def clahe_params(self) -> ClaheParams:
        return ClaheParams(
            clip_limit=round(self.clahe_clip.value(), 3),
            tiles=self.clahe_tiles.value(),
            denoise=self.clahe_denoise.currentText(),
        )

    def params(self, view: str):
        """Current parameters of ``view`` ("wavelet" or "clahe")."""
        return self.wavelet_params() if view == "wavelet" else self.clahe_params()

    def set_params(self, wavelet: WaveletParams, clahe: ClaheParams) -> None:
        """Show these values without emitting :attr:`paramsEdited`."""
        widgets = (self.wavelet_family, self.wavelet_levels, self.wavelet_gain,
                   self.wavelet_denoise, self.clahe_clip, self.clahe_tiles, self.clahe_denoise)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.wavelet_family.setCurrentText(wavelet.wavelet)
            self.wavelet_levels.setValue(wavelet.levels)
            self.wavelet_gain.setValue(wavelet.gain)
            self.wavelet_denoise.setChecked(bool(wavelet.denoise))
            self.clahe_clip.setValue(clahe.clip_limit)
            self.clahe_tiles.setValue(clahe.tiles)
            self.clahe_denoise.setCurrentText(clahe.denoise)
        finally:
            for w in widgets:
                w.blockSignals(False)

    def visible_panels(self) -> list[str]:
        return [name for name, box in self.panel_boxes.items() if box.isChecked()]

    def set_panel_checked(self, name: str, on: bool, *, emit: bool = True) -> None:
        box = self.panel_boxes[name]
        if not emit:
            box.blockSignals(True)
        try:
            box.setChecked(on)
        finally:
            box.blockSignals(False)
