"""Installed models per task, their versions, and which one is in use.

A model is installed either *shipped* (``models/<task>.safetensors`` + ``.json`` in the
source tree, never written by the app) or *user* (the per-user models folder,
:func:`~mammoview.nets.store.user_models_dir`, as ``<task>/<version>.safetensors`` +
``.json``). The version is the card's ``version``: the first 12 hex digits of the
weights' SHA-256 (:func:`~mammoview.nets.store.save_model`), so two copies of the same
weights are one version and a retrained model is always a new one.

Which model each task uses is stored in ``active.json`` in the user folder, written
atomically. A task without a choice there uses its default: a model left by an older
MammoView directly in the user folder (``<task>.safetensors``, the layout before
versions, which was in use then), else the shipped one, else the newest user model.
A user's training therefore never replaces the model in use unless the user
activates it (``activate=True``, ``mammoview models activate``, the Models dialogs).

Listing and choosing read the JSON cards only; :func:`install_model` (and
:func:`check_model`) load the network with torch to check the tensors, so the window
runs that step in a worker process (torch never loads in the window's process).

Every function takes ``root`` (default: the per-user models folder) so a caller can
resolve the folder once and hand it to another process.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import pkgutil
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mammoview.core.errors import MammoViewError
from mammoview.io.atomic import atomic_write
from mammoview.nets import store
from mammoview.nets.store import (
    CARD_SUFFIX,
    VERSION_CHARS,
    WEIGHTS_SUFFIX,
    ModelCard,
    ModelLoadError,
    model_paths,
    read_card,
)

log = logging.getLogger(__name__)

#: Every task a model can be installed for, in the order the app lists them.
TASKS = ("classifier-stage1", "classifier-stage2", "segmentation", "superres")
TASK_TITLES = {
    "classifier-stage1": "Classifier stage 1 (normal / abnormal)",
    "classifier-stage2": "Classifier stage 2 (benign / malignant)",
    "segmentation": "Lesion UNet",
    "superres": "Super-resolution",
}
#: Architectures a task can run; classifier tasks take any other known architecture.
TASK_ARCHITECTURES = {"segmentation": ("unet",), "superres": ("edsr",)}
ACTIVE_FILE = "active.json"
#: The validation figure shown first for a task (key in ``card.metrics["validation"]``).
HEADLINE_METRICS = {
    "classifier-stage1": (("image_auc", "image AUC"), ("patch_auc", "patch AUC"), ("auc", "AUC")),
    "classifier-stage2": (("image_auc", "image AUC"), ("patch_auc", "patch AUC"), ("auc", "AUC")),
    "segmentation": (("dice", "Dice"),),
    "superres": (("psnr", "PSNR dB"),),
}
_NOT_ARCH_MODULES = {"store", "registry", "device"}


class ModelStoreError(MammoViewError):
    """A model-store request that cannot be done (unknown version, shipped model, ...)."""


@dataclass(frozen=True)
class InstalledModel:
    """One installed model of a task.

    ``card`` is None only when the card of a user model cannot be read; ``problem`` then
    says why (the model can still be deleted, never activated).
    """

    task: str
    version: str
    card: ModelCard | None = field(repr=False)
    weights: Path
    origin: str  # "shipped" or "user"
    active: bool = False
    problem: str = ""

    @property
    def card_path(self) -> Path:
        return model_paths(self.weights)[1]

    @property
    def architecture(self) -> str:
        """"resnet (resnet18)", "unet", ...: the card's architecture and its variant."""
        if self.card is None:
            return "?"
        arch = (self.card.arch_params or {}).get("arch")
        return f"{self.card.architecture} ({arch})" if arch else self.card.architecture

    @property
    def headline(self) -> str:
        """The task's main validation figure, e.g. "patch AUC 0.951", or ""."""
        return headline_metric(self.card) if self.card is not None else ""

    @property
    def data(self) -> str:
        """Where the training data came from, in a few words."""
        if self.card is None:
            return ""
        data = self.card.data or {}
        kind = data.get("kind") or data.get("dataset") or ""
        used = data.get("used", data.get("images"))
        return f"{kind}, {used} images" if kind and used is not None else str(kind)


