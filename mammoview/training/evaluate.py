"""``mammoview evaluate``: the papers' classifier architectures side by side.

Every architecture is trained by the one training engine (:func:`~mammoview.training.engine.train`)
on the same data, patient-level split, seed and budget (epochs, patches, batch, learning
rate), plus ResNet-50 with and without the wavelet-enhanced input (the two-stage ResNet-50
paper's claim). Each row of the comparison is read back from the model card the engine
wrote, so the table says exactly what the cards say: image-level AUC with its 95 %
bootstrap interval (patients resampled), sensitivity, specificity and F1 at the card's
operating threshold, the patch-level AUC, the training time and the parameter count, with
what the papers report beside it.

Outputs in ``out``: ``architectures.md``, ``architectures.csv`` and ``architectures.png``
(written atomically after *every* finished run, so an interrupted comparison keeps the rows
it finished), and one folder per run under ``runs/`` (weights, card, checkpoint,
``run.json``). ``resume`` reuses the runs already finished with the same settings and
continues an interrupted one from its last checkpoint.

Research use only, not for diagnosis.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mammoview.core.errors import MammoViewError
from mammoview.core.progress import NEVER_CANCELLED, CancelToken, Progress
from mammoview.io.atomic import atomic_write
from mammoview.nets.archs import CLASSIFIER_ARCHS, check_input_size, count_parameters

EVALUATE_TASKS = ("classifier-stage1", "classifier-stage2")
DEFAULT_ARCHS = ("resnet18", "resnet34", "resnet50", "vgg16", "alexnet", "stn-resnet50")
WAVELET = "wavelet"
OUTPUT_NAME = "architectures"
# Progress units per run: the bar advances inside a run by the engine's own fraction.
STEPS_PER_RUN = 1000

# What the papers report, as the project's sources (the issues, the shipped model cards and
# docs/classifier-results.md) give it: ranges and claims, never figures we could not check.
PAPERS = {
    "resnet18": "ResNet-18 + LIME paper: high accuracy on its own split (figure not quoted in our sources)",
    "resnet34": "microcalcification paper compares it with ResNet-18/-50, VGG-16, AlexNet (figures not quoted)",
    "resnet50": "two-stage ResNet-50 paper without its wavelet input: no figure (the paper's claim is that the "
                "enhancement helps)",
    "resnet50+wavelet": "two-stage ResNet-50 paper (wavelet-enhanced input, MIAS): accuracies of about 97-99 % "
                        "for its stages (range only)",
    "vgg16": "microcalcification paper's comparison (figures not quoted in our sources)",
    "alexnet": "microcalcification paper's comparison (figures not quoted in our sources)",
    "stn-resnet50": "SRGAN/STN paper: STN-ResNet-50 reported above its plain ResNet-50 (figures not quoted)",
    "stn-resnet50-sr": "SRGAN/STN paper: super-resolved input, then STN-ResNet-50 (figures not quoted)",
}
WHY_DIFFERENT = (
    "The papers' high figures come from splits by image or by patch, where the other breast of the same "
    "woman, overlapping patches of one lesion or augmented copies of one image fall on both sides, from "
    "ImageNet-pretrained networks trained for hours on a GPU, and often from crops around known lesions; "
    "ours are measured at image level (the whole breast scanned by a sliding window) on patients never "
    "seen in training, from scratch, on about 200 training images with a CPU budget of minutes, and the "
    "validation set is tens of images, so the 95 % intervals are wide and overlapping intervals mean the "
    "architectures are not distinguishable here."
)


class EvaluateError(MammoViewError):
    """The comparison cannot start or go on; the message says why, in one line."""


@dataclass(frozen=True)
class Run:
    """One row: an architecture preset and its input enhancement."""

    arch: str
    enhance: str = "none"

    @property
    def label(self) -> str:
        return self.arch if self.enhance == "none" else f"{self.arch}+{self.enhance}"


@dataclass
class EvaluateConfig:
    """What ``mammoview evaluate`` is asked to do.

    Attributes
    ----------
    task : "classifier-stage1" or "classifier-stage2".
    archs : presets of :data:`mammoview.nets.archs.CLASSIFIER_ARCHS`.
    data, out : the data (as for ``mammoview train``) and the output folder.
    wavelet_pair : also train ResNet-50 on the wavelet-enhanced input (and plain ResNet-50
        when it is not in ``archs``).
    epochs, batch_size, lr, patch, val_fraction, seed, device, threads : the budget and
        the run, the same for every architecture (None: the task's defaults).
    settings : further task settings, the same for every run (e.g. ``lesion_copies``,
        ``threshold_images``, ``stride``).
    resume : reuse finished runs with identical settings; continue an interrupted one.
    command : the command line, written into the table.
    """

    task: str
    archs: tuple[str, ...]
    data: Path
    out: Path
    wavelet_pair: bool = True
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    patch: int | None = None
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    resume: bool = False
    command: str = ""

    def __post_init__(self) -> None:
        self.data, self.out = Path(self.data), Path(self.out)
        self.archs = tuple(self.archs)
        if self.task not in EVALUATE_TASKS:
            raise EvaluateError(f"evaluate compares classifiers: task must be one of {', '.join(EVALUATE_TASKS)}, "
                                f"not {self.task!r}")
        unknown = [a for a in self.archs if a not in CLASSIFIER_ARCHS]
        if unknown or not self.archs:
            raise EvaluateError(f"unknown architecture {', '.join(unknown) or '(none given)'} (choose from "
                                f"{', '.join(CLASSIFIER_ARCHS)})")
        if len(set(self.archs)) != len(self.archs):
            raise EvaluateError(f"an architecture is listed twice: {','.join(self.archs)}")


@dataclass(frozen=True)
class EvaluateEvent:
    """``kind``: "run" (a run starts), "train" (an engine event, in ``train``), "row" (a run
    finished: ``row``), "cancelled" or "done" (``paths`` of the table, CSV and plot)."""

    kind: str
    run: int = 0  # 1-based
    runs: int = 0
    label: str = ""
    train: Any = None
    progress: Progress | None = None  # the engine's own Progress of this run (with ``train``)
    row: dict[str, Any] | None = None
    paths: tuple[str, ...] = ()
    message: str = ""


def plan_runs(archs: tuple[str, ...], *, wavelet_pair: bool = True) -> list[Run]:
    """The runs in order: each architecture, then (``wavelet_pair``) ResNet-50 on the
    wavelet-enhanced input, with plain ResNet-50 added when it is not listed."""
    runs = [Run(a) for a in archs]
    if wavelet_pair:
        if "resnet50" not in archs:
            runs.append(Run("resnet50"))
        runs.append(Run("resnet50", WAVELET))
    return runs


def evaluate(config: EvaluateConfig, *, cancel: CancelToken | None = None) -> Iterator[Progress]:
    """Train and compare, yielding :class:`Progress` whose ``partial`` is an :class:`EvaluateEvent`.

    ``done``/``total`` count :data:`STEPS_PER_RUN` units per run (the current run's own
    fraction filling its share), so one bar covers the whole comparison. Cancelling (or Ctrl-C) stops the current run; the rows
    already finished stay written.

    Raises
    ------
    EvaluateError, TrainingError, DatasetError (MammoViewError)
        Bad settings (checked for every run before the first starts), unusable data,
        a run that fails.
    """
    cancel = cancel or NEVER_CANCELLED
    runs = plan_runs(config.archs, wavelet_pair=config.wavelet_pair)
    patch = config.patch or int(_task_defaults(config.task)["patch"])
    for run in runs:
        check_input_size(run.arch, patch)
    config.out.mkdir(parents=True, exist_ok=True)
    total = len(runs) * STEPS_PER_RUN
    rows: list[dict[str, Any]] = []
    paths: tuple[str, ...] = ()
    for index, run in enumerate(runs, start=1):
        base = (index - 1) * STEPS_PER_RUN
        yield Progress(base, total, f"run {index}/{len(runs)}: {run.label}",
                       EvaluateEvent("run", index, len(runs), run.label, message=f"training {run.label}"))
        row = None
        for event in _run_one(config, run, cancel):
            if isinstance(event, dict):
                row = event
                break
            e = event.partial
            yield Progress(base + int(STEPS_PER_RUN * event.fraction), total, event.message,
                           EvaluateEvent("train", index, len(runs), run.label, train=e, progress=event))
            if e is not None and e.kind == "cancelled":
                message = f"cancelled during {run.label}; {len(rows)} finished row(s) kept in {config.out}"
                yield Progress(base, total, message, EvaluateEvent(
                    "cancelled", index, len(runs), run.label, paths=paths, message=message))
                return
        if row is None:
            raise EvaluateError(f"{run.label}: training ended without a model")
        rows.append(row)
        paths = write_outputs(rows, config)
        yield Progress(index * STEPS_PER_RUN, total, f"{run.label}: image AUC {_fmt(row['image_auc'])}",
                       EvaluateEvent("row", index, len(runs), run.label, row=row, paths=paths))
    yield Progress(total, total, f"wrote {', '.join(paths)}", EvaluateEvent(
        "done", len(runs), len(runs), paths=paths, message=f"{len(rows)} architectures compared"))


# --------------------------------------------------------------------------- one run


def _task_defaults(task: str) -> dict[str, Any]:
    from mammoview.training.tasks import TASKS

    import mammoview.training.classifier_tasks  # noqa: F401 - registers the classifier tasks

    return TASKS[task].defaults


def _run_settings(config: EvaluateConfig, run: Run) -> dict[str, Any]:
    """Everything that makes two runs the same run (kept in ``run.json`` for ``resume``)."""
    return {"task": config.task, "arch": run.arch, "enhance": run.enhance, "data": str(config.data),
            "epochs": config.epochs, "batch_size": config.batch_size, "lr": config.lr, "patch": config.patch,
            "val_fraction": config.val_fraction, "seed": config.seed,
            "settings": {k: config.settings[k] for k in sorted(config.settings)}}


def _run_one(config: EvaluateConfig, run: Run, cancel: CancelToken) -> Iterator[Any]:
    """Yield the engine's Progress events, then the finished row (a dict)."""
    from mammoview.nets.store import read_card
    from mammoview.training.config import TrainConfig
    from mammoview.training.engine import checkpoint_path, model_base, train

    folder = config.out / "runs" / run.label
    record = folder / "run.json"
    wanted = _run_settings(config, run)
    if config.resume and record.is_file() and (folder / f"{config.task}.json").is_file():
        done = json.loads(record.read_text(encoding="utf-8"))
        if done.get("run") == wanted:
            yield make_row(run, read_card(model_base(folder, config.task)), done["timing"])
            return
    resumed = config.resume and checkpoint_path(folder, config.task).is_file()
    train_config = TrainConfig(
        data=config.data, out=folder, epochs=config.epochs, arch=run.arch, device=config.device,
        resume=resumed, seed=config.seed, batch_size=config.batch_size, lr=config.lr,
        val_fraction=config.val_fraction, patch=config.patch, threads=config.threads,
        command=_train_command(config, run), extra={**config.settings, "enhance": run.enhance},
    )
    t_begin = time.perf_counter()
    t_start = t_trained = None
    for event in train(config.task, train_config, cancel=cancel):
        kind = event.partial.kind if event.partial is not None else ""
        if kind == "start":
            t_start = time.perf_counter()
        elif kind == "checkpoint":
            t_trained = time.perf_counter()
        yield event
        if kind == "cancelled":
            return
    t_end = time.perf_counter()
    timing = {"train_s": round((t_trained or t_end) - (t_start or t_begin), 1),
              "total_s": round(t_end - t_begin, 1), "resumed": bool(resumed)}
    with atomic_write(record, "w") as fh:
        json.dump({"run": wanted, "timing": timing}, fh, indent=1)
    yield make_row(run, read_card(model_base(folder, config.task)), timing)


def _train_command(config: EvaluateConfig, run: Run) -> str:
    """The ``mammoview train`` line that reproduces one run on its own."""
    parts = ["mammoview", "train", config.task, "--data", str(config.data), "--out", f"OUT/{run.label}",
             "--arch", run.arch, "--seed", str(config.seed), "--val-fraction", f"{config.val_fraction:g}",
             "--device", config.device]
    for flag, value in (("--epochs", config.epochs), ("--batch-size", config.batch_size), ("--lr", config.lr),
                        ("--patch", config.patch), ("--threads", config.threads)):
        if value is not None:
            parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if run.enhance != "none":
        parts += ["--input-enhance", run.enhance]
    text = shlex.join(parts)
    if config.settings:
        text += f"  (task settings: {json.dumps(config.settings, sort_keys=True)})"
    return text


# --------------------------------------------------------------------------- rows


COLUMNS = ("label", "arch", "input", "params", "trainable_params", "epochs", "train_s", "total_s",
           "image_auc", "image_auc_low", "image_auc_high", "sensitivity", "specificity", "f1", "threshold",
           "val_images", "val_positives", "patch_auc", "patch_auc_low", "patch_auc_high", "best_epoch",
           "start", "version", "paper_reports")


def make_row(run: Run, card, timing: dict[str, Any]) -> dict[str, Any]:
    """A table row from a run's model card (the figures are the card's, unrounded)."""
    metrics = card.metrics or {}
    image = metrics.get("image_level") or {}
    patch = metrics.get("patch_level") or {}
    best = metrics.get("best_epoch_by_validation") or {}
    low, high = (image.get("auc_ci95") or [None, None])[:2]
    p_low, p_high = (patch.get("auc_ci95") or [None, None])[:2]
    num_classes = len(card.classes) or 2
    return {
        "label": run.label, "arch": run.arch,
        "input": "wavelet-enhanced" if run.enhance == WAVELET else "plain",
        "params": count_parameters(run.arch, num_classes=num_classes),
        "trainable_params": count_parameters(run.arch, num_classes=num_classes, trainable=True),
        "epochs": card.epochs, "train_s": timing.get("train_s"), "total_s": timing.get("total_s"),
        "image_auc": image.get("auc"), "image_auc_low": low, "image_auc_high": high,
        "sensitivity": image.get("sensitivity"), "specificity": image.get("specificity"), "f1": image.get("f1"),
        "threshold": image.get("threshold"), "val_images": image.get("n"), "val_positives": image.get("positives"),
        "patch_auc": patch.get("auc"), "patch_auc_low": p_low, "patch_auc_high": p_high,
        "best_epoch": best.get("epoch"), "start": card.start, "version": card.version,
        "paper_reports": PAPERS.get(run.label, ""),
    }


# --------------------------------------------------------------------------- outputs


def write_outputs(rows: list[dict[str, Any]], config: EvaluateConfig) -> tuple[str, ...]:
    """Write the Markdown table, the CSV and the plot (each atomically); their paths."""
    from mammoview.training.evaluate_plot import render_plot

    base = config.out / OUTPUT_NAME
    md, csv_path, png = base.with_suffix(".md"), base.with_suffix(".csv"), base.with_suffix(".png")
    with atomic_write(csv_path, "w", newline="") as fh:
        fh.write(table_csv(rows))
    with atomic_write(md, "w") as fh:
        fh.write(table_markdown(rows, config))
    image = render_plot(rows, title=f"{config.task}: architectures on one patient-level split",
                        note=budget_sentence(config))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    with atomic_write(png, "wb") as fh:
        fh.write(buf.getvalue())
    return str(md), str(csv_path), str(png)


def table_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row.get(k)) for k in COLUMNS})
    return buf.getvalue()


