"""Training from the window: the run in a child process, its record, and the jobs around it.

torch never loads in the window's process. Everything that needs it runs elsewhere:

* :func:`probe_environment` (devices, architectures, ImageNet files in the torch cache,
  the model in use per task) and :func:`plan_request` (the images per class and split the
  run will use, with the engine's own checks) run in a one-process
  :class:`~mammoview.gui.isolation.ProcessLane` of their own (:func:`training_lane`);
* the run itself is :func:`training_main` in a spawned :class:`TrainingProcess`: it
  drives :func:`mammoview.training.engine.train` (the generator the command line uses)
  and puts plain-dict messages on a multiprocessing queue that the dialog drains from a
  timer; cancelling sets a multiprocessing Event that the engine's cancel token reads.
  The process runs at niceness :data:`TRAIN_NICENESS`, so the window keeps the CPU it
  needs.

Every run has a folder under ``<user data>/training/runs/`` with ``run.json``
(:class:`RunRecord`: what was asked, how far it got, its curves, its result), the
engine's checkpoint and, at the end, the model and its card. A run that was cancelled,
failed or interrupted (the app closed or crashed) keeps its checkpoint and can be resumed
from the dialog, after a restart too.

No Qt here: the child processes import this module. Research use only, not for diagnosis.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import multiprocessing
import os
import queue as queue_mod
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from mammoview.core.errors import MammoViewError
from mammoview.core.progress import CancelToken
from mammoview.gui.isolation import ProcessLane, _lower_priority
from mammoview.io.atomic import atomic_write

log = logging.getLogger(__name__)

#: The tasks the dialog trains, in menu order, with what each one learns.
TASK_TITLES = {
    "classifier-stage1": "Classifier stage 1: normal vs abnormal",
    "classifier-stage2": "Classifier stage 2: benign vs malignant",
    "segmentation": "Lesion segmentation (UNet)",
    "superres": "Super-resolution x2 (EDSR)",
}
AUGMENTATIONS = ("flip", "rotate", "zoom", "shear", "brightness", "contrast")
#: Background priority of the training process: the lowest. On two cores a busy trainer
#: at equal priority delays the UI thread's timers by 100 ms and more, and beside the
#: window's own lanes (niceness 10: the next image, its panels, the AI) it should take
#: little (scheduler weight 15 against their 110). Not SCHED_IDLE: that starved training
#: completely whenever any other program kept the cores busy.
TRAIN_NICENESS = 19
PLAN_NICENESS = 5
#: At most this often a training step is sent to the window (the bar and the smoothed
#: loss curve need no more; epoch, checkpoint and end events always go).
STEP_INTERVAL_S = 0.2
RUN_FILE = "run.json"
RESUMABLE = ("cancelled", "failed", "interrupted")


def training_threads() -> int:
    """torch threads for a run: every core but one, which stays with the window.

    Also much faster on a busy machine: with as many OpenMP threads as cores, each
    training step waited on threads the scheduler had parked (measured on 2 cores at load
    10: 2-6 s a step with 2 threads, 0.3 s with 1)."""
    return max(1, (os.cpu_count() or 2) - 1)


# ================================================================== folders
def user_data_dir() -> Path:
    """``$MAMMOVIEW_DATA_DIR``, else platformdirs' per-user data folder."""
    env = os.environ.get("MAMMOVIEW_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("mammoview"))


def runs_root() -> Path:
    return user_data_dir() / "training" / "runs"


def datasets_root() -> Path:
    return user_data_dir() / "training" / "datasets"


# ================================================================== the request
@dataclass
class TrainRequest:
    """What the dialog asks for, as plain data (it travels to the child and into run.json).

    ``data_kind`` is "mias", "csv" or "studies" (``data`` is then the labels CSV the
    studies were exported to). ``start`` is "scratch", "imagenet" or "finetune" (from
    ``init_from``). ``compare_with`` is the model in use when the run started: the run
    ends by scoring both on its validation patients.
    """

    task: str
    data: str
    data_kind: str = "mias"
    epochs: int = 1
    arch: str = ""
    batch_size: int = 16
    lr: float = 1e-3
    augment: list[str] = field(default_factory=list)
    device: str = "auto"
    seed: int = 0
    val_fraction: float = 0.2
    start: str = "scratch"
    init_from: str | None = None
    compare_with: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    threads: int = 0  # torch CPU threads; 0: all cores but one (see training_threads)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainRequest":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def config(self, out: str | Path, *, resume: bool = False):
        """The engine's :class:`~mammoview.training.config.TrainConfig` for this request."""
        from mammoview.training.config import TrainConfig

        # Task-specific sizes have fields of their own in TrainConfig; the rest is extra.
        own = {k: self.extra[k] for k in ("size", "patch", "patches_per_image") if k in self.extra}
        extra = {k: v for k, v in self.extra.items() if k not in own}
        return TrainConfig(
            data=Path(self.data), out=Path(out), epochs=int(self.epochs), arch=self.arch or None,
            device=self.device, resume=resume, seed=int(self.seed), batch_size=int(self.batch_size),
            lr=float(self.lr), val_fraction=float(self.val_fraction), augment=tuple(self.augment),
            start=self.start, init_from=Path(self.init_from) if self.init_from else None,
            threads=self.threads or training_threads(), command=self.command(out), extra=extra, **own)

    def command(self, out) -> str:
        """The equivalent command line, for the model card (extras as the dialog set them)."""
        import shlex

        parts = ["mammoview", "train", self.task, "--data", str(self.data), "--out", str(out),
                 "--epochs", str(self.epochs), "--seed", str(self.seed), "--batch-size", str(self.batch_size),
                 "--lr", f"{self.lr:g}", "--val-fraction", f"{self.val_fraction:g}",
                 "--augment", ",".join(self.augment) or "none", "--device", self.device]
        if self.arch:
            parts += ["--arch", self.arch]
        for key in ("size", "patch", "patches_per_image"):
            if key in self.extra:
                parts += [f"--{key.replace('_', '-')}", str(self.extra[key])]
        line = shlex.join(parts)
        note = {"finetune": f"fine-tuned from {self.init_from}", "imagenet": "ImageNet start"}.get(self.start)
        others = {k: v for k, v in self.extra.items() if k not in ("size", "patch", "patches_per_image")}
        tail = "; ".join(x for x in (note, f"settings {json.dumps(others, sort_keys=True)}" if others else "") if x)
        return f"{line}  # from the training dialog" + (f" ({tail})" if tail else "")


# ================================================================== the run's record
class RunRecord:
    """``run.json`` of one run folder: the request, status, epochs done, curves, result.

    ``status`` is "running", "cancelled", "failed", "interrupted" (found "running" with
    no process: the app closed or crashed), "done" or "activated".
    """

    def __init__(self, folder: Path, data: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.data = data

    @classmethod
    def create(cls, request: TrainRequest, root: Path | None = None) -> "RunRecord":
        root = Path(root) if root is not None else runs_root()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = root / f"{stamp}-{request.task}"
        n = 1
        while folder.exists():
            n += 1
            folder = root / f"{stamp}-{request.task}-{n}"
        folder.mkdir(parents=True)
        now = _now()
        return cls(folder, {"request": request.to_dict(), "status": "new", "epoch": 0,
                            "epochs": int(request.epochs), "history": [], "message": "",
                            "started": now, "updated": now, "device": ""})

    @classmethod
    def load(cls, folder: Path) -> "RunRecord":
        """Raises OSError / ValueError for a missing or unreadable run.json."""
        data = json.loads((Path(folder) / RUN_FILE).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "request" not in data:
            raise ValueError("not a MammoView run record")
        return cls(folder, data)

    @property
    def request(self) -> TrainRequest:
        return TrainRequest.from_dict(self.data["request"])

    @property
    def task(self) -> str:
        return self.data["request"]["task"]

    @property
    def status(self) -> str:
        return self.data.get("status", "")

    def checkpoint(self) -> Path:
        return self.folder / f"{self.task}.checkpoint.safetensors"

    def model_path(self) -> Path:
        return self.folder / f"{self.task}.safetensors"

    @property
    def resumable(self) -> bool:
        """Stopped before the end with at least one completed epoch kept."""
        return (self.status in RESUMABLE and self.checkpoint().is_file()
                and int(self.data.get("epoch", 0)) < int(self.data.get("epochs", 0)))

    def describe(self) -> str:
        """"classifier-stage1, epoch 3 of 8, cancelled 2026-11-21 22:14"."""
        when = str(self.data.get("updated", ""))[:16].replace("T", " ")
        return (f"{TASK_TITLES.get(self.task, self.task)}: epoch {self.data.get('epoch', 0)} of "
                f"{self.data.get('epochs', 0)} done, {self.status} {when}".strip())

    def update(self, **values: Any) -> None:
        self.data.update(values)
        self.data["updated"] = _now()

    def save(self) -> None:
        """Write run.json atomically (small; call :meth:`save_later` from the UI thread)."""
        with atomic_write(self.folder / RUN_FILE, "w") as fh:
            json.dump(self.data, fh, indent=1, default=str)
            fh.write("\n")

    def save_later(self) -> None:
        """Save on the writer thread (fsync off the UI thread); the newest state wins."""
        _writer().put(self.folder, json.loads(json.dumps(self.data, default=str)))


def list_runs(root: Path | None = None, limit: int = 20) -> list[RunRecord]:
    """The newest ``limit`` runs (newest first); "running" ones with no process are
    reported "interrupted" (a run of this app is never listed while it runs)."""
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)[:limit]
    out = []
    for folder in folders:
        try:
            record = RunRecord.load(folder)
        except (OSError, ValueError):
            continue
        if record.status in ("running", "new"):
            record.data["status"] = "interrupted"
        out.append(record)
    return out


def latest_resumable(root: Path | None = None, *, exclude: Path | None = None) -> RunRecord | None:
    for record in list_runs(root):
        if record.resumable and (exclude is None or record.folder != Path(exclude)):
            return record
    return None


class _RecordWriter:
    """One daemon thread writing run records; a newer state replaces a queued older one."""

    def __init__(self) -> None:
        self._pending: dict[Path, dict] = {}
        self._cv = threading.Condition()
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="run-record-writer", daemon=True)
        self._thread.start()

    def put(self, folder: Path, data: dict) -> None:
        with self._cv:
            self._pending[Path(folder)] = data
            self._cv.notify()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued is written (app exit, tests)."""
        end = time.monotonic() + timeout
        with self._cv:
            while self._pending or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._pending:
                    self._cv.wait()
                folder, data = self._pending.popitem()
                self._busy = True
            try:
                RunRecord(folder, data).save()
            except OSError as exc:
                log.warning("%s: cannot write the run record (%s)", folder / RUN_FILE, exc.strerror or exc)
            with self._cv:
                self._busy = False
                self._cv.notify_all()


_writer_lock = threading.Lock()
_the_writer: _RecordWriter | None = None


def _writer() -> _RecordWriter:
    global _the_writer
    with _writer_lock:
        if _the_writer is None:
            _the_writer = _RecordWriter()
        return _the_writer


def flush_records(timeout: float = 5.0) -> bool:
    return _writer().flush(timeout) if _the_writer is not None else True


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


# ================================================================== studies as a dataset
def studies_payload(studies) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The images of ``studies`` that can train a model, as plain rows; and, by reason,
    how many cannot (no ground truth, synthetic demo image)."""
    rows, skipped = [], {}
    for study in studies:
        for ref in study.images:
            if ref.synthetic or ref.kind == "phantom":
                skipped["synthetic demo image"] = skipped.get("synthetic demo image", 0) + 1
                continue
            if not ref.ground_truth:
                skipped["no ground truth"] = skipped.get("no ground truth", 0) + 1
                continue
            rows.append({
                "path": str(ref.path), "uid": ref.uid, "patient": ref.patient.id or ref.study_uid,
                "truth": ref.ground_truth, "rows": ref.rows, "cols": ref.cols,
                "findings": [[f.row, f.col, f.radius] for f in ref.findings if f.has_location and f.radius],
            })
    return rows, skipped


def export_studies(rows: list[dict[str, Any]], root: Path | None = None) -> Path:
    """Write ``rows`` as a labels CSV (absolute image paths, class, patient) with a lesion
    mask PNG per image with located findings; returns the CSV's path.

    The folder is named by a digest of the rows, so the same studies give the same CSV
    (a resumed run finds its data again, after a restart too).
    """
    import numpy as np

    from mammoview.io.mias import mias_number

    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]
    folder = (Path(root) if root is not None else datasets_root()) / f"studies-{digest}"
    csv_path = folder / "labels.csv"
    if csv_path.is_file():
        return csv_path
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["image", "mask", "patient", "class"])
    for n, row in enumerate(rows):
        mask = ""
        if row["findings"] and row["rows"] and row["cols"]:
            mask = f"masks/{n:05d}-{Path(row['path']).stem}.png"
            shape = (int(row["rows"]), int(row["cols"]))
            rr, cc = np.ogrid[: shape[0], : shape[1]]
            pixels = np.zeros(shape, bool)
            for r, c, radius in row["findings"]:
                pixels |= (rr - r) ** 2 + (cc - c) ** 2 <= radius**2
            _write_png(folder / mask, pixels)
        # MIAS names: the loader pairs mdb(2k-1)/mdb(2k) itself when the patient is empty.
        patient = "" if mias_number(Path(row["path"]).name) else row["patient"]
        writer.writerow([row["path"], mask, patient, row["truth"]])
    with atomic_write(csv_path, "w") as fh:
        fh.write(buffer.getvalue())
    return csv_path


