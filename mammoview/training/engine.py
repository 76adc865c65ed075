"""The training loop: a generator of progress events, a checkpoint every epoch.

``train(task, config, cancel=token)`` yields :class:`~mammoview.core.Progress` whose
``partial`` is a :class:`TrainEvent` ("prepare", "start", "mining", "step", "epoch",
"checkpoint", "cancelled", "done"). The command line draws them as a progress bar,
the GUI as a dialog, the tests read them.

Checkpoint: one file, ``<out>/<task>.checkpoint.safetensors``, written atomically
(:func:`mammoview.io.atomic.atomic_write`) after every epoch. Its tensors are the
model's and the optimizer's state; the scalars (epoch, learning-rate schedule,
optimizer settings, torch RNG state as a list, best metric, history, the run's
identity) are a JSON document in the safetensors header metadata, so the tensors and
the scalars are replaced together by one rename. No pickle anywhere.

Exactness of ``resume``: the data order and the augmentations of epoch ``e`` come from
a generator seeded with ``(seed, e)``, the learning rate of epoch ``e`` is a function of
``e`` and the number of epochs, and the torch RNG state is restored; so 1 epoch + resume
1 epoch gives the same weights as 2 epochs straight (on the CPU).
"""

from __future__ import annotations

import hashlib
import json
import math
import shlex

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mammoview.core.errors import MammoViewError
from mammoview.core.progress import NEVER_CANCELLED, CancelToken, Progress
from mammoview.io.atomic import atomic_write
from mammoview.nets.device import choose_device
from mammoview.nets.store import ModelCard, save_model, serialize_state
from mammoview.training.augment import AugmentConfig
from mammoview.training.config import TrainConfig
from mammoview.training.datasets import DatasetError, load_dataset
from mammoview.training.splits import patient_split
from mammoview.training.start import SCRATCH, apply_start
from mammoview.training.tasks import TASKS, Prepared, TaskSpec

CHECKPOINT_SUFFIX = ".checkpoint.safetensors"
_META_KEY = "mammoview_checkpoint"
# Cosine decay of the learning rate down to this share of the initial one.
LR_FLOOR = 0.05


class TrainingError(MammoViewError):
    """Training cannot start or go on; the message says why, in one line."""


@dataclass(frozen=True)
class TrainEvent:
    """What happened: ``kind`` is prepare, start, mining (a task choosing new samples with the
    model so far; ``step``/``steps`` count its images), step, epoch, checkpoint, cancelled or done."""

    kind: str
    epoch: int = 0  # 1-based epoch being run (or just finished)
    epochs: int = 0
    step: int = 0  # 1-based step within the epoch
    steps: int = 0
    loss: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    eta_s: float | None = None
    message: str = ""
    path: str | None = None


def checkpoint_path(out: Path, task: str) -> Path:
    return Path(out) / f"{task}{CHECKPOINT_SUFFIX}"


def model_base(out: Path, task: str) -> Path:
    return Path(out) / task


def lr_at(base: float, epoch: int, epochs: int) -> float:
    """Cosine schedule over the epochs (epoch 0-based), from ``base`` down to ``LR_FLOOR * base``."""
    if epochs <= 1:
        return base
    return base * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * epoch / epochs)))


def resolve_settings(spec: TaskSpec, config: TrainConfig) -> dict[str, Any]:
    """The task's defaults overridden by what the config sets."""
    s = dict(spec.defaults)
    for key in ("epochs", "batch_size", "lr", "size", "patch", "patches_per_image"):
        value = getattr(config, key)
        if value is not None:
            s[key] = value
    if config.augment is not None:
        s["augment"] = tuple(config.augment)
    s.update(config.extra)
    s["arch"] = config.arch or spec.default_arch
    if s["arch"] not in spec.archs:
        raise TrainingError(f"unknown architecture {s['arch']!r} for {spec.name} (choose from {', '.join(spec.archs)})")
    s["seed"] = int(config.seed)
    s["val_fraction"] = float(config.val_fraction)
    s["box_check"] = str(config.box_check) if config.box_check else None
    return s


