"""Segmentation overlay layers, computed off the UI thread (a worker process or thread).

Each layer of the Layers dock is a boolean mask over the original image: the ground
truth (DDSM tissue masks where the image has them; MIAS circles are drawn as vector
circles by the findings overlay), the breast region, the pectoral muscle, the Otsu lesion
candidates and the UNet lesions. The worker returns a :class:`MaskDisplay`: the mask at
display resolution coded 0 outside, 1 inside, 2 on its boundary, so that the panel draws
fill or contour, in any colour and opacity, by swapping a 256-entry RGBA lookup table
(no pixel is touched on the UI thread), plus Dice/IoU against the ground truth.

No Qt here: the worker processes import this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LAYERS = {
    "truth": "Ground truth",
    "breast": "Breast region",
    "pectoral": "Pectoral muscle",
    "otsu": "Otsu candidates",
    "unet": "UNet lesions",
}
#: Views that show the pectoral muscle.
MLO_VIEWS = ("MLO", "ML", "LM", "LMO", "SIO")
#: Long side of the drawn mask: finer than any screen shows a whole full-field image,
#: small enough that one colour change re-renders it in a few ms.
DISPLAY_MAX_SIDE = 2048
#: One boundary pixel per this many display pixels of long side: a whole image fitted to
#: a panel is shown at about a third of its size, where a 1-pixel outline vanishes.
CONTOUR_PER_SIDE = 300
# What a layer's result depends on besides the image (part of its cache key).
PARAMS_VERSION = {"truth": 1, "breast": 1, "pectoral": 1, "otsu": 1, "unet": 1}


@dataclass(frozen=True, eq=False)
class MaskDisplay:
    """A layer ready to draw over one image.

    Attributes
    ----------
    layer : key of :data:`LAYERS`.
    uid : the image it belongs to.
    codes : uint8 (h, w) or None: 0 outside, 1 inside, 2 boundary, over the whole image
        (h, w is the original shape reduced to at most :data:`DISPLAY_MAX_SIDE`).
    shape : the original image's (rows, cols).
    status : one line for the layer's row ("Dice 0.97 · IoU 0.94 vs ground truth",
        "pectoral: MLO views only", "no UNet model: <reason>").
    metrics : {"Dice": .., "IoU": ..} against the ground truth, when there is one.
    available : False when the layer cannot be computed at all (no model).
    model_version : the model that made it (UNet), else None.
    area_fraction : share of the image inside the mask.
    step : original pixels per code pixel (:func:`display_step`; a float for the AI
        layers, which live at the classifier's working scale).
    kind : how codes are coloured: "mask" (0/1/2 above), "signed" (128 = nothing,
        128 + k a positive weight of strength k/127, 128 - k a negative one: LIME) or
        "heat" (0-255 intensity: Grad-CAM, the cascade's patch heatmap).
    origin : (row, col) in original pixels of the codes' top-left corner (a crop).
    """

    layer: str
    uid: str
    codes: np.ndarray | None
    shape: tuple[int, int]
    status: str = ""
    metrics: dict = field(default_factory=dict)
    available: bool = True
    model_version: str | None = None
    area_fraction: float = 0.0
    step: float = 1
    kind: str = "mask"
    origin: tuple[float, float] = (0.0, 0.0)

    @property
    def nbytes(self) -> int:
        return max(1, 0 if self.codes is None else self.codes.nbytes)


def display_step(shape: tuple[int, int], max_side: int = DISPLAY_MAX_SIDE) -> int:
    """Original pixels per drawn mask pixel for an image of ``shape``."""
    return max(1, math.ceil(max(shape) / max_side))


def display_codes(mask: np.ndarray, *, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """0/1/2 codes (outside/inside/boundary) of ``mask`` reduced to ``max_side``.

    Examples
    --------
    >>> m = np.zeros((9, 9), bool); m[1:8, 1:8] = True
    >>> display_codes(m)[1:8, 4].tolist()
    [2, 1, 1, 1, 1, 1, 2]
    """
    from scipy import ndimage as ndi

    mask = np.asarray(mask, bool)
    step = display_step(mask.shape, max_side)
    if step > 1:
        rows, cols = (mask.shape[0] // step) * step, (mask.shape[1] // step) * step
        blocks = mask[:rows, :cols].reshape(rows // step, step, cols // step, step)
        small = blocks.mean(axis=(1, 3), dtype=np.float32) >= 0.5
    else:
        small = mask
    thickness = max(1, round(max(small.shape) / CONTOUR_PER_SIDE))
    eroded = ndi.binary_erosion(small, iterations=thickness, border_value=0)
    codes = small.astype(np.uint8)
    codes[small & ~eroded] = 2
    return codes


def overlap_metrics(mask: np.ndarray, truth: np.ndarray) -> dict:
    from mammoview.imaging.metrics import dice, iou

    return {"Dice": float(dice(mask, truth)), "IoU": float(iou(mask, truth))}


def metrics_text(metrics: dict, against: str = "ground truth") -> str:
    if not metrics:
        return ""
    return f"Dice {metrics['Dice']:.2f} · IoU {metrics['IoU']:.2f} vs {against}"


# ================================================================== computing one layer
def compute_layer(
    layer: str,
    uid: str,
    pixels: np.ndarray,
    monochrome1: bool,
    view: str,
    path: str,
    findings: tuple,
    *,
    cancel=None,
    report=None,
) -> MaskDisplay:
    """Compute one layer of one image (thread-safe, pure NumPy + the segmentation code).

    ``pixels`` are the original's; MONOCHROME1 is inverted first (tissue bright).
    """
    from mammoview.io.ground_truth import findings_mask, read_tissue_masks

    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}")
    shape = tuple(pixels.shape)
    image = -pixels.astype(np.float32) if monochrome1 else pixels
    truth = read_tissue_masks(path, shape) if path else {}
    located = [f for f in findings if getattr(f, "row", None) is not None]
    # An unknown view (a PNG without DICOM tags) may well be an MLO: try.
    not_mlo = bool(view) and view.upper() not in MLO_VIEWS

    def done(mask, status="", metrics=None, **extra) -> MaskDisplay:
        codes = None if mask is None else display_codes(mask)
        fraction = 0.0 if mask is None else float(np.count_nonzero(mask)) / max(1, mask.size)
        return MaskDisplay(layer, uid, codes, shape, status, metrics or {},
                           area_fraction=fraction, step=display_step(shape), **extra)

    def check():
        if cancel is not None:
            cancel.raise_if_cancelled()

    if layer == "truth":
        if not truth:
            text = (f"{len(located)} finding circle(s)" if located else
                    "no ground truth for this image")
            return done(None, text)
        union = np.zeros(shape, bool)
        for mask in truth.values():
            union |= mask
        codes = display_codes(union)
        if "pectoral" in truth:  # the muscle's outline inside the breast
            muscle = display_codes(truth["pectoral"])
            if muscle.shape == codes.shape:
                codes[muscle == 2] = 2
        kinds = " + ".join(sorted(truth))
        return MaskDisplay(layer, uid, codes, shape, f"manual masks: {kinds}",
                           area_fraction=float(union.mean()), step=display_step(shape))

    from mammoview.segmentation.breast import segment_breast

    breast = segment_breast(image)
    check()
    if layer == "breast":
        metrics = overlap_metrics(breast, truth["breast"]) if "breast" in truth else {}
        return done(breast, metrics_text(metrics) or "no ground truth mask", metrics)

    if layer == "pectoral":
        if not_mlo:
            return done(None, "pectoral: MLO views only")
        from mammoview.segmentation.pectoral import segment_pectoral

        muscle = segment_pectoral(image, breast_mask=breast)
        metrics = overlap_metrics(muscle, truth["pectoral"]) if "pectoral" in truth else {}
        status = metrics_text(metrics) or ("no muscle found" if not muscle.any()
                                           else "no ground truth mask")
        return done(muscle, status, metrics)

    lesion_truth = findings_mask(located, shape) if located else None
    if layer == "otsu":
        from mammoview.segmentation.lesions import segment_otsu_candidates

        mask = segment_otsu_candidates(image, breast_mask=breast, view=view or None)
        check()
        metrics = overlap_metrics(mask, lesion_truth) if lesion_truth is not None else {}
        status = metrics_text(metrics, "finding circles") or "no located findings to compare"
        return done(mask, status, metrics)

    # layer == "unet"
    from mammoview.core.errors import MammoViewError
    from mammoview.segmentation.lesions import segment_unet
    from mammoview.segmentation.unet_infer import resolve_model

    try:
        model = resolve_model(None)
    except MammoViewError as err:
        return MaskDisplay(layer, uid, None, shape, f"no UNet model: {_reason(err)}",
                           available=False)
    check()
    mask = segment_unet(image, model=model)
    metrics = overlap_metrics(mask, lesion_truth) if lesion_truth is not None else {}
    status = metrics_text(metrics, "finding circles") or "no located findings to compare"
    return done(mask, f"{status} (model {model.version})", metrics, model_version=model.version)


def unet_status() -> tuple[str | None, str]:
    """(model version, "") when a UNet loads, else (None, the reason): for the Layers dock."""
    from mammoview.core.errors import MammoViewError

    try:
        from mammoview.segmentation.unet_infer import resolve_model

        return resolve_model(None).version, ""
    except MammoViewError as err:
        return None, _reason(err)
    except Exception as exc:  # noqa: BLE001 (torch missing or broken)
        return None, f"{type(exc).__name__}: {exc}"


def _reason(err: Any) -> str:
    return str(err)


# ================================================================== shipping
def layer_parts(layer, uid, pixels, monochrome1, view, path, findings, *, cancel=None,
                report=None):
    """:func:`compute_layer` split for shared memory: (payload, arrays)."""
    from dataclasses import replace

    display = compute_layer(layer, uid, pixels, monochrome1, view, path, findings,
                            cancel=cancel, report=report)
    arrays = [] if display.codes is None else [display.codes]
    return replace(display, codes=None), arrays


def run_layer(lane, layer: str, image, ctx) -> MaskDisplay:
    """One layer of ``image`` (a worker thread): in ``lane`` if it can, else here."""
    from dataclasses import replace

    from mammoview.gui.isolation import LaneUnavailable
    from mammoview.gui.viewjobs import call_shipped

    ctx.check()
    ref = image.ref
    args = (layer, image.uid, image.pixels, image.is_monochrome1, ref.view or "",
            str(ref.path) if ref.kind == "raster" else "", tuple(ref.findings or image.findings))
    if lane is not None and lane.available:
        try:
            payload, arrays = call_shipped(lane, layer_parts, args, {}, ctx,
                                           message=LAYERS[layer])
            return replace(payload, codes=arrays[0] if arrays else None)
        except LaneUnavailable:
            pass
    return compute_layer(*args, cancel=ctx.token)