def _csv_value(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return "" if v is None else v


def _fmt(v: Any, digits: int = 2) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _interval(v: Any, low: Any, high: Any) -> str:
    return f"{_fmt(v)} [{_fmt(low)}, {_fmt(high)}]"


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "n/a"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def _params(n: int, trainable: int) -> str:
    text = f"{n / 1e6:.1f} M"
    return text if trainable == n else f"{text} ({trainable / 1e6:.1f} M trained)"


def budget_sentence(config: EvaluateConfig) -> str:
    """The budget every run shared, in words."""
    d = _task_defaults(config.task)
    s = {**d, **{k: v for k, v in (("epochs", config.epochs), ("batch_size", config.batch_size),
                                    ("lr", config.lr), ("patch", config.patch)) if v is not None}, **config.settings}
    return (f"Same budget for every row: {s['epochs']} epoch{'s' if s['epochs'] != 1 else ''}, batch {s['batch_size']}, Adam lr {s['lr']:g} "
            f"(cosine), {s['patch']} px patches at x{s['scale']:g} scale, lesion windows x{s['lesion_copies']} "
            f"per epoch, {_threshold_source(s)}, sliding-window stride "
            f"{s['stride']} px, top-{s['topk']} image score; seed {config.seed}, {config.val_fraction:g} of "
            f"the patients held out; device {config.device}"
            + (f", {config.threads} torch thread(s)" if config.threads else "") + ".")


def _threshold_source(settings: dict[str, Any]) -> str:
    share = float(settings.get("calibration_fraction") or 0)
    if share:
        return f"the threshold chosen on {share:g} of the training patients kept out of training"
    return "the threshold chosen on the validation images (rates leave-one-patient-out)"


def verdict(rows: list[dict[str, Any]]) -> str:
    """One data-driven sentence: is any architecture better than the others here?"""
    scored = [r for r in rows if r.get("image_auc") is not None and r.get("image_auc_low") is not None]
    if len(scored) < 2:
        return ""
    best = max(scored, key=lambda r: r["image_auc"])
    beaten = [r["label"] for r in scored if r is not best and r["image_auc_high"] < best["image_auc_low"]]
    above_chance = [r["label"] for r in scored if r["image_auc_low"] > 0.5]
    text = (f"Highest image-level AUC: {best['label']} ({_fmt(best['image_auc'])}); "
            + (f"its interval lies above those of {', '.join(beaten)} only. " if beaten else
               "every other interval overlaps its interval, so no architecture is shown to be better here. "))
    text += (f"Interval entirely above chance (0.5): {', '.join(above_chance)}." if above_chance else
             "No image-level interval lies entirely above chance (0.5).")
    pair = {r["label"]: r for r in scored}
    if "resnet50" in pair and f"resnet50+{WAVELET}" in pair:
        a, b = pair["resnet50"], pair[f"resnet50+{WAVELET}"]
        text += (f" Wavelet-enhanced input: ResNet-50 image AUC {_fmt(b['image_auc'])} against "
                 f"{_fmt(a['image_auc'])} on the plain input"
                 + (" (intervals overlap: the paper's gain is not shown at this budget)."
                    if b["image_auc_low"] <= a["image_auc_high"] and a["image_auc_low"] <= b["image_auc_high"]
                    else "."))
    return text


def table_markdown(rows: list[dict[str, Any]], config: EvaluateConfig) -> str:
    lines = [
        f"# Classifier architectures compared ({config.task})",
        "",
        "Research use only, not for diagnosis. Written by `mammoview evaluate`; every figure is read from the "
        "model card of its run (`runs/<row>/" + config.task + ".json` in the output folder).",
        "",
        "```",
        config.command or "mammoview evaluate ...",
        "```",
        "",
        budget_sentence(config),
        "",
        "Image level: every validation image scanned by the sliding window, image score = top-k mean of the "
        "window probabilities (the shipped classifier's scoring), threshold chosen by Youden's J as said "
        "above. AUC intervals: 95 % percentile bootstrap with patients resampled (2000 resamples). Patch level: "
        "lesion windows against normal-tissue windows of the validation patients.",
        "",
        "| architecture | input | parameters | image AUC [95 % CI] | sens | spec | F1 | patch AUC [95 % CI] "
        "| training time | what the paper reports |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['input']} | {_params(r['params'], r['trainable_params'])} "
            f"| {_interval(r['image_auc'], r['image_auc_low'], r['image_auc_high'])} | {_fmt(r['sensitivity'])} "
            f"| {_fmt(r['specificity'])} | {_fmt(r['f1'])} "
            f"| {_interval(r['patch_auc'], r['patch_auc_low'], r['patch_auc_high'])} | {_duration(r['train_s'])} "
            f"| {r['paper_reports']} |")
    n = rows[0] if rows else {}
    lines += [
        "",
        f"Validation: {n.get('val_images', 'n/a')} images ({n.get('val_positives', 'n/a')} positive) of patients "
        "never seen in training. Training time: the engine's epochs (wall clock, the machine shared with other "
        "work); preparation and the final scoring are not included.",
        "",
        verdict(rows),
        "",
        "## Why our numbers differ from the papers'",
        "",
        WHY_DIFFERENT,
        "",
    ]
    starts = sorted({r["start"] for r in rows})
    lines += ["Start: " + "; ".join(starts) + "."]
    return "\n".join(lines) + "\n"
