"""Running the trained lesion UNet: loading it from the store, preprocessing as its card says.

The model card's ``preprocessing`` (written by ``mammoview train segmentation``) says how
the network saw its images: greys min-max scaled to [0, 1], area-averaged down so the long
side is ``working_size`` pixels (never enlarged). Inference does the same, runs the UNet on
:func:`mammoview.nets.device.choose_device`, and brings the logits back to the image's size
(bilinear) before the sigmoid, so the mask outline is smooth rather than blocky.

torch is imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mammoview.core.progress import Progress

__all__ = ["SegmentationModel", "load_segmentation_model", "predict_probability", "resolve_model"]

TASK = "segmentation"
# Used when a card says nothing about the working size (the training default).
DEFAULT_WORKING_SIZE = 256


@dataclass(frozen=True, eq=False)
class SegmentationModel:
    """A loaded lesion UNet with what inference needs from its card.

    Attributes
    ----------
    module : the torch UNet, in eval mode on ``device``.
    card : its :class:`mammoview.nets.store.ModelCard`.
    path : the weights file.
    device : the torch device it runs on.
    working_size : long side, in pixels, of the images it was trained on.
    """

    module: Any
    card: Any
    path: Path
    device: Any
    working_size: int

    @property
    def version(self) -> str:
        return str(self.card.version)

    @property
    def label(self) -> str:
        return f"UNet (model {self.version})"


def load_segmentation_model(
    path: str | os.PathLike[str] | None = None, *, device: str = "auto"
) -> SegmentationModel:
    """Load a lesion UNet from the model store.

    Parameters
    ----------
    path : the model's weights or card; None for the active model
        (:func:`mammoview.nets.store.find_model`: the user's models folder, then the
        shipped ``models/`` folder).
    device : "auto", "cpu", "cuda" or "mps" (see :func:`mammoview.nets.device.choose_device`).

    Returns
    -------
    SegmentationModel

    Raises
    ------
    mammoview.nets.store.ModelLoadError
        No model found, or missing, corrupt, of another task or architecture, mismatched
        shapes, or a card whose preprocessing cannot be followed.
    """
    from mammoview.nets.device import choose_device
    from mammoview.nets.store import ModelLoadError, find_model, load_model, user_models_dir
    from mammoview.nets.unet import UNet

    if path is None:
        path = find_model(TASK)
        if path is None:
            raise ModelLoadError(
                user_models_dir() / f"{TASK}.safetensors",
                "no lesion segmentation model found (none trained in the user's models "
                "folder and none shipped); train one with 'mammoview train segmentation'",
            )
    dev = choose_device(device)
    module, card = load_model(path, task=TASK, build=UNet, device=dev)
    size = (card.preprocessing or {}).get("working_size", DEFAULT_WORKING_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ModelLoadError(path, f"model card has an unusable working_size {size!r}")
    return SegmentationModel(module, card, Path(path), dev, int(size))


# Loading costs a few hundred milliseconds; the same file is reused while it is unchanged.
_CACHE: dict[tuple[str, int, int], SegmentationModel] = {}
_CACHE_LOCK = threading.Lock()


def resolve_model(model: Any, progress: Callable[[Progress], None] | None = None) -> SegmentationModel:
    """A :class:`SegmentationModel` from what a caller passed (a model, a path, or None)."""
    if isinstance(model, SegmentationModel):
        return model
    if model is not None and not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be a SegmentationModel, a path or None, got {type(model).__name__}")
    if progress is not None:
        progress(Progress(0, 3, "loading the segmentation model"))
    if model is None:
        from mammoview.nets.store import find_model

        found = find_model(TASK)
        if found is None:
            return load_segmentation_model(None)  # raises the "no model" error
        model = found
    weights = Path(model)
    try:
        stat = weights.with_suffix(".safetensors").stat() if weights.suffix == ".json" else weights.stat()
        key = (str(weights.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return load_segmentation_model(weights)  # raises the store's "not found" error
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    loaded = load_segmentation_model(weights)
    with _CACHE_LOCK:
        _CACHE.clear()  # one model at a time is all the app shows
        _CACHE[key] = loaded
    return loaded


def prepare_input(image: np.ndarray, working_size: int) -> np.ndarray:
    """The card's preprocessing: min-max to [0, 1], area-downscale to the working size."""
    from mammoview.enhance.params import as_unit_float
    from mammoview.imaging.resample import downscale_area

    x = as_unit_float(np.nan_to_num(np.asarray(image, dtype=np.float32)))
    factor = max(x.shape) / float(working_size)
    return downscale_area(x, factor) if factor > 1.0 else x


def predict_probability(
    image: np.ndarray,
    model: SegmentationModel,
    *,
    progress: Callable[[Progress], None] | None = None,
) -> np.ndarray:
    """Lesion probability (float32 [0, 1]) for each pixel of ``image``, at its full size."""
    import torch
    import torch.nn.functional as F

    from mammoview.segmentation.morphology import check_image

    arr = check_image(image)
    small = prepare_input(arr, model.working_size)
    if progress is not None:
        progress(Progress(1, 3, f"running {model.label}"))
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(small))[None, None].to(model.device)
        logits = model.module(x)
        if tuple(logits.shape[-2:]) != arr.shape:
            logits = F.interpolate(logits, size=arr.shape, mode="bilinear", align_corners=False)
        prob = torch.sigmoid(logits)[0, 0].float().cpu().numpy()
    if progress is not None:
        progress(Progress(3, 3, "lesion probability ready"))
    return np.ascontiguousarray(prob, dtype=np.float32)