def _write_png(path: Path, mask) -> None:
    from PIL import Image as PILImage

    with atomic_write(path, "wb") as fh:
        PILImage.fromarray(mask.astype("uint8") * 255).save(fh, format="PNG")


# ================================================================== lane jobs (child side)
def probe_environment(models_root: str | None = None) -> dict[str, Any]:
    """Devices, and per task: architectures, defaults, ImageNet files, the model in use.

    ``models_root`` is the window's per-user models folder (a lane process may have been
    started before the window's settings changed, so the folder travels with the job)."""
    import torch

    from mammoview.training.start import imagenet_file, imagenet_name
    from mammoview.training.tasks import TASKS

    cuda = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    info: dict[str, Any] = {"cuda": cuda, "mps": mps, "threads": training_threads(), "cores": os.cpu_count(),
                            "torch": torch.__version__, "tasks": {},
                            "imagenet_cache": str(Path(torch.hub.get_dir()) / "checkpoints")}
    notes = _arch_notes()
    for task in TASK_TITLES:
        spec = TASKS[task]
        files = {a: imagenet_file(spec, a) for a in spec.archs}
        info["tasks"][task] = {
            "archs": list(spec.archs), "default_arch": spec.default_arch,
            "defaults": _plain(spec.defaults), "main_metric": spec.main_metric,
            "imagenet": {a: (str(p) if p else None) for a, p in files.items()},
            "imagenet_names": {a: imagenet_name(spec, a) for a in spec.archs},
            "active": active_model_info(task, models_root),
            "arch_notes": {a: notes[a] for a in spec.archs if a in notes},
        }
    return info


