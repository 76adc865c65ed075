"""The Layers dock: one row per overlay (segmentations and the AI layers) with its style.

The AI rows (:data:`~mammoview.gui.aijobs.AI_LAYERS`: the cascade's patch heatmap,
Grad-CAM, LIME) have no contour/fill switch; under them the explanation settings: which
stage is explained and LIME's sample count.

Each row: a checkbox (shown or not), a colour button, an opacity slider, a
contour/fill switch and a status line (Dice/IoU against the ground truth,
"computing…", or why the layer is unavailable). The panel holds only the widgets'
state; the main window computes the masks and the viewer draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mammoview.gui.aijobs import AI_LAYERS, ALL_LAYERS, DEFAULT_LIME_SAMPLES, LIME_NEGATIVE_COLOR
from mammoview.gui.viewer.overlays import LEGEND as CIRCLES_LEGEND


@dataclass(frozen=True)
class LayerStyle:
    """How one layer is drawn (stored in the settings as JSON)."""

    visible: bool = False
    color: str = "#ff0000"
    opacity: float = 0.4
    mode: str = "fill"  # "fill" or "contour"

    def rgba(self) -> tuple[int, int, int, int]:
        c = QColor(self.color)
        return c.red(), c.green(), c.blue(), int(round(255 * max(0.0, min(1.0, self.opacity))))


DEFAULT_STYLES = {
    "truth": LayerStyle(True, "#00e5ff", 0.9, "contour"),
    "breast": LayerStyle(False, "#4caf50", 0.85, "contour"),
    "pectoral": LayerStyle(False, "#ff9800", 0.4, "fill"),
    "otsu": LayerStyle(False, "#ffeb3b", 0.5, "fill"),
    "unet": LayerStyle(False, "#e040fb", 0.5, "fill"),
    "aiheat": LayerStyle(False, "#ff5722", 0.55, "fill"),
    "gradcam": LayerStyle(False, "#ff5722", 0.6, "fill"),
    "lime": LayerStyle(False, "#ff1744", 0.75, "fill"),
}
LIME_SAMPLE_RANGE = (20, 5000)
#: Layers drawn as a blue-to-red heat ramp (mammoview.gui.viewer.masks), not in a colour.
HEAT_LAYERS = ("aiheat", "gradcam")


class _Row:
    """The widgets of one layer."""

    def __init__(self, name: str, title: str, grid: QGridLayout, row: int, parent: QWidget):
        self.name = name
        self.check = QCheckBox(title, parent)
        self.check.setObjectName(f"layer_{name}_check")
        self.color = QToolButton(parent)
        self.color.setObjectName(f"layer_{name}_color")
        self.color.setToolTip("Colour")
        self.color.setFixedWidth(28)
        self.opacity = QSlider(Qt.Orientation.Horizontal, parent)
        self.opacity.setObjectName(f"layer_{name}_opacity")
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity")
        self.opacity.setMinimumWidth(60)
        self.mode = QToolButton(parent)
        self.mode.setObjectName(f"layer_{name}_mode")
        self.mode.setCheckable(True)  # checked: contour
        self.mode.setToolTip("Contour (checked) or fill")
        self.mode.setMinimumWidth(58)
        self.status = QLabel("", parent)
        self.status.setObjectName(f"layer_{name}_status")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #9aa; font-size: 9pt;")
        grid.addWidget(self.check, 2 * row, 0)
        grid.addWidget(self.color, 2 * row, 1)
        grid.addWidget(self.opacity, 2 * row, 2)
        grid.addWidget(self.mode, 2 * row, 3)
        grid.addWidget(self.status, 2 * row + 1, 0, 1, 4)


class LayersPanel(QWidget):
    """The layer list.

    Signals
    -------
    styleChanged(str)
        A layer's visibility, colour, opacity or mode changed (its name).
    explainChanged()
        The explained stage or LIME's sample count changed.
    """

    styleChanged = Signal(str)
    explainChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._styles: dict[str, LayerStyle] = dict(DEFAULT_STYLES)
        self._rows: dict[str, _Row] = {}
        self._disabled: dict[str, str] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        layout.addLayout(grid)
        layout.addStretch(1)
        for i, (name, title) in enumerate(ALL_LAYERS.items()):
            row = _Row(name, title, grid, i, self)
            if name in AI_LAYERS:
                row.mode.hide()  # heat and signed weights have no contour
            self._rows[name] = row
            row.check.toggled.connect(lambda on, n=name: self._edit(n, visible=on))
            row.opacity.valueChanged.connect(lambda v, n=name: self._edit(n, opacity=v / 100.0))
            row.mode.toggled.connect(
                lambda on, n=name: self._edit(n, mode="contour" if on else "fill"))
            row.color.clicked.connect(lambda _=False, n=name: self._choose_color(n))
        grid.setColumnStretch(2, 1)
        for name in HEAT_LAYERS:  # drawn with their own ramp: a colour would do nothing
            self._rows[name].color.hide()
            self._rows[name].check.setToolTip(
                f"{ALL_LAYERS[name]}: transparent blue (low) to opaque red (high)")
        self._rows["truth"].check.setToolTip(
            f"Ground truth: dataset masks in the layer's colour; {CIRCLES_LEGEND}")
        self._rows["lime"].check.setToolTip(
            f"LIME superpixels: the layer's colour pushes towards the explained class, "
            f"blue ({LIME_NEGATIVE_COLOR}) away from it; opacity = weight")
        form = QFormLayout()
        form.setContentsMargins(0, 6, 0, 0)
        self.explain_stage = QComboBox(self)
        self.explain_stage.setObjectName("explainStage")
        self.explain_stage.addItem("Stage 1: p(abnormal)", 1)
        self.explain_stage.addItem("Stage 2: p(malignant)", 2)
        self.lime_samples = QSpinBox(self)
        self.lime_samples.setObjectName("limeSamples")
        self.lime_samples.setRange(*LIME_SAMPLE_RANGE)
        self.lime_samples.setSingleStep(50)
        self.lime_samples.setValue(DEFAULT_LIME_SAMPLES)
        self.lime_samples.setKeyboardTracking(False)  # one change per edit, not per digit
        form.addRow("Explain", self.explain_stage)
        form.addRow("LIME samples", self.lime_samples)
        layout.insertLayout(1, form)
        self.explain_stage.currentIndexChanged.connect(lambda _: self.explainChanged.emit())
        self.lime_samples.valueChanged.connect(lambda _: self.explainChanged.emit())
        for name in ALL_LAYERS:
            self._show(name)

    def explain_settings(self) -> tuple[int, int]:
        """(stage explained, LIME sample count)."""
        return int(self.explain_stage.currentData()), int(self.lime_samples.value())

    def set_explain_settings(self, stage: int, samples: int, *, emit: bool = True) -> None:
        for widget in (self.explain_stage, self.lime_samples):
            widget.blockSignals(not emit)
        try:
            self.explain_stage.setCurrentIndex(max(0, self.explain_stage.findData(int(stage))))
            self.lime_samples.setValue(int(samples))
        finally:
            for widget in (self.explain_stage, self.lime_samples):
                widget.blockSignals(False)

    # -- state -------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._rows)

    def style(self, name: str) -> LayerStyle:
        return self._styles[name]

    def styles(self) -> dict[str, LayerStyle]:
        return dict(self._styles)

    def describe(self, name: str) -> str:
        """How the layer is drawn, as the report states it ("contour, #00e5ff, opacity 90%")."""
        style = self._styles[name]
        opacity = f"opacity {int(round(style.opacity * 100))}%"
        if name in HEAT_LAYERS:
            return f"blue (low) to red (high), {opacity}"
        if name == "lime":
            return f"{style.color} towards the class, {LIME_NEGATIVE_COLOR} away from it, {opacity}"
        text = f"{style.mode}, {style.color}, {opacity}"
        return f"{text}; {CIRCLES_LEGEND}" if name == "truth" else text

    def visible_layers(self) -> list[str]:
        return [n for n, s in self._styles.items() if s.visible and n not in self._disabled]

    def set_style(self, name: str, style: LayerStyle, *, emit: bool = True) -> None:
        self._styles[name] = style
        self._show(name)
        if emit:
            self.styleChanged.emit(name)

    def set_visible(self, name: str, on: bool) -> None:
        self.set_style(name, replace(self._styles[name], visible=bool(on)))

    def set_status(self, name: str, text: str) -> None:
        self._rows[name].status.setText(text)
        self._rows[name].status.setToolTip(text)

    def status(self, name: str) -> str:
        return self._rows[name].status.text()

    def set_unavailable(self, name: str, reason: str | None) -> None:
        """Disable a layer with the reason shown (None enables it again)."""
        row = self._rows[name]
        if reason:
            self._disabled[name] = reason
            self.set_status(name, reason)
        else:
            self._disabled.pop(name, None)
        for widget in (row.check, row.color, row.opacity, row.mode):
            widget.setEnabled(not reason)
        if reason:
            row.check.setToolTip(reason)

    def unavailable_reason(self, name: str) -> str | None:
        return self._disabled.get(name)

    def row_widgets(self, name: str) -> _Row:
        return self._rows[name]

    # -- internals ---------------------------------------------------------------------
    def _edit(self, name: str, **changes) -> None:
        style = replace(self._styles[name], **changes)
        if style != self._styles[name]:
            self._styles[name] = style
            self._show(name)
            self.styleChanged.emit(name)

    def _choose_color(self, name: str) -> None:
        color = QColorDialog.getColor(QColor(self._styles[name].color), self, "Layer colour")
        if color.isValid():
            self._edit(name, color=color.name())

    def _show(self, name: str) -> None:
        row, style = self._rows[name], self._styles[name]
        for widget in (row.check, row.opacity, row.mode):
            widget.blockSignals(True)
        try:
            row.check.setChecked(style.visible)
            row.opacity.setValue(int(round(style.opacity * 100)))
            row.mode.setChecked(style.mode == "contour")
            row.mode.setText("contour" if style.mode == "contour" else "fill")
            row.color.setStyleSheet(f"background: {style.color}; border: 1px solid #888;")
        finally:
            for widget in (row.check, row.opacity, row.mode):
                widget.blockSignals(False)