def headline_metric(card: ModelCard) -> str:
    """The task's main validation figure of ``card`` as short text ("" when absent)."""
    # A classifier's image-level AUC (patients never trained on) comes before anything in
    # "validation", which for the classifiers holds the higher patch-level figures.
    image = (card.metrics or {}).get("image_level")
    auc = image.get("auc") if isinstance(image, dict) else None
    if isinstance(auc, (int, float)) and not isinstance(auc, bool):
        return f"image AUC {auc:.3f}"
    validation = (card.metrics or {}).get("validation")
    if not isinstance(validation, dict):
        return ""
    for key, title in HEADLINE_METRICS.get(card.task, ()):
        value = validation.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{title} {value:.3f}" if key != "psnr" else f"{title} {value:.2f}"
    return ""


# ------------------------------------------------------------------ folders and active.json
def _root(root: str | os.PathLike[str] | None) -> Path:
    return Path(root) if root is not None else store.user_models_dir()


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ModelStoreError(f"unknown task {task!r} (one of {', '.join(TASKS)})")


def read_active(root: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The user's choices, task -> version ({} when none; an unreadable file counts as none)."""
    path = _root(root) / ACTIVE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log.warning("%s: ignored, not readable (%s)", path, exc)
        return {}
    chosen = data.get("active") if isinstance(data, dict) else None
    if not isinstance(chosen, dict):
        return {}
    return {str(k): str(v) for k, v in chosen.items() if isinstance(v, str)}


_active_lock = threading.Lock()


def _write_active(root: Path, chosen: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with atomic_write(root / ACTIVE_FILE, "w") as fh:
        json.dump({"format": 1, "active": dict(sorted(chosen.items()))}, fh, indent=2)
        fh.write("\n")


# ------------------------------------------------------------------ listing
def _entry(task: str, weights: Path, origin: str, version_hint: str = "") -> InstalledModel | None:
    """An InstalledModel for a weights + card pair, or None when either file is missing."""
    card_path = model_paths(weights)[1]
    if not (weights.is_file() and card_path.is_file()):
        return None
    try:
        card = read_card(weights)
    except ModelLoadError as err:
        if not version_hint:
            log.warning("%s", err)
            return None
        return InstalledModel(task, version_hint, None, weights, origin, problem=err.reason)
    if card.task != task:
        problem = f"the card is for task {card.task!r}, not {task!r}"
        return InstalledModel(task, card.version or version_hint, None, weights, origin, problem=problem)
    if version_hint and card.version != version_hint:
        problem = f"the card's version {card.version or 'none'} is not the file name's {version_hint}"
        return InstalledModel(task, version_hint, None, weights, origin, problem=problem)
    return InstalledModel(task, card.version, card, weights, origin)


def _scan_task(task: str, root: Path) -> list[InstalledModel]:
    """Every model of ``task`` (user ones first, newest first; then the shipped one)."""
    found: list[InstalledModel] = []
    folder = root / task
    if folder.is_dir():
        for weights in sorted(folder.glob(f"*{WEIGHTS_SUFFIX}")):
            entry = _entry(task, weights, "user", version_hint=weights.name[: -len(WEIGHTS_SUFFIX)])
            if entry is not None:
                found.append(entry)
    legacy = _entry(task, root / f"{task}{WEIGHTS_SUFFIX}", "user")
    if legacy is not None and all(m.version != legacy.version for m in found):
        found.append(legacy)
    found.sort(key=lambda m: (m.card.created if m.card else "", m.version), reverse=True)
    shipped = _entry(task, Path(store.SHIPPED_MODELS_DIR) / f"{task}{WEIGHTS_SUFFIX}", "shipped")
    if shipped is not None:
        found.append(shipped)
    return found


def _default(models: list[InstalledModel], root: Path, task: str) -> InstalledModel | None:
    usable = [m for m in models if m.card is not None]
    legacy = root / f"{task}{WEIGHTS_SUFFIX}"
    for model in usable:  # the pre-versions layout was the model in use then
        if model.weights == legacy:
            return model
    for model in usable:
        if model.origin == "shipped":
            return model
    return usable[0] if usable else None


def _pick_active(task: str, models: list[InstalledModel], root: Path,
                 chosen: dict[str, str]) -> InstalledModel | None:
    want = chosen.get(task)
    if want:
        for model in models:
            if model.version == want and model.card is not None:
                return model
    return _default(models, root, task)


def list_models(task: str | None = None, *, root: str | os.PathLike[str] | None = None
                ) -> list[InstalledModel]:
    """The installed models of ``task`` (all tasks when None), one marked ``active``.

    Per task: user models newest first, then the shipped one. Cards are read, weights
    are not (see :func:`install_model` for the full check).
    """
    base = _root(root)
    tasks = TASKS if task is None else (task,)
    if task is not None:
        _check_task(task)
    chosen = read_active(base)
    out = []
    for name in tasks:
        models = _scan_task(name, base)
        active = _pick_active(name, models, base, chosen)
        for model in models:
            is_active = active is not None and model.weights == active.weights
            out.append(InstalledModel(model.task, model.version, model.card, model.weights,
                                      model.origin, is_active, model.problem))
    return out


def active_model(task: str, *, root: str | os.PathLike[str] | None = None) -> Path | None:
    """The weights file of the model ``task`` uses now, or None when none is installed.

    The user's choice (``active.json``) when that version is installed, else the default
    (see the module notes). Only cards are read: cheap enough for every job.
    """
    _check_task(task)
    base = _root(root)
    chosen = read_active(base)
    want = chosen.get(task)
    if want:  # the common case: one file check, no listing
        weights = base / task / f"{want}{WEIGHTS_SUFFIX}"
        if weights.is_file() and model_paths(weights)[1].is_file():
            return weights
    active = _pick_active(task, _scan_task(task, base), base, chosen)
    return None if active is None else active.weights


def active_versions(*, root: str | os.PathLike[str] | None = None) -> dict[str, str | None]:
    """task -> version of the active model (None when the task has none)."""
    out: dict[str, str | None] = {task: None for task in TASKS}
    for model in list_models(root=root):
        if model.active:
            out[model.task] = model.version
    return out


def get_model(task: str, version: str, *, root: str | os.PathLike[str] | None = None
              ) -> InstalledModel:
    """The installed model ``version`` of ``task``; ModelStoreError when there is none.

    ``version`` may be abbreviated (at least 4 leading hex digits) when unambiguous.
    """
    models = list_models(task, root=root)
    hits = [m for m in models if m.version == version]
    if not hits and len(version) >= 4:
        hits = [m for m in models if m.version.startswith(version)]
        if len({m.version for m in hits}) > 1:
            raise ModelStoreError(f"version {version} of {task} is ambiguous "
                                  f"({', '.join(sorted({m.version for m in hits}))})")
    if not hits:
        known = ", ".join(m.version for m in models) or "none"
        raise ModelStoreError(f"no {task} model with version {version} is installed (installed: {known})")
    # a version both shipped and copied in: the user copy is the one to act on
    return next((m for m in hits if m.origin == "user"), hits[0])


# ------------------------------------------------------------------ change notification
_listeners: list[Any] = []
_listeners_lock = threading.Lock()


@dataclass(frozen=True)
class ModelsChanged:
    """What changed: ``action`` is "install", "activate" or "delete"; ``active`` the
    version ``task`` uses afterwards (None when it has none)."""

    action: str
    task: str
    version: str
    active: str | None


def add_listener(callback: Callable[[ModelsChanged], None]) -> None:
    """Call ``callback(ModelsChanged)`` after every install, activation or deletion made
    in this process (from the thread that made it). Held weakly: a bound method stops
    being called when its object is gone."""
    ref = weakref.WeakMethod(callback) if hasattr(callback, "__self__") else weakref.ref(callback)
    with _listeners_lock:
        _listeners.append(ref)


def remove_listener(callback: Callable[[ModelsChanged], None]) -> None:
    with _listeners_lock:
        _listeners[:] = [r for r in _listeners if r() is not None and r() != callback]


def notify_changed(action: str, task: str, version: str, *, root: str | os.PathLike[str] | None = None
                   ) -> None:
    """Tell the listeners (also for a change made by another process, e.g. an install
    done in a worker process)."""
    path = active_model(task, root=root)
    active = None
    if path is not None:
        try:
            active = read_card(path).version
        except ModelLoadError:
            active = None
    event = ModelsChanged(action, task, version, active)
    with _listeners_lock:
        _listeners[:] = [r for r in _listeners if r() is not None]
        callbacks = [r() for r in _listeners]
    for callback in callbacks:
        if callback is None:
            continue
        try:
            callback(event)
        except Exception:  # noqa: BLE001 (a broken listener must not undo the change)
            log.exception("a models listener failed")


# ------------------------------------------------------------------ activate, delete, export
def set_active(task: str, version: str, *, root: str | os.PathLike[str] | None = None
               ) -> InstalledModel:
    """Make ``version`` the model ``task`` uses (persisted in ``active.json``)."""
    _check_task(task)
    base = _root(root)
    model = get_model(task, version, root=base)
    if model.card is None:
        raise ModelStoreError(f"{model.weights.name}: cannot be activated ({model.problem})")
    with _active_lock:
        chosen = read_active(base)
        chosen[task] = model.version
        _write_active(base, chosen)
    notify_changed("activate", task, model.version, root=base)
    return InstalledModel(task, model.version, model.card, model.weights, model.origin, True)


def delete_model(task: str, version: str, *, root: str | os.PathLike[str] | None = None) -> None:
    """Delete a user model (card, then weights). A shipped model is refused; deleting the
    active one returns the task to its default (the shipped model)."""
    _check_task(task)
    base = _root(root)
    model = get_model(task, version, root=base)
    if model.origin == "shipped":
        raise ModelStoreError(f"{model.weights.name}: the {task} model {model.version} ships with "
                              "MammoView and cannot be deleted")
    with _active_lock:
        chosen = read_active(base)
        if chosen.get(task) == model.version:
            del chosen[task]
            _write_active(base, chosen)
    weights, card = model_paths(model.weights)
    try:
        card.unlink(missing_ok=True)  # card first: without it the weights are not listed
        weights.unlink(missing_ok=True)
    except OSError as err:
        raise ModelStoreError(f"{weights.name}: cannot delete ({err.strerror or err})") from err
    notify_changed("delete", task, model.version, root=base)


def export_model(task: str, version: str, dest_folder: str | os.PathLike[str], *,
                 root: str | os.PathLike[str] | None = None) -> Path:
    """Copy a model to ``dest_folder`` as ``<task>-<version>.safetensors`` + ``.json``.

    Both files are written atomically; the weights are hashed while copied, and an
    installed file that no longer matches its card is refused rather than exported.
    Returns the exported weights path.
    """
    _check_task(task)
    model = get_model(task, version, root=root)
    if model.card is None:
        raise ModelStoreError(f"{model.weights.name}: cannot be exported ({model.problem})")
    dest = Path(dest_folder)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ModelStoreError(f"{dest.name}: cannot create the folder ({err.strerror or err})") from err
    target, target_card = model_paths(dest / f"{task}-{model.version}")
    _copy_checked(model.weights, target, model.card)
    try:
        card_bytes = model.card_path.read_bytes()
        with atomic_write(target_card, "wb") as fh:
            fh.write(card_bytes)
    except OSError as err:
        raise ModelStoreError(f"{target_card.name}: cannot write ({err.strerror or err})") from err
    return target


def _copy_checked(source: Path, target: Path, card: ModelCard) -> str:
    """Copy ``source`` to ``target`` atomically, refusing bytes that do not match ``card``."""
    digest = hashlib.sha256()
    try:
        with source.open("rb") as src, atomic_write(target, "wb") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                dst.write(chunk)
            hexdigest = digest.hexdigest()
            if not _matches(hexdigest, card):
                raise ModelLoadError(source, _mismatch(hexdigest, card))
    except OSError as err:
        where = source if getattr(err, "filename", None) == str(source) else target
        raise ModelStoreError(f"{where.name}: cannot copy ({err.strerror or err})") from err
    return hexdigest


def _matches(hexdigest: str, card: ModelCard) -> bool:
    return bool(card.version) and hexdigest.startswith(card.version) and (
        not card.sha256 or card.sha256 == hexdigest)


def _mismatch(hexdigest: str, card: ModelCard) -> str:
    return (f"weights do not match the model card (SHA-256 {hexdigest[:VERSION_CHARS]}, "
            f"card version {card.version or 'none'})")


# ------------------------------------------------------------------ install / import
def builders() -> dict[str, Callable[..., Any]]:
    """architecture name -> network builder: every class (or function) with a string
    ``ARCHITECTURE`` in the ``mammoview.nets`` modules (imports torch)."""
    import mammoview.nets as nets

    found: dict[str, Callable[..., Any]] = {}
    for info in sorted(pkgutil.iter_modules(nets.__path__), key=lambda i: i.name):
        if info.name in _NOT_ARCH_MODULES or info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"mammoview.nets.{info.name}")
        except Exception as exc:  # noqa: BLE001 (one broken module must not hide the others)
            log.warning("mammoview.nets.%s not importable: %s", info.name, exc)
            continue
        for obj in vars(module).values():
            arch = getattr(obj, "ARCHITECTURE", None)
            if callable(obj) and isinstance(arch, str) and arch and not isinstance(obj, property):
                found.setdefault(arch, obj)
    return found


def _task_allows(task: str, architecture: str) -> bool:
    if task in TASK_ARCHITECTURES:
        return architecture in TASK_ARCHITECTURES[task]
    return all(architecture not in archs for archs in TASK_ARCHITECTURES.values())


def check_model(path: str | os.PathLike[str], *, expected_task: str | None = None) -> ModelCard:
    """Check a model file fully before it is installed; its card when it is usable.

    Checks: weights and card present and readable; the card's task known (and equal to
    ``expected_task`` when given); its architecture one the task can run; the weights'
    SHA-256 equal to the card's; the tensors those of the network the card describes
    (built, then loaded with :func:`~mammoview.nets.store.load_model`). Imports torch.

    Raises
    ------
    ModelLoadError
        ``str(err)`` names the file and the reason, e.g. "x.safetensors: model is for
        task 'segmentation', not 'classifier-stage1'" or "...: the tensors do not fit
        architecture resnet (resnet50): tensor 'fc.weight' has shape ...".
    """
    weights, _ = model_paths(path)
    if not weights.is_file():
        raise ModelLoadError(weights, "weights file not found")
    card = read_card(weights)
    if expected_task is not None and card.task != expected_task:
        raise ModelLoadError(weights, f"model is for task {card.task!r}, not {expected_task!r}")
    if card.task not in TASKS:
        raise ModelLoadError(weights, f"unknown task {card.task!r} (one of {', '.join(TASKS)})")
    if not _task_allows(card.task, card.architecture):
        raise ModelLoadError(weights, f"architecture {card.architecture!r} cannot run task {card.task!r}")
    build = builders().get(card.architecture)
    if build is None:
        raise ModelLoadError(weights, f"unknown architecture {card.architecture!r} (this MammoView "
                                      f"knows {', '.join(sorted(builders()))})")
    store.load_model(weights, task=card.task, build=build)
    if card.task.startswith("classifier-") and len(card.classes) != 2:
        raise ModelLoadError(weights, f"expected a 2-class model, the card lists {card.classes}")
    return card


def check_for_install(path: str, expected_task: str | None = None) -> dict[str, Any]:
    """:func:`check_model` for another process: {"card": dict} or {"error": one line}."""
    try:
        return {"card": check_model(path, expected_task=expected_task).to_dict()}
    except MammoViewError as err:
        return {"error": str(err)}
    except Exception as exc:  # noqa: BLE001 (torch missing or broken: say so, in one line)
        return {"error": f"{Path(path).name}: cannot be checked ({type(exc).__name__}: {exc})"}


def install_model(path: str | os.PathLike[str], *, expected_task: str | None = None,
                  activate: bool = False, root: str | os.PathLike[str] | None = None,
                  checked: bool = False) -> InstalledModel:
    """Install (import) a model into the user folder as ``<task>/<version>.*``.

    Parameters
    ----------
    path : the model's weights, card, or name (as for :func:`~mammoview.nets.store.model_paths`).
    expected_task : refuse a model of another task.
    activate : make it the model its task uses (otherwise the active model is unchanged).
    checked : the caller already ran :func:`check_model` on this file (in a worker
        process); the copy still re-hashes the bytes and refuses any that do not match
        the checked card.

    Returns
    -------
    InstalledModel. Installing a version already installed (or shipped) copies nothing.

    Raises
    ------
    ModelLoadError
        The file cannot be used (see :func:`check_model`), naming the file and why.
    """
    weights, card_path = model_paths(path)
    card = read_card(weights) if checked else check_model(weights, expected_task=expected_task)
    if expected_task is not None and card.task != expected_task:
        raise ModelLoadError(weights, f"model is for task {card.task!r}, not {expected_task!r}")
    base = _root(root)
    existing = [m for m in list_models(card.task, root=base) if m.version == card.version and m.card]
    if existing:
        model = existing[0]
    else:
        folder = base / card.task
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ModelStoreError(f"{folder.name}: cannot create the folder ({err.strerror or err})") from err
        target, target_card = model_paths(folder / card.version)
        _copy_checked(weights, target, card)
        try:
            card_bytes = card_path.read_bytes()
            with atomic_write(target_card, "wb") as fh:  # the card last: it completes the model
                fh.write(card_bytes)
        except OSError as err:
            target.unlink(missing_ok=True)
            raise ModelStoreError(f"{target_card.name}: cannot write ({err.strerror or err})") from err
        model = InstalledModel(card.task, card.version, card, target, "user")
    if activate:
        return set_active(card.task, model.version, root=base)
    notify_changed("install", card.task, model.version, root=base)
    return next(m for m in list_models(card.task, root=base) if m.weights == model.weights)


def import_model(path: str | os.PathLike[str], expected_task: str | None = None, *,
                 activate: bool = False, root: str | os.PathLike[str] | None = None) -> InstalledModel:
    """:func:`install_model` under the name the Models menu uses."""
    return install_model(path, expected_task=expected_task, activate=activate, root=root)


__all__ = [
    "ACTIVE_FILE", "CARD_SUFFIX", "TASKS", "TASK_TITLES", "InstalledModel", "ModelStoreError",
    "ModelsChanged", "active_model", "active_versions", "add_listener", "check_for_install",
    "check_model", "delete_model", "export_model", "get_model", "headline_metric", "import_model",
    "install_model", "list_models", "notify_changed", "read_active", "remove_listener", "set_active",
]