def _arch_notes() -> dict[str, dict[str, Any]]:
    """Per classifier architecture: a one-line description with its parameter count, the
    smallest patch it takes and its paper (:func:`mammoview.nets.archs.classifier_archs`)."""
    try:
        from mammoview.nets.archs import classifier_archs
    except ImportError:
        return {}
    return {a.name: {"label": a.label(), "min_input": a.min_input, "paper": a.paper} for a in classifier_archs()}


def active_model_info(task: str, models_root: str | None = None) -> dict[str, Any] | None:
    """The model in use for ``task``: path, version, preset, preprocessing; None if none."""
    from mammoview.nets.store import ModelLoadError, read_card
    from mammoview.training.start import preset_of
    from mammoview.training.tasks import TASKS

    path = active_model_path(task, models_root)
    if path is None:
        return None
    try:
        card = read_card(path)
    except ModelLoadError as exc:
        return {"path": str(path), "error": str(exc)}
    return {"path": str(path), "version": card.version, "architecture": card.architecture,
            "preset": preset_of(TASKS[task], card), "preprocessing": _plain(card.preprocessing),
            "created": card.created, "metrics": _headline(card)}


def active_model_path(task: str, models_root: str | None = None) -> Path | None:
    from mammoview.nets.registry import active_model

    return active_model(task, root=models_root)