def train(task: str, config: TrainConfig, *, cancel: CancelToken | None = None) -> Iterator[Progress]:
    """Train ``task`` as ``config`` says, yielding progress; the model lands in ``config.out``.

    Parameters
    ----------
    task : a key of :data:`mammoview.training.tasks.TASKS`.
    config : TrainConfig.
    cancel : a CancelToken; when set, training stops after the current step and the
        checkpoint of the last completed epoch is kept (resume continues from it).

    Yields
    ------
    Progress with ``partial`` a :class:`TrainEvent`.

    Raises
    ------
    TrainingError, DatasetError (MammoViewError)
        Unknown task or architecture, unusable data, a checkpoint that belongs to
        another run, a checkpoint that cannot be written (disk full: training stops,
        the previous checkpoint is left intact), a non-finite loss.
    """
    if task not in TASKS:
        raise TrainingError(f"unknown task {task!r} (choose from {', '.join(TASKS)})")
    spec = TASKS[task]
    cancel = cancel or NEVER_CANCELLED
    settings = resolve_settings(spec, config)
    device = choose_device(config.device)
    if config.threads:
        torch.set_num_threads(int(config.threads))
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = checkpoint_path(out, task)
    if config.resume and not ckpt.is_file():
        raise TrainingError(f"{ckpt.name}: no checkpoint to resume in {out}")

    dataset = load_dataset(config.data, needs_mask=spec.needs_mask)
    items, skipped = spec.select(dataset.items)
    skipped = {**dataset.skipped, **skipped}
    if len(items) < 2:
        raise DatasetError(f"{config.data}: {len(items)} usable image(s) for {task}; at least 2 are needed")
    split = patient_split([i.id for i in items], {i.id: i.patient for i in items}.__getitem__,
                          val_fraction=config.val_fraction, seed=config.seed)
    by_id = {i.id: i for i in items}
    identity = _run_identity(task, settings, split)

    prepared: Prepared | None = None
    gen = spec.prepare([by_id[i] for i in split.train], [by_id[i] for i in split.val], settings)
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            prepared = stop.value
            break
        yield Progress(p.done, p.total, p.message, TrainEvent("prepare", message=p.message))
        if cancel.cancelled:
            yield _cancelled(0, settings["epochs"], "cancelled while preparing the data; nothing trained")
            return

    torch.manual_seed(config.seed)
    model = spec.build(settings["arch"]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings["lr"])
    state = {"epoch": 0, "best_metric": None, "best_epoch": None, "history": []}
    if config.resume:
        state = _load_checkpoint(ckpt, model, optimizer, identity, device)
    else:
        state["start"] = apply_start(spec, model, settings["arch"], config)
    epochs = int(settings["epochs"])
    start_epoch = state["epoch"]
    aug = AugmentConfig(names=tuple(settings["augment"]), right_angles=task == "superres")
    batch_size = int(settings["batch_size"])
    steps_per_epoch = max(1, math.ceil(len(spec.epoch_indices(prepared, np.random.default_rng([config.seed, 0]), settings)) / batch_size))
    total_steps = steps_per_epoch * max(0, epochs - start_epoch)
    yield Progress(0, total_steps, "training", TrainEvent(
        "start", epoch=start_epoch, epochs=epochs, steps=steps_per_epoch,
        message=(f"{task}: {len(prepared.train_ids)} training / {len(prepared.val_ids)} validation images, "
                 f"{settings['arch']}, {device.type}" + (f", resumed after epoch {start_epoch}" if start_epoch else ""))))

    clock = _Clock()
    done_steps = 0
    for epoch in range(start_epoch, epochs):
        # A task may change its training samples with the model as it now is (stage 1
        # mines hard negatives half-way); what it chose goes into the checkpoint.
        for p in spec.before_epoch(model, prepared, epoch, settings, state.setdefault("task_state", {})):
            yield Progress(done_steps, total_steps, p.message, TrainEvent(
                "mining", epoch=epoch + 1, epochs=epochs, step=p.done, steps=p.total, message=p.message))
            if cancel.cancelled:
                kept = f"checkpoint of epoch {state['epoch']} kept" if state["epoch"] else "no epoch completed"
                yield _cancelled(epoch + 1, epochs, f"cancelled before epoch {epoch + 1}; {kept} (--resume continues)")
                return
        rng = np.random.default_rng([config.seed, epoch])
        order = spec.epoch_indices(prepared, rng, settings)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(settings["lr"], epoch, epochs)
        model.train()
        losses = []
        for step in range(steps_per_epoch):
            if cancel.cancelled:
                kept = f"checkpoint of epoch {state['epoch']} kept" if state["epoch"] else "no epoch completed"
                yield _cancelled(epoch + 1, epochs, f"cancelled during epoch {epoch + 1}; {kept} (--resume continues)")
                return
            t0 = time.perf_counter()
            idx = order[step * batch_size : (step + 1) * batch_size]
            x, y = spec.batch(prepared, idx, rng, aug)
            optimizer.zero_grad(set_to_none=True)
            loss = spec.loss(model(x.to(device)), y.to(device))
            if not torch.isfinite(loss):
                raise TrainingError(f"training diverged in epoch {epoch + 1} (loss is {loss.item()}); try a lower --lr")
            loss.backward()
            optimizer.step()
            losses.append(float(loss.item()))
            clock.step(time.perf_counter() - t0)
            done_steps += 1
            eta = clock.eta(total_steps - done_steps, epochs - epoch - 1 + 1)
            yield Progress(done_steps, total_steps, f"epoch {epoch + 1}/{epochs} loss {losses[-1]:.4f}", TrainEvent(
                "step", epoch=epoch + 1, epochs=epochs, step=step + 1, steps=steps_per_epoch,
                loss=losses[-1], eta_s=eta))
        t0 = time.perf_counter()
        model.eval()
        metrics = spec.evaluate(model, prepared, device)
        clock.validated(time.perf_counter() - t0)
        metrics["train_loss"] = float(np.mean(losses))
        main = metrics.get(spec.main_metric)
        if main is not None and not math.isnan(main) and (state["best_metric"] is None or main > state["best_metric"]):
            state["best_metric"], state["best_epoch"] = float(main), epoch + 1
        state["epoch"] = epoch + 1
        state["history"].append({"epoch": epoch + 1, **_plain(metrics)})
        eta = clock.eta(total_steps - done_steps, epochs - epoch - 1)
        yield Progress(done_steps, total_steps, f"epoch {epoch + 1}/{epochs} done", TrainEvent(
            "epoch", epoch=epoch + 1, epochs=epochs, steps=steps_per_epoch, loss=metrics["train_loss"],
            metrics=_plain(metrics), eta_s=eta, message=_describe(metrics)))
        _save_checkpoint(ckpt, model, optimizer, state, identity, epochs)
        yield Progress(done_steps, total_steps, f"checkpoint after epoch {epoch + 1}", TrainEvent(
            "checkpoint", epoch=epoch + 1, epochs=epochs, path=str(ckpt), eta_s=eta))

    if cancel.cancelled:
        yield _cancelled(epochs, epochs, "cancelled before the model was written; the checkpoint is complete")
        return
    model.eval()
    final = spec.evaluate(model, prepared, device)
    checks = spec.final_checks(model, prepared, settings, device)
    card = _card(spec, config, settings, dataset, skipped, split, prepared, state, final, checks, epochs)
    try:
        weights = save_model(model.state_dict(), card, model_base(out, task), half=True)
    except OSError as exc:
        raise TrainingError(f"{task}.safetensors: cannot write the model ({exc.strerror or exc}); "
                            f"the checkpoint of epoch {state['epoch']} is kept") from exc
    yield Progress(total_steps, total_steps, f"wrote {weights}", TrainEvent(
        "done", epoch=epochs, epochs=epochs, metrics=_plain(final), path=str(weights), message=_describe(final)))


