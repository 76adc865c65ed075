"""What a training run will use, worked out before it starts.

:func:`plan_run` reads the data with the engine's own functions (``load_dataset``, the
task's ``select``, ``patient_split`` with the run's seed and validation share), so the
images, classes and patient-level split it reports are exactly those the run will train
and validate on. It refuses, with the counts, a run that cannot learn anything:

- no labels (no image has a class or a lesion);
- a single class;
- fewer than :data:`MIN_IMAGES_PER_CLASS` images of a class;
- a class that no training patient has.

Headers and labels only are read (no pixels), so a plan of the whole of MIAS takes well
under a second. The GUI runs it in a child process (it imports the tasks, hence torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mammoview.core.errors import MammoViewError
from mammoview.training.config import TrainConfig
from mammoview.training.datasets import DatasetError, Item, load_dataset
from mammoview.training.splits import patient_split

#: "A handful": below this many images of a class, a run learns noise.
MIN_IMAGES_PER_CLASS = 4
SPLITS = ("train", "val")


class PlanRefused(MammoViewError):
    """The data cannot train this task; the message gives the counts."""


@dataclass
class RunPlan:
    """Images per class and split, and the patients of each split.

    ``counts[class][split]`` counts images; ``unused`` counts the images the split holds
    but the task does not learn from (e.g. normal images for stage 2), by reason.
    """

    task: str
    classes: list[str]
    counts: dict[str, dict[str, int]]
    patients: dict[str, int]
    val_patients: list[str]
    train_ids: list[str]
    val_ids: list[str]
    unused: dict[str, dict[str, int]] = field(default_factory=dict)
    left_out: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def total(self, cls: str) -> int:
        return sum(self.counts[cls].values())


def class_of(task: str, item: Item) -> str | None:
    """The class ``item`` counts under for ``task``; None when the task does not learn
    from it (no ground truth, or normal for stage 2)."""
    from mammoview.training.tasks import TASKS

    spec = TASKS[task]
    if task == "segmentation":
        located = any(f.has_location and f.radius for f in item.findings)
        return "lesion" if item.mask_path is not None or located else "no lesion"
    if task == "superres":
        return "image"
    label = spec.image_label(item)
    return None if label is None else spec.classes[label]


def _unused_reason(task: str, item: Item) -> str:
    from mammoview.training.classifier_tasks import image_class

    cls = image_class(item)
    if cls == "normal":
        return "normal (no lesion: not used by stage 2)"
    return "no ground truth"


def _has_label(item: Item) -> bool:
    return bool(item.label or item.findings or item.mask_path)


def plan_run(task: str, config: TrainConfig) -> RunPlan:
    """The run's images per class and split, or a refusal.

    Raises
    ------
    DatasetError
        The engine's own refusals (data not found, bad CSV rows listed, fewer than 2
        usable images).
    PlanRefused
        No labels, one class, too few images of a class, a class missing from training.
    TrainingError, InputTooSmall
        Unknown architecture; a patch smaller than the architecture takes.
    """
    from mammoview.training.engine import resolve_settings
    from mammoview.training.tasks import TASKS

    spec = TASKS[task]
    settings = resolve_settings(spec, config)
    if task.startswith("classifier"):  # a patch smaller than the network takes (AlexNet: 63 px)
        _check_patch(settings["arch"], int(settings["patch"]))
    dataset = load_dataset(config.data, needs_mask=spec.needs_mask)
    items, skipped = spec.select(dataset.items)
    left_out = {**dataset.skipped, **skipped}
    if len(items) < 2:
        raise DatasetError(f"{config.data}: {len(items)} usable image(s) for {task}; at least 2 are needed")
    if task != "superres" and not any(_has_label(i) for i in items):
        raise PlanRefused(f"{config.data}: no labels: none of the {len(items)} images has a class or a lesion "
                          "(a labels CSV needs a 'class' column: normal, benign, malignant; or a 'mask' column)")
    split = patient_split([i.id for i in items], {i.id: i.patient for i in items}.__getitem__,
                          val_fraction=config.val_fraction, seed=config.seed)
    side = {i: "train" for i in split.train} | {i: "val" for i in split.val}
    classes = _classes(task, spec)
    counts = {c: {s: 0 for s in SPLITS} for c in classes}
    unused: dict[str, dict[str, int]] = {}
    for item in items:
        cls = class_of(task, item)
        if cls is None:
            reason = _unused_reason(task, item)
            unused.setdefault(reason, {s: 0 for s in SPLITS})[side[item.id]] += 1
        else:
            counts[cls][side[item.id]] += 1
    patients_of = {s: sorted({i.patient for i in items if side[i.id] == s}, key=str) for s in SPLITS}
    plan = RunPlan(
        task=task, classes=classes, counts=counts,
        patients={s: len(patients_of[s]) for s in SPLITS}, val_patients=patients_of["val"],
        train_ids=list(split.train), val_ids=list(split.val), unused=unused, left_out=left_out,
        source=dict(dataset.source), settings=_jsonable(settings),
    )
    _refuse_or_warn(plan, config, spec.main_metric)
    return plan


def _check_patch(arch: str, patch: int) -> None:
    try:
        from mammoview.nets.archs import check_input_size
    except ImportError:  # an installation without the architectures registry: ResNets only
        return
    check_input_size(arch, patch)


def _classes(task: str, spec) -> list[str]:
    if task == "segmentation":
        return ["lesion", "no lesion"]
    if task == "superres":
        return ["image"]
    return list(spec.classes)


def describe_counts(plan: RunPlan) -> str:
    """"6 normal, 0 abnormal" (totals over both splits)."""
    return ", ".join(f"{plan.total(c)} {c}" for c in plan.classes)


def _refuse_or_warn(plan: RunPlan, config: TrainConfig, metric: str) -> None:
    if plan.task == "superres":
        if not plan.counts["image"]["val"] and config.val_fraction > 0:
            plan.warnings.append("no validation images: the run reports no PSNR")
        return
    present = [c for c in plan.classes if plan.total(c)]
    if len(present) < 2:
        raise PlanRefused(f"{config.data}: only one class for {plan.task}: {describe_counts(plan)}; "
                          f"images of both classes are needed")
    few = [c for c in plan.classes if plan.total(c) < MIN_IMAGES_PER_CLASS]
    if few:
        raise PlanRefused(f"{config.data}: too few images per class for {plan.task}: {describe_counts(plan)}; "
                          f"at least {MIN_IMAGES_PER_CLASS} of each class are needed")
    where = f"seed {config.seed}, {config.val_fraction:.0%} of the patients for validation"
    missing = [c for c in plan.classes if not plan.counts[c]["train"]]
    if missing:
        raise PlanRefused(f"{config.data}: the training patients have no {' or '.join(missing)} image "
                          f"({where}); change the seed or the validation share")
    if not plan.val_ids:
        plan.warnings.append("no validation patients: the run reports no validation metric and nothing to compare")
        return
    absent = [c for c in plan.classes if not plan.counts[c]["val"]]
    if absent:
        plan.warnings.append(f"the validation patients have no {' or '.join(absent)} image ({where}): "
                             f"the validation {metric} cannot be computed")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