def _headline(card) -> str:
    validation = (card.metrics or {}).get("validation") or {}
    for key in ("patch_auc", "dice", "psnr"):
        value = validation.get(key)
        if isinstance(value, (int, float)):
            return f"{key.replace('_', ' ')} {value:.3f}"
    return ""


def plan_request(request: dict[str, Any], studies: list[dict[str, Any]] | None = None,
                 data_root: str | None = None) -> dict[str, Any]:
    """The run's images per class and split ({"plan": ..., "data": csv/folder}), or
    {"refused": one line} with the engine's own messages (offending CSV rows listed)."""
    from mammoview.training.plan import plan_run

    req = TrainRequest.from_dict(request)
    try:
        if req.data_kind == "studies":
            if not studies:
                return {"refused": "no open study has ground truth (open a MIAS folder with Info.txt)"}
            root = Path(data_root) / "training" / "datasets" if data_root else None
            req.data = str(export_studies(studies, root))
        config = req.config(Path(data_root or user_data_dir()) / "training" / "plan-check")
        plan = plan_run(req.task, config)
    except (MammoViewError, ValueError) as exc:
        message = str(exc)
        if req.data_kind == "studies" and req.data:
            # The open studies were written to a labels CSV of ours: the reader never made
            # that file, so the message names what they chose instead.
            message = message.replace(req.data, "the open studies")
        return {"refused": message, "data": req.data}
    return {"plan": plan.to_dict(), "data": req.data}