def _cancelled(epoch: int, epochs: int, message: str) -> Progress:
    return Progress(0, 0, message, TrainEvent("cancelled", epoch=epoch, epochs=epochs, message=message))


class _Clock:
    """Mean step and validation times of this run, for the ETA."""

    def __init__(self) -> None:
        self.step_total, self.steps, self.val_total, self.vals = 0.0, 0, 0.0, 0

    def step(self, seconds: float) -> None:
        self.step_total += seconds
        self.steps += 1

    def validated(self, seconds: float) -> None:
        self.val_total += seconds
        self.vals += 1

    def eta(self, steps_left: int, vals_left: int) -> float | None:
        if not self.steps:
            return None
        per_val = self.val_total / self.vals if self.vals else 0.0
        return steps_left * self.step_total / self.steps + max(0, vals_left) * per_val


def _describe(metrics: dict) -> str:
    return ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())


def _plain(d: dict) -> dict:
    """JSON-safe copy (NaN becomes None)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, (float, np.floating)):
            v = None if math.isnan(float(v)) else float(v)
        elif isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, dict):
            v = _plain(v)
        out[k] = v
    return out


# --------------------------------------------------------------------------- checkpoints


def _run_identity(task: str, settings: dict, split) -> dict:
    """What must match for a checkpoint to be resumed: same task, network, seed and data."""
    digest = hashlib.sha256(json.dumps([split.train, split.val]).encode()).hexdigest()[:16]
    keys = ("arch", "seed", "batch_size", "lr", "size", "patch", "patches_per_image", "augment")
    identity = {"task": task, **{k: _jsonable(settings.get(k)) for k in keys}, "split": digest}
    identity.update(TASKS[task].identity_options(settings))
    return identity


def _jsonable(v):
    return list(v) if isinstance(v, tuple) else v


def _save_checkpoint(path: Path, model, optimizer, state: dict, identity: dict, epochs: int) -> None:
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    for idx, values in opt["state"].items():
        for key, value in values.items():
            t = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"optim/{idx}/{key}"] = t
    scalars = {
        "format": 1,
        "identity": identity,
        "epoch": state["epoch"],
        "epochs": epochs,
        "best_metric": state["best_metric"],
        "best_epoch": state["best_epoch"],
        "history": state["history"],
        "start": state.get("start"),
        "task_state": state.get("task_state", {}),
        "param_groups": opt["param_groups"],
        "torch_rng": torch.get_rng_state().tolist(),
    }
    blob = serialize_state(tensors, metadata={_META_KEY: json.dumps(scalars)})
    try:
        with atomic_write(path, "wb") as fh:
            fh.write(blob)
    except OSError as exc:
        previous = f"the previous checkpoint (epoch {state['epoch'] - 1}) is kept" if state["epoch"] > 1 else "no earlier checkpoint"
        raise TrainingError(
            f"{path.name}: cannot write the checkpoint after epoch {state['epoch']} "
            f"({exc.strerror or exc}); training stopped, {previous}"
        ) from exc


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, scalars) of a checkpoint; TrainingError if it is not one."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        scalars = json.loads(meta[_META_KEY])
    except (OSError, SafetensorError, KeyError, ValueError) as exc:
        raise TrainingError(f"{path.name}: not a readable MammoView checkpoint ({exc})") from exc
    return tensors, scalars


def _load_checkpoint(path: Path, model, optimizer, identity: dict, device) -> dict:
    tensors, scalars = read_checkpoint(path)
    theirs = scalars.get("identity", {})
    diff = [k for k in identity if theirs.get(k) != identity[k]]
    if diff:
        raise TrainingError(
            f"{path.name}: the checkpoint belongs to another run ({', '.join(diff)} differ); "
            "train without --resume to start over"
        )
    model.load_state_dict({k[len("model/"):]: v.to(device) for k, v in tensors.items() if k.startswith("model/")})
    opt_state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("optim/"):
            _, idx, key = k.split("/", 2)
            opt_state.setdefault(int(idx), {})[key] = v if key == "step" else v.to(device)
    optimizer.load_state_dict({"state": opt_state, "param_groups": scalars["param_groups"]})
    torch.set_rng_state(torch.tensor(scalars["torch_rng"], dtype=torch.uint8))
    return {**{k: scalars[k] for k in ("epoch", "best_metric", "best_epoch", "history")},
            "start": scalars.get("start"), "task_state": scalars.get("task_state", {})}


# --------------------------------------------------------------------------- model card


def _card(spec, config, settings, dataset, skipped, split, prepared, state, final, checks, epochs) -> ModelCard:
    arch_cls, arch_params = spec.archs[settings["arch"]]
    metrics = {"validation": _plain(final), **_plain({k: v for k, v in checks.items()})}
    if spec.name == "superres" and prepared.baseline:
        metrics["model_beats_bicubic"] = bool(
            final.get("psnr", -1) > prepared.baseline["bicubic_psnr"] and final.get("ssim", -1) > prepared.baseline["bicubic_ssim"]
        )
    metrics["history"] = state["history"]
    metrics["best_epoch_by_validation"] = {"epoch": state["best_epoch"], spec.main_metric: state["best_metric"],
                                           "note": "the shipped weights are those of the last epoch"}
    command = config.command or _command_line(spec.name, config, settings)
    training = {k: _jsonable(settings[k]) for k in ("batch_size", "lr", "augment") if k in settings}
    training.update({"optimizer": "Adam", "lr_schedule": f"cosine per epoch down to {LR_FLOOR} x lr",
                     "loss": spec.loss_name})
    if spec.name == "segmentation":
        training["negative_ratio"] = settings.get("negative_ratio")
    return ModelCard(
        task=spec.name,
        architecture=arch_cls.ARCHITECTURE,
        arch_params=dict(arch_params),
        preprocessing={**prepared.preprocessing, "augmentation": AugmentConfig(
            names=tuple(settings["augment"]), right_angles=spec.name == "superres").to_dict(), "training": training},
        classes=list(spec.classes),
        data={**dataset.source, "skipped": skipped, "used": len(split.train) + len(split.val)},
        split=split.to_dict(),
        seed=int(config.seed),
        epochs=epochs,
        metrics=metrics,
        command=command,
        start=state.get("start") or SCRATCH,
        notes=prepared.notes + [f"architecture preset {settings['arch']!r}"],
    )


def _command_line(task: str, config: TrainConfig, settings: dict) -> str:
    parts = ["mammoview", "train", task, "--data", str(config.data), "--out", str(config.out),
             "--epochs", str(settings["epochs"]), "--arch", settings["arch"], "--seed", str(config.seed),
             "--batch-size", str(settings["batch_size"]), "--lr", f"{settings['lr']:g}",
             "--val-fraction", f"{config.val_fraction:g}", "--augment", ",".join(settings["augment"]) or "none"]
    parts += TASKS[task].command_options(settings)  # the task's own options, so the command rebuilds it
    return " ".join(shlex.quote(p) for p in parts)




