"""The model store: safetensors weights beside a JSON model card, checked on load.

A model ``<name>`` is two files: ``<name>.safetensors`` (the tensors, nothing else: no
pickles anywhere) and ``<name>.json`` (the :class:`ModelCard`: task, architecture and
its parameters, preprocessing, classes, training data and split, seed, epochs,
validation metrics with the command that reproduces them, intended use).
``card.version`` is the first 12 hex digits of the weights file's SHA-256 and
``card.sha256`` the whole digest; :func:`load_model` refuses a weights file that does
not match its card, so a card never describes other weights than its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mammoview import RESEARCH_NOTICE, __version__
from mammoview.core.errors import MammoViewError
from mammoview.io.atomic import atomic_write

WEIGHTS_SUFFIX = ".safetensors"
CARD_SUFFIX = ".json"
VERSION_CHARS = 12
# The shipped models folder at the root of the source tree.
SHIPPED_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


class ModelLoadError(MammoViewError):
    """A model file cannot be used. ``str(err)`` is ``"<file name>: <reason>"``."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{Path(self.path).name}: {reason}")


@dataclass
class ModelCard:
    """What a reader (and the app) must know about a set of weights.

    ``metrics`` holds the validation figures (and baselines) as plain numbers;
    ``data`` says where the training data came from and ``split`` which files went to
    training and to validation. ``version`` and ``sha256`` are filled by
    :func:`save_model`.
    """

    task: str
    architecture: str
    arch_params: dict[str, Any] = field(default_factory=dict)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    epochs: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    start: str = "scratch"
    intended_use: str = RESEARCH_NOTICE
    created: str = ""
    mammoview_version: str = __version__
    version: str = ""
    sha256: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelCard":
        """Build a card from parsed JSON; unknown keys are kept out, missing ones defaulted.

        Raises
        ------
        ValueError
            ``task`` or ``architecture`` missing, or not text.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        for key in ("task", "architecture"):
            if not isinstance(data.get(key), str) or not data.get(key):
                raise ValueError(f"model card has no {key!r}")
        return cls(**{k: v for k, v in data.items() if k in names})


def model_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(weights, card) for ``path`` given as ``name``, ``name.safetensors`` or ``name.json``."""
    p = Path(path)
    if p.suffix in (WEIGHTS_SUFFIX, CARD_SUFFIX):
        p = p.with_suffix("")
    return p.with_name(p.name + WEIGHTS_SUFFIX), p.with_name(p.name + CARD_SUFFIX)


def serialize_state(state_dict: Mapping[str, Any], *, metadata: Mapping[str, str] | None = None) -> bytes:
    """A state dict as safetensors bytes (contiguous CPU copies; nothing is modified)."""
    from safetensors.torch import save

    tensors = {name: t.detach().to("cpu").contiguous() for name, t in state_dict.items()}
    return save(tensors, metadata=dict(metadata) if metadata else None)