# ================================================================== the training process
class Flag:
    """A flag shared with the child process, set by the window and read by the child
    without a lock. A multiprocessing Event takes a lock on every ``is_set()``; the
    niced child, descheduled while holding it, would make the window's ``set()`` (the
    Cancel button) wait for it."""

    def __init__(self, context) -> None:
        self._value = context.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)


class _FlagToken(CancelToken):
    """The engine's cancel token, set from the window through a shared :class:`Flag`."""

    def __init__(self, flag) -> None:  # noqa: D107 (the base's threading.Event is replaced)
        self._event = flag


def describe_device(preference: str) -> str:
    """"cpu (2 threads)", "cuda (NVIDIA H100 80GB HBM3)": the device the engine will pick."""
    import torch

    from mammoview.nets.device import choose_device

    device = choose_device(preference)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        n = torch.get_num_threads()
        return f"cpu ({n} thread{'s' if n != 1 else ''})"
    return device.type


def training_main(jobs, messages, cancel_event) -> None:
    """Child side: warm up (torch and the engine imported), wait for one job, run it and
    send plain messages until ("exit", code). A None job ends the process unused."""
    _lower_priority(TRAIN_NICENESS)
    send = messages.put
    code = 0
    try:
        import importlib

        from mammoview.training import engine

        importlib.import_module("mammoview.training.compare")  # the slow imports, done before Start

        send(("ready",))
        job = jobs.get()
        if job is None:
            return
        request, out, resume = job
        req = TrainRequest.from_dict(request)
        config = req.config(out, resume=resume)
        import torch

        torch.set_num_threads(int(config.threads))
        send(("device", describe_device(req.device)))
        token = _FlagToken(cancel_event)
        last, last_sent, losses = None, 0.0, []
        for progress in engine.train(req.task, config, cancel=token):
            event = progress.partial
            last = event
            if event.kind == "step":
                losses.append(event.loss)
                now = time.monotonic()
                if now - last_sent < STEP_INTERVAL_S and event.step != event.steps:
                    continue
                last_sent = now
            send(("event", {**_plain(asdict(event)), "done": progress.done, "total": progress.total,
                            "losses": losses if event.kind == "step" else []}))
            if event.kind == "step":
                losses = []
        if last is not None and last.kind == "done" and not cancel_event.is_set():
            send(("comparison", _compare(req, config, last.path, send)))
    except MammoViewError as exc:
        code = 1
        send(("error", str(exc), ""))
    except BaseException as exc:  # noqa: BLE001 (the window shows it; the checkpoint is kept)
        code = 2
        send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        send(("exit", code))


