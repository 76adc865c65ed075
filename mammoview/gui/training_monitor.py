"""The training dialog's live view of a run: state, progress with ETA, curves, log.

Fed with the plain-dict events of :func:`mammoview.gui.trainjobs.training_main`
(:meth:`RunMonitor.on_event`). Two pyqtgraph plots: the loss (each batch's loss smoothed,
the epoch's mean training loss and the validation loss) and the task's validation metric
per epoch, its best epoch marked. Redrawing costs a few hundred points at most, so the UI
thread never waits on it.
"""

from __future__ import annotations

import time
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from mammoview.core.progress import format_duration

METRIC_TITLES = {
    "patch_auc": "validation patch AUC",
    "dice": "validation Dice",
    "psnr": "validation PSNR (dB)",
}
#: Smoothing of the per-batch loss curve (exponential moving average weight).
EMA = 0.9
MAX_BATCH_POINTS = 4000
COLORS = {"batch": (127, 168, 201, 110), "train": "#7fa8c9", "val": "#e0b66a", "metric": "#81c784"}


def _plot(title: str, left: str) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setBackground("#17191b")
    plot.setTitle(title, color="#c9ccd1", size="10pt")
    plot.setLabel("bottom", "epoch")
    plot.setLabel("left", left)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMenuEnabled(False)
    plot.getAxis("left").enableAutoSIPrefix(False)
    plot.setMinimumHeight(170)
    return plot


