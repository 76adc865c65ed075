"""Models > Train or fine-tune…: train any MammoView model on your own labelled studies.

The dialog is non-modal: the review window stays usable while a run goes on. It

1. asks a child process what this machine offers (devices, architectures, ImageNet files
   in the local torch cache, the model in use per task) and, whenever the data or split
   settings change, what the run will use: images per class and split, the patients,
   or a refusal with the engine's own message (:func:`mammoview.gui.trainjobs.plan_request`);
2. runs :func:`mammoview.training.engine.train` (the command line's generator) in a
   spawned, niced process (:class:`~mammoview.gui.trainjobs.TrainingProcess`), draining
   its messages from a 100 ms timer into live curves, a progress bar with ETA and a log;
3. cancels through the engine's cancel token (the last completed epoch's checkpoint is
   kept), and resumes a cancelled or interrupted run, after a restart too (the run folder
   and its ``run.json`` remember it);
4. at the end shows the new model beside the one in use on the same validation patients
   and installs and activates it on request (:mod:`mammoview.nets.registry`); the window
   then recomputes what is on screen with it.

torch never loads in the window's process. Research use only, not for diagnosis.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mammoview import RESEARCH_NOTICE
from mammoview.gui.isolation import LaneUnavailable
from mammoview.gui.trainjobs import (
    RunRecord,
    TrainingProcess,
    latest_resumable,
    plan_request,
    probe_environment,
    training_lane,
    user_data_dir,
)
from mammoview.gui.training_form import PlanView, SetupForm
from mammoview.gui.training_monitor import RunMonitor
from mammoview.gui.training_results import ResultsView
from mammoview.gui.workers import JobFailure, JobRunner

log = logging.getLogger(__name__)

POLL_MS = 100
PLAN_DEBOUNCE_MS = 350
#: A process that died without saying goodbye is noticed after this many silent polls.
DEAD_POLLS = 3
QUIT_WAIT_S = 10.0


class TrainingDialog(QDialog):
    """Set up, run, watch, compare and activate a training run.

    Parameters
    ----------
    window : the main window (its studies feed the "studies open" data choice), or None.

    Signals
    -------
    runEnded(str)
        The run ended: "done", "cancelled" or "failed".
    compared()
        The comparison of the new model with the one in use is shown.
    activated(str)
        The new model (this version) is installed and active.
    """

    runEnded = Signal(str)
    compared = Signal()
    activated = Signal(str)

    def __init__(self, window=None, parent=None) -> None:
        super().__init__(parent if parent is not None else window)
        self.main_window = window
        self.setWindowTitle("Train or fine-tune a model")
        self.setModal(False)
        self.resize(1280, 820)
        self.runner = JobRunner(self, max_threads=1)
        self.process: TrainingProcess | None = None
        self.spare: TrainingProcess | None = None  # started early: torch loads before Start
        self.record: RunRecord | None = None
        self.plan: dict[str, Any] | None = None
        self.plan_data: str | None = None
        self.probe: dict[str, Any] | None = None
        self.status = "idle"  # idle, running, stopping
        self._silent = 0
        self._ended = False
        self._build()
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._drain)
        self._plan_timer = QTimer(self)
        self._plan_timer.setSingleShot(True)
        self._plan_timer.setInterval(PLAN_DEBOUNCE_MS)
        self._plan_timer.timeout.connect(self._submit_plan)
        self.form.changed.connect(self._plan_later)
        if window is not None and hasattr(window, "studiesOpened"):
            window.studiesOpened.connect(lambda _n: self._studies_changed())
        self.refresh()

    # ================================================================ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        self.banner = QFrame()
        self.banner.setObjectName("trainResumeBanner")
        self.banner.setStyleSheet("#trainResumeBanner { background: #2f3a44; border-radius: 4px; }")
        row = QHBoxLayout(self.banner)
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.banner_resume = QPushButton("Resume it")
        self.banner_resume.clicked.connect(lambda: self.resume_run(self._banner_record))
        self.banner_dismiss = QPushButton("Not now")
        self.banner_dismiss.clicked.connect(self.banner.hide)
        row.addWidget(self.banner_text, 1)
        row.addWidget(self.banner_resume)
        row.addWidget(self.banner_dismiss)
        self.banner.hide()
        self._banner_record: RunRecord | None = None
        outer.addWidget(self.banner)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        studies = (lambda: list(getattr(self.main_window, "studies", []) or [])) if self.main_window is not None else None
        self.form = SetupForm(studies)
        self.plan_view = PlanView()
        left_lay.addWidget(self.form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(left)
        scroll.setMinimumWidth(470)
        self.tabs = QTabWidget()
        self.monitor = RunMonitor()
        self.results = ResultsView()
        self.results.activateRequested.connect(self.make_active)
        self.tabs.addTab(self.monitor, "Progress")
        self.tabs.addTab(self.results, "Results")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plan_view)
        right.addWidget(self.tabs)
        right.setStretchFactor(1, 1)
        right.setSizes([190, 630])
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([500, 780])
        outer.addWidget(splitter, 1)

        buttons = QHBoxLayout()
        notice = QLabel(RESEARCH_NOTICE)
        notice.setStyleSheet("color: #e0b66a;")
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("trainStart")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.setObjectName("trainCancel")
        self.cancel_button.setToolTip("Stop after the current step; the last completed epoch is kept and can be resumed")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("trainResume")
        self.new_button = QPushButton("New run")
        self.new_button.setToolTip("Set up another run (the stopped one stays resumable)")
        self.close_button = QPushButton("Close")
        self.start_button.clicked.connect(self.start_training)
        self.cancel_button.clicked.connect(self.cancel_training)
        self.resume_button.clicked.connect(lambda: self.resume_run(self.record))
        self.new_button.clicked.connect(self.new_run)
        self.close_button.clicked.connect(self.close)
        buttons.addWidget(notice, 1)
        for b in (self.new_button, self.resume_button, self.cancel_button, self.start_button, self.close_button):
            buttons.addWidget(b)
        outer.addLayout(buttons)
        self._update_buttons()

    # ================================================================ probe and plan
    def refresh(self) -> None:
        """Look again at the machine, the models in use, the studies and stopped runs."""
        self.form.refresh_studies()
        self._show_banner()
        self._submit_probe()

    def _lane_call(self, fn, *args):
        lane = training_lane()
        if not lane.available:
            raise LaneUnavailable("no process can be started for training here")
        return lane.call(fn, *args)

    def _submit_probe(self) -> None:
        from mammoview.nets.store import user_models_dir

        root = str(user_models_dir())
        self.runner.submit(lambda ctx: self._lane_call(probe_environment, root), name="training probe",
                           channels=("probe",), on_done=self._on_probe, on_error=self._on_probe_failed)

    def _on_probe(self, info: dict[str, Any]) -> None:
        self.probe = info
        self._warm_spare()
        if self.status == "idle" and not self._showing_stored_run():
            self.form.set_probe(info)
        else:
            self.form.probe = info
        self._plan_later()
        self._update_buttons()

    def _on_probe_failed(self, failure: JobFailure) -> None:
        self.plan_view.show_refused(f"training is not available here: {failure.message}")
        self._update_buttons()

    def _plan_later(self) -> None:
        if self.status == "idle" and not self._showing_stored_run():
            self.plan = None
            self.plan_view.show_checking()
            self._plan_timer.start()
            self._update_buttons()

    def _studies_changed(self) -> None:
        self.form.refresh_studies()
        if self.form.data_kind == "studies":
            self._plan_later()

    def _submit_plan(self) -> None:
        req = self.form.request()
        if self.probe is None:
            self.plan_view.show_message("Checking this machine (devices, architectures, models)…")
            return
        if req.data_kind != "studies" and not req.data:
            self.plan_view.show_message("Choose the data: a MIAS folder, a labels CSV, or the open studies.")
            return
        rows = self.form.studies_rows()[0] if req.data_kind == "studies" else None
        self.runner.bump("plan")
        data_root = str(user_data_dir())
        self.runner.submit(lambda ctx: self._lane_call(plan_request, req.to_dict(), rows, data_root),
                           name="training plan",
                           channels=("plan",), on_done=self._on_plan,
                           on_error=lambda f: self.plan_view.show_refused(f.message))

    def _on_plan(self, result: dict[str, Any]) -> None:
        if "refused" in result:
            self.plan = None
            self.plan_view.show_refused(result["refused"])
        else:
            self.plan = result["plan"]
            self.plan_data = result["data"]
            self.plan_view.show_plan(self.plan)
        self._update_buttons()

    # ================================================================ runs
    @property
    def running(self) -> bool:
        return self.process is not None

    def start_training(self) -> None:
        """Start the planned run in a new run folder."""
        if self.running or self.plan is None:
            return
        req = self.form.request()
        req.data = self.plan_data or req.data
        record = RunRecord.create(req)
        record.update(plan=self.plan)
        self._launch(record, resume=False)

    def resume_run(self, record: RunRecord | None) -> None:
        """Continue a stopped run from its last completed epoch (engine's resume)."""
        if self.running or record is None or not record.resumable:
            return
        self.banner.hide()
        self.form.set_request(record.request)
        if record.data.get("plan"):
            self.plan_view.show_plan(record.data["plan"])
        self._launch(record, resume=True)

    def _launch(self, record: RunRecord, *, resume: bool) -> None:
        self.record = record
        req = record.request
        metric = ((self.probe or {}).get("tasks", {}).get(req.task, {}).get("main_metric")
                  or {"segmentation": "dice", "superres": "psnr"}.get(req.task, "patch_auc"))
        self.monitor.reset(req.epochs, metric, record.data.get("history") if resume else [])
        self.results.clear("The comparison appears here when the run finishes.")
        self.tabs.setCurrentWidget(self.monitor)
        verb = "Resuming" if resume else "Starting"
        self.monitor.set_state(f"{verb} the training process…")
        self.monitor.add_log(f"{verb.lower()} {req.task} in {record.folder}")
        record.update(status="running", message="")
        record.save_later()
        self.status = "running"
        self._silent = 0
        self._ended = False
        self.form.set_locked(True)
        try:
            self.process = self._take_spare()
            self.process.run(req, record.folder, resume=resume)
        except (OSError, ValueError, RuntimeError) as exc:
            self.process = None
            self._end("failed", f"cannot start the training process: {exc}")
            return
        self._poll.start()
        self._update_buttons()

    def _take_spare(self) -> TrainingProcess:
        proc, self.spare = self.spare, None
        if proc is None or proc.has_job or proc.exitcode is not None:
            proc = TrainingProcess()
            proc.start()
        return proc

    def _warm_spare(self) -> None:
        """Start the next run's process now (torch and the engine load while the user chooses)."""
        if self.spare is None and self.probe is not None and not self.running and self.isVisible():
            try:
                self.spare = TrainingProcess()
                self.spare.start()
            except (OSError, ValueError, RuntimeError) as exc:
                self.spare = None
                log.debug("no spare training process: %s", exc)

    def _drop_spare(self) -> None:
        spare, self.spare = self.spare, None
        if spare is not None:
            spare.stop(2.0)

    def cancel_training(self) -> None:
        """Stop after the current step; the last completed epoch's checkpoint stays."""
        if not self.running:
            return
        self.process.cancel()
        self.status = "stopping"
        self.monitor.set_state("Cancelling after the current step…")
        self._update_buttons()

    def new_run(self) -> None:
        """Back to setting up (a stopped run stays listed for resuming)."""
        if self.running:
            return
        self.record = None
        self.form.set_locked(False)
        if self.probe is not None:
            self.form.set_probe(self.probe)
        self.monitor.reset(1, self.monitor.metric_key)
        self.monitor.set_state("Not started.")
        self.results.clear("The comparison appears here when a run finishes.")
        self._show_banner()
        self._warm_spare()
        self._plan_later()
        self._update_buttons()

    # ================================================================ messages
    def _drain(self) -> None:
        proc = self.process
        if proc is None:
            self._poll.stop()
            return
        messages = proc.drain()
        for message in messages:
            self._handle(message)
            if self.process is None:
                return
        self.monitor.tick()
        if messages:
            self._silent = 0
        elif not proc.alive:
            self._silent += 1
            if self._silent >= DEAD_POLLS:
                self._end("failed", f"the training process stopped unexpectedly (exit code {proc.exitcode}); "
                                    "the checkpoint of the last completed epoch is kept")

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            return
        if kind == "device":
            self.monitor.set_device(message[1])
            self.record.update(device=message[1])
        elif kind == "event":
            self._on_event(message[1])
        elif kind == "comparing":
            self.monitor.set_state("Comparing the new model with the model in use on the validation patients…")
        elif kind == "comparison":
            self._on_comparison(message[1])
        elif kind == "error":
            self.monitor.add_log(message[1])
            if message[2]:
                log.debug("training failed:\n%s", message[2])
            self._end("failed", message[1])
        elif kind == "exit":
            if not self._ended:
                self._end(self.record.status if self.record.status in ("done", "cancelled") else "failed",
                          self.record.data.get("message") or "the training process ended without a result")
            self._finish_process()

    def _on_event(self, e: dict[str, Any]) -> None:
        self.monitor.on_event(e)
        kind = e.get("kind")
        if kind == "epoch":
            history = [h for h in self.record.data.get("history", []) if h.get("epoch") != e["epoch"]]
            self.record.update(epoch=int(e["epoch"]), history=history + [{"epoch": e["epoch"], **e.get("metrics", {})}])
            self.record.save_later()
        elif kind == "cancelled":
            self._end("cancelled", e.get("message", "cancelled"))
        elif kind == "done":
            self.record.update(status="done", model=e.get("path"), message=e.get("message", ""), epoch=e.get("epochs"))
            self.record.save_later()
            self.monitor.set_state("Finished. Scoring the new model and the model in use on the validation patients…")
            self.monitor.stop_clock()

    def _on_comparison(self, result: dict[str, Any]) -> None:
        self.results.show_comparison(result)
        self.record.update(comparison=result, version=(result.get("card") or {}).get("version"))
        self.record.save_later()
        QTimer.singleShot(0, lambda: self.tabs.setCurrentWidget(self.results))  # painted on its own turn
        self._end("done", "finished")
        self.compared.emit()

    def _end(self, status: str, message: str) -> None:
        """The run is over (the process may still be exiting)."""
        if self._ended:
            return
        self._ended = True
        self.monitor.stop_clock()
        record = self.record
        if record is not None:
            record.update(status=status, message=message)
            record.save_later()
        if status == "cancelled":
            kept = record is not None and record.checkpoint().is_file()
            self.monitor.set_state(f"Cancelled. {message}" + ("" if kept else " (nothing to resume)"))
        elif status == "failed":
            self.monitor.set_state(f"Stopped: {message}", error=True)
        else:
            self.monitor.set_state("Finished: the new model is compared with the model in use in Results.")
        if self.process is not None and not self.process.alive:
            self._finish_process()
        self.runEnded.emit(status)
        self._update_buttons()

    def _finish_process(self) -> None:
        proc, self.process = self.process, None
        self._poll.stop()
        if proc is not None:
            # Never wait on the UI thread: a process that said "exit" can take a second to
            # tear torch down; multiprocessing reaps it when the next process starts.
            proc.process.join(0)
        self.status = "idle"
        # No spare is started here, while the results paint: spawning first copies the
        # window process's page tables, and meanwhile the UI thread's page faults wait.
        # The next run's process starts when the user sets one up (new_run).
        self._update_buttons()

    # ================================================================ activation
    def make_active(self) -> None:
        """Install the new model in the per-user store and make it the one in use."""
        record = self.record
        if record is None or record.status not in ("done",) or not record.model_path().is_file():
            return
        task, path = record.task, str(record.model_path())
        self.results.activate.setEnabled(False)
        self.results.set_activated("Checking and installing the new model…")

        def job(ctx):
            from mammoview.nets.registry import check_for_install, install_model
            from mammoview.nets.store import user_models_dir

            checked = self._lane_call(check_for_install, path, task)
            if "error" in checked:
                raise ValueError(checked["error"])
            installed = install_model(path, expected_task=task, activate=True, root=user_models_dir(), checked=True)
            return installed.version

        self.runner.submit(job, name="activate trained model", channels=("activate",),
                           on_done=lambda version: self._on_activated(task, version),
                           on_error=self._on_activate_failed)

    def _on_activated(self, task: str, version: str) -> None:
        self.record.update(status="activated", installed_version=version)
        self.record.save_later()
        self.results.set_activated(f"Version {version} is now the {task} model in use; the window recomputes "
                                   "what it shows with it. The previous model stays installed (Models > Manage).")
        self._submit_probe()
        self.activated.emit(version)

    def _on_activate_failed(self, failure: JobFailure) -> None:
        self.results.set_activated(f"Not activated: {failure.message}", ok=False)
        self.results.activate.setEnabled(True)

    # ================================================================ state
    def _showing_stored_run(self) -> bool:
        return self.record is not None

    def _show_banner(self) -> None:
        if self.running:
            self.banner.hide()
            return
        record = latest_resumable(exclude=self.record.folder if self.record is not None else None)
        self._banner_record = record
        if record is None:
            self.banner.hide()
            return
        self.banner_text.setText(f"A stopped run can be resumed from its last completed epoch: {record.describe()}.")
        self.banner.show()

    def _update_buttons(self) -> None:
        running = self.running
        stopped = self.record is not None and not running
        # Only the buttons that mean something now are shown.
        self.start_button.setVisible(not running and not stopped)
        self.start_button.setEnabled(self.plan is not None and self.probe is not None)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(self.status == "running")
        self.resume_button.setVisible(stopped and self.record.resumable)
        self.resume_button.setEnabled(stopped and self.record.resumable)
        self.new_button.setVisible(stopped)
        self.banner_resume.setEnabled(not running)

    # ================================================================ closing
    def ask(self, title: str, text: str, yes: str, no: str) -> bool:
        """A yes/no question (tests replace it)."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        accept = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.addButton(no, QMessageBox.ButtonRole.RejectRole)
        box.exec()
        return box.clickedButton() is accept

    def _running_text(self) -> str:
        epoch = self.record.data.get("epoch", 0) if self.record else 0
        epochs = self.record.data.get("epochs", 0) if self.record else 0
        return (f"A training run is going on ({epoch} of {epochs} epochs done). If it stops now, the checkpoint "
                "of the last completed epoch is kept and the run can be resumed later from "
                "Models > Train or fine-tune…")

    def confirm_stop(self, *, quitting: bool) -> bool:
        """Ask before ending a running training; True when it may end (and it has)."""
        if not self.running:
            return True
        title = "Quit MammoView?" if quitting else "Stop training?"
        yes = "Stop training and quit" if quitting else "Stop training"
        if not self.ask(title, self._running_text(), yes, "Keep training"):
            return False
        self.stop_now()
        return True

    def stop_now(self, timeout: float = QUIT_WAIT_S) -> None:
        """Cancel and wait for the process (it stops after its step), then record the state."""
        proc = self.process
        if proc is None:
            return
        t0 = time.monotonic()
        proc.stop(timeout)
        for message in proc.drain(budget_s=1.0, limit=10_000):
            if self.process is None:
                break
            self._handle(message)
        if not self._ended:
            self._end("cancelled", "stopped when the dialog or the app was closed")
        self._finish_process()
        from mammoview.gui.trainjobs import flush_records

        flush_records()
        log.debug("training stopped in %.1f s", time.monotonic() - t0)

    def closeEvent(self, event) -> None:
        if not self.confirm_stop(quitting=False):
            event.ignore()
            return
        self._drop_spare()
        super().closeEvent(event)

    def reject(self) -> None:  # Esc
        if self.confirm_stop(quitting=False):
            self._drop_spare()
            super().reject()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.running:
            self.form.refresh_studies()
            self._show_banner()
            self._warm_spare()

    def shutdown(self) -> None:
        """The app quits (already confirmed): stop a run still going, flush the records."""
        from mammoview.gui.trainjobs import flush_records

        self.stop_now()
        self._drop_spare()
        self.runner.cancel_all()
        self.runner.wait_for_done(3000)
        flush_records()


def open_training_dialog(window) -> TrainingDialog:
    """The window's one training dialog (created on first use), shown and raised."""
    dialog = getattr(window, "training_dialog", None)
    if dialog is None:
        dialog = TrainingDialog(window)
        window.training_dialog = dialog
    elif not dialog.running:
        dialog.refresh()
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog

