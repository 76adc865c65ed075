"""Super-resolution of a mammogram: a trained EDSR when one is available, else bicubic.

:func:`superresolve` enlarges with bicubic interpolation and says so in its label, exactly
``"bicubic (no SR model)"``, unless it is given a model, so nobody mistakes interpolation
for a learned reconstruction.

The seam for a model is the ``model`` argument: any object with the :class:`SrModel`
attributes (``name``, ``version``, ``scale``) and an ``upscale(x)`` method that takes a
float32 [0, 1] image and returns it ``scale`` times larger. :func:`load_superres_model`
returns such an object for the active EDSR of the model store (``mammoview train
superres``, or the one shipped in ``models/``), or None with the reason in
:func:`superres_model_status`. The EDSR runs tile by tile with an overlap
(:func:`iter_superresolve`), which bounds memory on full-field images and gives progress
events between tiles.

Importing this module never imports torch; loading and running a model does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mammoview.core.progress import CancelToken, Progress
from mammoview.enhance.params import SuperresParams, as_unit_float
from mammoview.imaging.resample import upscale_bicubic

__all__ = [
    "BICUBIC_LABEL",
    "EdsrModel",
    "SrModel",
    "SuperResolved",
    "iter_superresolve",
    "load_superres_model",
    "superres_model_status",
    "superresolve",
]

BICUBIC_LABEL = "bicubic (no SR model)"


@runtime_checkable
class SrModel(Protocol):
    """What :func:`superresolve` needs from a trained super-resolution model."""

    name: str
    version: str
    scale: int

    def upscale(self, x: np.ndarray) -> np.ndarray:
        """float32 (M, N) in [0, 1] -> float32 (scale*M, scale*N)."""


@dataclass(frozen=True)
class SuperResolved:
    """A super-resolved image and how it was made.

    Attributes
    ----------
    array : float32 (factor*M, factor*N) in [0, 1].
    label : what made it; "bicubic (no SR model)" without a model.
    model_version : the model's version, None for bicubic (part of the GUI's cache key).
    """

    array: np.ndarray
    label: str
    model_version: str | None = None


def superresolve(image: np.ndarray, *, factor: int = 2, model: SrModel | None = None) -> SuperResolved:
    """Enlarge an image ``factor`` times, with a trained model if one is given.

    Parameters
    ----------
    image : (M, N) array of any real dtype; rescaled to [0, 1] by its own min/max. Not modified.
    factor : integer enlargement, 2 to 4.
    model : optional :class:`SrModel` whose ``scale`` equals ``factor``.

    Returns
    -------
    SuperResolved with a float32 (factor*M, factor*N) array in [0, 1].

    Raises
    ------
    ValueError
        For a bad factor, a model of another scale, or a model output of the wrong shape.

    Examples
    --------
    >>> sr = superresolve(np.zeros((4, 5)))
    >>> sr.array.shape, sr.label
    ((8, 10), 'bicubic (no SR model)')
    """
    SuperresParams(factor=factor)
    x = as_unit_float(image)
    expected = (x.shape[0] * factor, x.shape[1] * factor)
    if model is None:
        out = upscale_bicubic(x, factor)
        # Bicubic overshoots at sharp edges; keep the [0, 1] contract.
        return SuperResolved(np.clip(out, 0.0, 1.0, out=out), BICUBIC_LABEL, None)
    if not isinstance(model, SrModel):
        raise ValueError("model must provide name, version, scale and upscale(x)")
    if model.scale != factor:
        raise ValueError(f"factor={factor} does not match the model's scale x{model.scale}")
    out = np.asarray(model.upscale(x), dtype=np.float32)
    if out.shape != expected:
        raise ValueError(f"the SR model returned shape {out.shape}, expected {expected}")
    # A model may describe itself more fully (e.g. "EDSR x2 (model 837eee26cabc)").
    label = getattr(model, "label", None) or f"{model.name} x{factor}"
    return SuperResolved(np.clip(out, 0.0, 1.0), str(label), str(model.version))


# --------------------------------------------------------------------------- trained EDSR

TASK = "superres"
#: Low-resolution tile side and the context added on each side of a tile. The shipped EDSR
#: (8 residual blocks) sees 19 pixels either side of an output pixel, so a 16-pixel overlap
#: changes tile-border pixels by far less than one grey level in 256 (see bench_superres.py).
DEFAULT_TILE = 256
DEFAULT_OVERLAP = 16
# Below this (of the image's own range) a tile is film background (see iter_superresolve).
DEFAULT_BACKGROUND = 0.04


@dataclass(frozen=True, eq=False)
class EdsrModel:
    """A trained EDSR from the model store, usable wherever an :class:`SrModel` is.

    Attributes
    ----------
    module : the torch EDSR, in eval mode on ``device``.
    card : its :class:`mammoview.nets.store.ModelCard`.
    path : the weights file.
    device : the torch device it runs on.
    tile, overlap : tiling used by :meth:`upscale` (low-resolution pixels).
    """

    module: Any
    card: Any
    path: Path
    device: Any
    tile: int = DEFAULT_TILE
    overlap: int = DEFAULT_OVERLAP
    name: str = "EDSR"

    @property
    def version(self) -> str:
        return str(self.card.version)

    @property
    def scale(self) -> int:
        return int(self.module.scale)

    @property
    def label(self) -> str:
        return f"{self.name} x{self.scale} (model {self.version})"

    def upscale(self, x: np.ndarray) -> np.ndarray:
        """float32 (M, N) in [0, 1] -> float32 (scale*M, scale*N) in [0, 1], tile by tile."""
        last = None
        for last in iter_superresolve(x, self, tile=self.tile, overlap=self.overlap):
            pass
        return last.partial.array


def iter_superresolve(
    image: np.ndarray,
    model: Any,
    *,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    cancel: CancelToken | None = None,
    background: float | None = DEFAULT_BACKGROUND,
) -> Iterator[Progress]:
    """Super-resolve ``image`` with a trained network, tile by tile, yielding progress.

    Parameters
    ----------
    image : (M, N) array of any real dtype; rescaled to [0, 1] by its own min/max (the
        models' preprocessing). Not modified.
    model : :class:`EdsrModel` (from :func:`load_superres_model`), or a bare torch module
        with a ``scale`` attribute (e.g. :class:`mammoview.nets.edsr.EDSR`).
    tile : low-resolution side of each tile, >= 8.
    overlap : low-resolution context added on every side of a tile (and cut off its
        output), >= 0, so that tile borders match a whole-image pass.
    cancel : a :class:`~mammoview.core.progress.CancelToken` checked before each tile.
    background : tiles whose every value (context included) is below this level, on
        the [0, 1] scale, are film background: they are enlarged bicubically instead of
        by the network. About half of a mammogram is background, and the network has
        nothing to recover there, so this halves the time. ``None`` runs every tile.

    Yields
    ------
    Progress
        ``Progress(0, n)`` first, then one event per finished tile; the last,
        ``Progress(n, n)``, carries the :class:`SuperResolved` result in ``partial``
        (float32 in [0, 1], ``scale`` times the shape).

    Raises
    ------
    mammoview.core.progress.Cancelled
        When ``cancel`` is set; nothing is returned.
    ValueError
        A bad tile or overlap, or a model without a ``scale``.
    """
    import torch

    if isinstance(tile, bool) or not isinstance(tile, int) or tile < 8:
        raise ValueError(f"tile must be an integer >= 8, got {tile!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
        raise ValueError(f"overlap must be an integer >= 0, got {overlap!r}")
    module, device, scale, label, version = _unpack(model)
    x = as_unit_float(image)
    rows, cols = x.shape
    out = np.empty((rows * scale, cols * scale), np.float32)
    boxes = [(r, c) for r in range(0, rows, tile) for c in range(0, cols, tile)]
    total = len(boxes)
    yield Progress(0, total, f"super-resolution x{scale}: {total} tiles")
    skipped = 0
    with torch.inference_mode():
        for done, (r0, c0) in enumerate(boxes, start=1):
            if cancel is not None:
                cancel.raise_if_cancelled()
            r1, c1 = min(rows, r0 + tile), min(cols, c0 + tile)
            a0, b0 = max(0, r0 - overlap), max(0, c0 - overlap)
            a1, b1 = min(rows, r1 + overlap), min(cols, c1 + overlap)
            context = np.ascontiguousarray(x[a0:a1, b0:b1])
            if background is not None and float(context.max()) < background:
                sr = upscale_bicubic(context, scale)
                skipped += 1
            else:
                patch = torch.from_numpy(context)[None, None].to(device)
                sr = module(patch)[0, 0].float().cpu().numpy()
            top, left = (r0 - a0) * scale, (c0 - b0) * scale
            out[r0 * scale : r1 * scale, c0 * scale : c1 * scale] = sr[
                top : top + (r1 - r0) * scale, left : left + (c1 - c0) * scale
            ]
            if done < total:
                yield Progress(done, total, f"super-resolution x{scale}: tile {done} of {total}")
    np.clip(out, 0.0, 1.0, out=out)
    message = f"super-resolution x{scale}: done ({skipped} of {total} tiles were background)"
    yield Progress(total, total, message, SuperResolved(out, label, version))


def _unpack(model: Any) -> tuple[Any, Any, int, str, str | None]:
    """(module, device, scale, label, version) of an EdsrModel or a bare torch module."""
    if isinstance(model, EdsrModel):
        return model.module, model.device, model.scale, model.label, model.version
    scale = getattr(model, "scale", None)
    if not callable(model) or not isinstance(scale, int) or scale < 2:
        raise ValueError("model must be an EdsrModel or a torch module with an integer scale >= 2")
    try:
        device = next(model.parameters()).device
    except (AttributeError, StopIteration):
        device = "cpu"
    return model, device, scale, f"{type(model).__name__} x{scale}", None


def superres_model_status(
    path: str | os.PathLike[str] | None = None, *, device: str = "auto"
) -> tuple[EdsrModel | None, str]:
    """The active super-resolution model and, when there is none, why.

    Parameters
    ----------
    path : weights or card of a model; None for the active one
        (:func:`mammoview.nets.store.find_model`: the user's models folder first, then
        the shipped ``models/`` folder).
    device : "auto", "cpu", "cuda" or "mps".

    Returns
    -------
    (model, reason): ``(EdsrModel, "")`` when a model loads; ``(None, reason)`` otherwise,
    the reason one line such as "superres.safetensors: weights file not found".
    A model that loads is kept while its file is unchanged.
    """
    from mammoview.core.errors import MammoViewError
    from mammoview.nets.store import find_model

    if path is None:
        path = find_model(TASK)
        if path is None:
            return None, (
                "no super-resolution model found (none trained in the user's models folder "
                "and none shipped); train one with 'mammoview train superres'"
            )
    try:
        return _load_cached(Path(path), device), ""
    except MammoViewError as err:
        return None, str(err)


def load_superres_model(
    path: str | os.PathLike[str] | None = None, *, device: str = "auto"
) -> EdsrModel | None:
    """The active (or given) EDSR as an :class:`SrModel`, or None when there is none.

    The reason for a None is :func:`superres_model_status`'s second value.

    Examples
    --------
    >>> model = load_superres_model()            # doctest: +SKIP
    >>> superresolve(img, model=model).label     # doctest: +SKIP
    'EDSR x2 (model 837eee26cabc)'
    """
    return superres_model_status(path, device=device)[0]


_CACHE: dict[tuple[str, int, int, str], EdsrModel] = {}
_CACHE_LOCK = threading.Lock()


def _load_cached(path: Path, device: str) -> EdsrModel:
    from mammoview.nets.store import ModelLoadError, model_paths

    weights, _ = model_paths(path)
    try:
        stat = weights.stat()
    except OSError:
        raise ModelLoadError(weights, "weights file not found") from None
    key = (str(weights.resolve()), stat.st_mtime_ns, stat.st_size, device)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    model = _load(weights, device)
    with _CACHE_LOCK:
        _CACHE.clear()
        _CACHE[key] = model
    return model


def _load(weights: Path, device: str) -> EdsrModel:
    from mammoview.nets.device import choose_device
    from mammoview.nets.edsr import EDSR
    from mammoview.nets.store import ModelLoadError, load_model

    dev = choose_device(device)
    module, card = load_model(weights, task=TASK, build=EDSR, device=dev)
    wanted = (card.preprocessing or {}).get("scale", module.scale)
    if wanted != module.scale:
        raise ModelLoadError(
            weights, f"model card says scale {wanted!r} but the network is x{module.scale}"
        )
    return EdsrModel(module, card, weights, dev)