class RunMonitor(QWidget):
    """State line, device, progress bar with elapsed time and ETA, two plots and a log."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        self.state = QLabel("Not started.")
        self.state.setObjectName("trainState")
        self.state.setWordWrap(True)
        self.state.setStyleSheet("font-weight: bold;")
        self.device = QLabel("Device: chosen when the run starts")
        self.device.setObjectName("trainDeviceInUse")
        self.device.setStyleSheet("color: #8a9099;")
        top = QHBoxLayout()
        top.addWidget(self.state, 1)
        top.addWidget(self.device)
        self.bar = QProgressBar()
        self.bar.setObjectName("trainProgress")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.bar.setFormat("")
        self.timing = QLabel("")
        self.timing.setObjectName("trainTiming")
        bar_row = QHBoxLayout()
        bar_row.addWidget(self.bar, 1)
        bar_row.addWidget(self.timing)
        self.loss_plot = _plot("Loss", "loss")
        self.loss_plot.addLegend(offset=(-8, 8), labelTextColor="#c9ccd1")
        self.batch_curve = self.loss_plot.plot([], [], pen=pg.mkPen(COLORS["batch"], width=1), name="batches (smoothed)")
        self.train_curve = self.loss_plot.plot([], [], pen=pg.mkPen(COLORS["train"], width=2), symbol="o",
                                               symbolSize=6, symbolBrush=COLORS["train"], name="training")
        self.val_curve = self.loss_plot.plot([], [], pen=pg.mkPen(COLORS["val"], width=2), symbol="s",
                                             symbolSize=6, symbolBrush=COLORS["val"], name="validation")
        self.metric_plot = _plot("Validation metric", "")
        self.metric_curve = self.metric_plot.plot([], [], pen=pg.mkPen(COLORS["metric"], width=2), symbol="o",
                                                  symbolSize=7, symbolBrush=COLORS["metric"])
        self.best_marker = pg.ScatterPlotItem(size=16, symbol="star", brush=pg.mkBrush("#e0b66a"), pen=None)
        self.metric_plot.addItem(self.best_marker)
        self.chance = pg.InfiniteLine(0.5, angle=0, pen=pg.mkPen("#5d6269", style=Qt.PenStyle.DashLine),
                                      label="chance", labelOpts={"color": "#8a9099", "position": 0.9})
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot, 1)
        plots.addWidget(self.metric_plot, 1)
        self.log = QPlainTextEdit()
        self.log.setObjectName("trainLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        self.log.setMaximumHeight(120)
        lay.addLayout(top)
        lay.addLayout(bar_row)
        lay.addLayout(plots, 1)
        lay.addWidget(self.log)
        self.metric_key = ""
        self.started_at: float | None = None
        self.eta: float | None = None
        self._eta_at = 0.0
        self.reset(1, "patch_auc")

    # ---------------------------------------------------------------- state
    def reset(self, epochs: int, metric: str, history: list[dict[str, Any]] | None = None) -> None:
        """A new (or resumed) run: clear the curves, draw the epochs it already has."""
        self.epochs = max(1, int(epochs))
        self.metric_key = metric
        self.history: list[dict[str, Any]] = list(history or [])
        self.batch_x: list[float] = []
        self.batch_y: list[float] = []
        self._ema: float | None = None
        self.started_at = None
        self.eta = None
        title = METRIC_TITLES.get(metric, f"validation {metric}")
        self.metric_plot.setTitle(title[0].upper() + title[1:], color="#c9ccd1", size="10pt")
        self.metric_plot.setLabel("left", metric.replace("_", " "))
        if metric.endswith("auc"):
            self.metric_plot.setYRange(0.0, 1.0, padding=0.02)
            self.metric_plot.enableAutoRange(axis="y", enable=False)
            if self.chance.scene() is None:
                self.metric_plot.addItem(self.chance)
        else:
            if self.chance.scene() is not None:
                self.metric_plot.removeItem(self.chance)
            self.metric_plot.enableAutoRange(axis="y", enable=True)
        for plot in (self.loss_plot, self.metric_plot):
            plot.setXRange(0, self.epochs, padding=0.02)
        self.batch_curve.setData([], [])
        self._redraw_epochs()
        done = len(self.history)
        self.bar.setValue(int(1000 * done / self.epochs))
        self.bar.setFormat(f"{done} of {self.epochs} epochs" if done else "")
        self.timing.setText("")

    def set_state(self, text: str, *, error: bool = False) -> None:
        self.state.setText(text)
        self.state.setStyleSheet("font-weight: bold;" + (" color: #e57373;" if error else ""))

    def set_device(self, text: str) -> None:
        self.device.setText(f"Device: {text}")

    def add_log(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    def epoch_points(self) -> int:
        """Epochs drawn on the curves (tests, screenshots)."""
        return len(self.history)

    # ---------------------------------------------------------------- events
    def _count_images(self, done, total, what: str) -> bool:
        """The bar as images done of total; True once all are done."""
        done, total = int(done or 0), max(1, int(total or 1))
        self.bar.setValue(int(1000 * done / total))
        self.bar.setFormat(f"{what}: {done}/{total} images")
        return done >= total

    def on_event(self, e: dict[str, Any]) -> None:
        kind = e.get("kind")
        if kind == "prepare":
            self._count_images(e.get("done"), e.get("total"), "preparing the data")
            self.set_state("Preparing the data…")
        elif kind == "mining":
            if self._count_images(e.get("step"), e.get("steps"), "finding hard negatives"):
                self.add_log(e.get("message", ""))
            self.set_state(f"Epoch {e.get('epoch')}: finding hard negatives…")
        elif kind == "start":
            self.started_at = time.monotonic()
            self.set_state(f"Training: epoch {int(e.get('epoch', 0)) + 1} of {e.get('epochs')}")
            self.add_log(e.get("message", ""))
        elif kind == "step":
            self._on_step(e)
        elif kind == "epoch":
            self._on_epoch(e)
        elif kind == "checkpoint":
            self.add_log(f"checkpoint after epoch {e.get('epoch')} written")
        elif kind in ("cancelled", "done"):
            self.eta = 0.0 if kind == "done" else None
            self.add_log(e.get("message", ""))
        self.tick()

    def _on_step(self, e: dict[str, Any]) -> None:
        epoch, steps = int(e["epoch"]), max(1, int(e.get("steps") or 1))
        losses = [v for v in (e.get("losses") or [e.get("loss")]) if v is not None]
        first = int(e["step"]) - len(losses) + 1
        for n, loss in enumerate(losses):
            self._ema = loss if self._ema is None else EMA * self._ema + (1 - EMA) * loss
            self.batch_x.append(epoch - 1 + (first + n) / steps)
            self.batch_y.append(self._ema)
        if len(self.batch_x) > MAX_BATCH_POINTS:  # keep every other point of the old half
            half = len(self.batch_x) // 2
            self.batch_x = self.batch_x[:half:2] + self.batch_x[half:]
            self.batch_y = self.batch_y[:half:2] + self.batch_y[half:]
        self.batch_curve.setData(self.batch_x, self.batch_y)
        # The bar counts epochs of the whole run (a resumed run starts part-way).
        fraction = (epoch - 1 + int(e["step"]) / steps) / self.epochs
        self.bar.setValue(int(1000 * min(1.0, fraction)))
        self.bar.setFormat(f"epoch {epoch}/{e.get('epochs')} · step {e['step']}/{steps} · "
                           f"loss {losses[-1]:.4f}" if losses else f"epoch {epoch}")
        self.set_state(f"Training: epoch {epoch} of {e.get('epochs')}")
        self._set_eta(e.get("eta_s"))

    def _on_epoch(self, e: dict[str, Any]) -> None:
        metrics = dict(e.get("metrics") or {})
        entry = {"epoch": int(e["epoch"]), **metrics}
        self.history = [h for h in self.history if h.get("epoch") != entry["epoch"]] + [entry]
        self._redraw_epochs()
        self.bar.setValue(int(1000 * entry["epoch"] / self.epochs))
        self.bar.setFormat(f"{entry['epoch']} of {self.epochs} epochs")
        self._set_eta(e.get("eta_s"))
        self.add_log(f"epoch {entry['epoch']}/{e.get('epochs')}: {e.get('message', '')}")

    def _redraw_epochs(self) -> None:
        h = sorted(self.history, key=lambda d: d["epoch"])
        xs = [d["epoch"] for d in h]

        def series(key):
            pts = [(x, d.get(key)) for x, d in zip(xs, h) if isinstance(d.get(key), (int, float))]
            return [p[0] for p in pts], [p[1] for p in pts]

        self.train_curve.setData(*series("train_loss"))
        self.val_curve.setData(*series("val_loss"))
        mx, my = series(self.metric_key)
        self.metric_curve.setData(mx, my)
        if my:
            best = max(range(len(my)), key=lambda i: my[i])
            self.best_marker.setData([mx[best]], [my[best]])
            self.best_marker.setToolTip(f"best: epoch {mx[best]}, {self.metric_key} {my[best]:.4f}")
        else:
            self.best_marker.setData([], [])

    def _set_eta(self, eta) -> None:
        if eta is not None:
            self.eta = float(eta)
            self._eta_at = time.monotonic()

    def tick(self) -> None:
        """Elapsed time and the ETA counting down between events (called by the dialog's timer)."""
        if self.started_at is None:
            return
        elapsed = time.monotonic() - self.started_at
        eta = None if self.eta is None else max(0.0, self.eta - (time.monotonic() - self._eta_at))
        self.timing.setText(f"elapsed {format_duration(elapsed)} · ETA {format_duration(eta)}")

    def stop_clock(self) -> None:
        self.tick()
        self.started_at = None