def _compare(req: TrainRequest, config, new_model: str, send) -> dict[str, Any]:
    """The new model and the one in use when the run started, on the run's validation split."""
    from mammoview.nets.store import read_card
    from mammoview.training.compare import compare_models
    from mammoview.training.engine import resolve_settings
    from mammoview.training.tasks import TASKS

    card = read_card(new_model)
    val_ids = card.split.get("val", [])
    models = {"new": new_model}
    if req.compare_with and Path(req.compare_with).is_file():
        models["in use"] = req.compare_with
    try:
        result = compare_models(
            req.task, config.data, val_ids, models, settings=resolve_settings(TASKS[req.task], config),
            seed=req.seed, device=req.device,
            progress=lambda d, t, m: send(("comparing", {"done": d, "total": t, "message": m})))
    except Exception as exc:  # noqa: BLE001 (the model is written; only the comparison is missing)
        log.debug("comparison failed", exc_info=True)
        result = {"error": str(exc) if isinstance(exc, MammoViewError) else f"{type(exc).__name__}: {exc}"}
    result["card"] = _plain(card.to_dict())
    return _plain(result)


class TrainingProcess:
    """One training run in a spawned process (parent side; no Qt).

    :meth:`start` spawns it at once and it imports torch and the engine while the user
    is still choosing; :meth:`run` then hands it the job, so training starts without
    that wait. One job per process (a fresh torch state for every run).
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.jobs = context.Queue()
        self.messages = context.Queue()
        self.cancel_event = Flag(context)
        self.process = context.Process(target=training_main, args=(self.jobs, self.messages, self.cancel_event),
                                       name="mammoview-training", daemon=True)
        self.has_job = False
        self._starter: threading.Thread | None = None

    def start(self) -> None:
        """Start on a thread: spawning forks the (large) window process first, 50 ms and
        more the UI thread must not wait. A job can be handed over before it is up."""
        self._starter = threading.Thread(target=self.process.start, name="training-spawn", daemon=True)
        self._starter.start()

    def run(self, request: TrainRequest, out: Path, *, resume: bool = False) -> None:
        """Hand the (started) process its run."""
        self.has_job = True
        self.jobs.put((request.to_dict(), str(out), resume))

    def drain(self, budget_s: float = 0.01, limit: int = 500) -> list[tuple]:
        """The messages that arrived (never waits; stops after ``budget_s`` or ``limit``)."""
        out: list[tuple] = []
        end = time.perf_counter() + budget_s
        while len(out) < limit and time.perf_counter() < end:
            try:
                out.append(self.messages.get_nowait())
            except queue_mod.Empty:
                break
            except (OSError, EOFError, ValueError):  # the queue went with a dead process
                break
        return out

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def alive(self) -> bool:
        """Running, or still being started."""
        if self._starter is not None and self._starter.is_alive():
            return True
        return self.process.pid is not None and self.process.is_alive()

    @property
    def exitcode(self) -> int | None:
        return self.process.exitcode

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel, give the engine ``timeout`` seconds to finish its step, then end it.

        Ending it is safe: the checkpoint is replaced by one atomic rename per epoch."""
        self.cancel()
        if not self.has_job:
            self.jobs.put(None)
        if self._starter is not None:
            self._starter.join(timeout)
        if self.process.pid is None:
            return
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2.0)


# ================================================================== the lane
_lane: ProcessLane | None = None
_lane_lock = threading.Lock()


def training_lane() -> ProcessLane:
    """One process for the dialog's probe and plan jobs (not the window's busy lanes)."""
    global _lane
    with _lane_lock:
        if _lane is None:
            import atexit

            _lane = ProcessLane(processes=1, niceness=PLAN_NICENESS)
            atexit.register(_lane.shutdown)
        return _lane


def _plain(value):
    """JSON-safe copy: NaN -> None, tuples -> lists, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    try:
        return _plain(value.item())  # numpy scalar
    except AttributeError:
        return str(value)