def save_model(
    state_dict: Mapping[str, Any],
    card: ModelCard,
    path: str | os.PathLike[str],
    *,
    half: bool = False,
) -> Path:
    """Write ``<path>.safetensors`` and ``<path>.json``, both atomically.

    Parameters
    ----------
    state_dict : mapping of name -> torch.Tensor
    card : ModelCard
        Not modified; the written card is a copy with ``version``, ``sha256`` and
        ``created`` filled in.
    path : the model's name, with or without a suffix.
    half : bool
        Store floating-point tensors as float16 (half the size; the loader converts
        back to the network's dtype). Integer buffers (batch-norm counters) are kept.

    Returns
    -------
    Path of the weights file.
    """
    weights, card_path = model_paths(path)
    tensors = {}
    for name, t in state_dict.items():
        t = t.detach()
        tensors[name] = t.half() if half and t.is_floating_point() else t
    blob = serialize_state(tensors, metadata={"task": card.task, "architecture": card.architecture})
    digest = hashlib.sha256(blob).hexdigest()
    written = dataclasses.replace(
        card,
        version=digest[:VERSION_CHARS],
        sha256=digest,
        created=card.created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    weights.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(weights, "wb") as fh:
        fh.write(blob)
    with atomic_write(card_path, "w") as fh:
        json.dump(written.to_dict(), fh, indent=2)
        fh.write("\n")
    return weights


def read_card(path: str | os.PathLike[str]) -> ModelCard:
    """The card of a model (``name``, ``name.json`` or ``name.safetensors``).

    Raises
    ------
    ModelLoadError
        Missing, unreadable or not a model card.
    """
    _, card_path = model_paths(path)
    if not card_path.is_file():
        raise ModelLoadError(card_path, "model card not found")
    try:
        data = json.loads(card_path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return ModelCard.from_dict(data)
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise ModelLoadError(card_path, f"model card is not readable ({exc})") from exc


def architecture_of(build: Callable[..., Any]) -> str:
    """The architecture name a builder makes: its ``ARCHITECTURE``, else its ``__name__``."""
    return str(getattr(build, "ARCHITECTURE", getattr(build, "__name__", type(build).__name__)))


def load_model(
    path: str | os.PathLike[str],
    *,
    task: str,
    build: Callable[..., Any],
    device: Any = None,
):
    """Build the network for ``task`` and load checked weights into it.

    Parameters
    ----------
    path : the model's name, or its ``.safetensors`` / ``.json`` file.
    task : the task the caller needs ("segmentation", "superres", ...).
    build : a network class (e.g. :class:`~mammoview.nets.unet.UNet`), called with the
        card's ``arch_params``; its ``ARCHITECTURE`` must equal the card's.
    device : torch device or None (CPU).

    Returns
    -------
    (module, card): the network in eval mode, float32, on ``device``; and its card.

    Raises
    ------
    ModelLoadError
        Missing weights or card; unreadable card; a card of another task or
        architecture; a corrupt (e.g. truncated) safetensors file; a SHA-256 that
        does not match the card's version; tensors missing, unexpected or of another
        shape than the network's. Never unpickles anything.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load

    weights, _ = model_paths(path)
    if not weights.is_file():
        raise ModelLoadError(weights, "weights file not found")
    card = read_card(path)
    if card.task != task:
        raise ModelLoadError(weights, f"model is for task {card.task!r}, not {task!r}")
    expected = architecture_of(build)
    if card.architecture != expected:
        raise ModelLoadError(weights, f"model architecture is {card.architecture!r}, expected {expected!r}")
    try:
        blob = weights.read_bytes()
    except OSError as exc:
        raise ModelLoadError(weights, f"cannot read weights ({exc.strerror or exc})") from exc
    try:
        tensors = load(blob)
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        raise ModelLoadError(weights, f"corrupt or truncated safetensors file ({_one_line(exc)})") from exc
    digest = hashlib.sha256(blob).hexdigest()
    if not card.version or not digest.startswith(card.version) or (card.sha256 and card.sha256 != digest):
        raise ModelLoadError(
            weights,
            f"weights do not match the model card (SHA-256 {digest[:VERSION_CHARS]}, card version {card.version or 'none'})",
        )
    try:
        module = build(**(card.arch_params or {}))
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(weights, f"cannot build {expected} from the card's parameters ({exc})") from exc
    variant = (card.arch_params or {}).get("arch")
    check_shapes(weights, module.state_dict(), tensors,
                 architecture=f"{expected} ({variant})" if variant else expected)
    own = module.state_dict()
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in tensors.items()})
    module.eval()
    if device is not None:
        module.to(device)
    return module, card


def check_shapes(path: Path, expected: Mapping[str, Any], found: Mapping[str, Any], *,
                 architecture: str = "") -> None:
    """Refuse (ModelLoadError) tensors missing, unexpected, or of another shape.

    ``architecture`` ("resnet (resnet50)") is named in the reason when given.
    """
    lead = f"the tensors do not fit architecture {architecture}: " if architecture else ""
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    if missing:
        raise ModelLoadError(path, f"{lead}{len(missing)} tensor(s) missing, e.g. {missing[0]!r}")
    if extra:
        raise ModelLoadError(path, f"{lead}{len(extra)} unexpected tensor(s), e.g. {extra[0]!r}")
    for name, want in expected.items():
        got = found[name]
        if tuple(got.shape) != tuple(want.shape):
            raise ModelLoadError(
                path, f"{lead}tensor {name!r} has shape {tuple(got.shape)}, the network needs {tuple(want.shape)}"
            )


def user_models_dir() -> Path:
    """The per-user models folder: ``$MAMMOVIEW_DATA_DIR/models``, else platformdirs'."""
    env = os.environ.get("MAMMOVIEW_DATA_DIR")
    if env:
        return Path(env) / "models"
    import platformdirs

    return Path(platformdirs.user_data_dir("mammoview")) / "models"


def find_model(task: str, *, folders: list[Path] | None = None) -> Path | None:
    """The active model for ``task`` (weights path), or None.

    Without ``folders``: the model the user made active, else the default
    (:func:`mammoview.nets.registry.active_model`: versions under the per-user models
    folder, the shipped ``models/`` folder). With ``folders`` (tests, tools): the first
    ``<folder>/<task>.safetensors`` that has its ``<task>.json``. Only presence is
    checked here; :func:`load_model` checks the contents.
    """
    if folders is None:
        from mammoview.nets.registry import TASKS, active_model

        if task in TASKS:
            return active_model(task)
        folders = [user_models_dir(), SHIPPED_MODELS_DIR]
    for folder in folders:
        weights, card = model_paths(Path(folder) / task)
        if weights.is_file() and card.is_file():
            return weights
    return None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__
