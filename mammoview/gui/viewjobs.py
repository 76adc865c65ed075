"""Enhanced panels computed off the UI thread: in a worker process, else in a thread.

NumPy, SciPy and PyWavelets hold the GIL in stretches of 10-40 ms while they enhance a
full-field mammogram; two such jobs on worker threads plus the UI thread on a two-core
machine showed up as UI stalls of 60-135 ms (bench/bench_ui_stall.py). So an enhanced
view (:func:`compute_view` + :func:`~mammoview.gui.viewer.prepare.prepare_content`) is
computed in the window's :class:`~mammoview.gui.isolation.ProcessLane` and its drawable
levels come back through shared memory (:mod:`mammoview.gui.shm`), mapped by the waiting
worker thread. When no process can be started the same code runs in the thread.

What is kept of a view is only what is drawn: the uint16 quantisation and its reductions
(:class:`~mammoview.gui.viewer.prepare.PreparedContent`), never the float32 result, which
is 1.6 times larger (a super-resolved full-field view: 217 MB of float32 against 145 MB of
uint16 levels). The magnifier and the report read the prepared levels.

No Qt here: the worker processes import this module.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mammoview.core.progress import Cancelled, CancelToken, Progress
from mammoview.gui.shm import (
    JobControl,
    ShmRef,
    export_arrays,
    import_arrays,
    job_prefix,
    release_refs,
    sweep_prefix,
)
from mammoview.gui.viewer.content import ViewContent
from mammoview.gui.viewer.prepare import PreparedContent, prepare_content

PANEL_TITLES = {
    "original": "Original",
    "wavelet": "Wavelet",
    "clahe": "CLAHE",
    "superres": "Super-resolved",
}


@dataclass(frozen=True)
class ViewMeta:
    """What is known of a computed view besides its pixels (label, params, metrics)."""

    label: str
    params: Any
    metrics: dict
    model_version: str | None = None
    nbytes: int = 1  # counted by the cache: the pixels live in the PreparedContent


# ================================================================== the computation
def compute_prepared(
    name: str,
    pixels: np.ndarray,
    monochrome1: bool,
    params: Any,
    *,
    use_model: bool = True,
    cancel: CancelToken | None = None,
    report=None,
) -> tuple[ViewMeta, PreparedContent]:
    """Compute one enhanced view and make it drawable; the float result is dropped.

    MONOCHROME1 pixels are negated first so the panel has the original's polarity.
    ``report(done, total)`` receives super-resolution tile progress.
    """
    from mammoview.enhance.views import bright_is_dense, compute_view

    pixels = bright_is_dense(pixels, monochrome1)
    found = None
    if name == "superres" and use_model:
        found = _superres_with_model(pixels, params, cancel, report)
    if found is None:
        result, version = compute_view(name, pixels, params), None
    else:
        result, version = found
    if cancel is not None:
        cancel.raise_if_cancelled()
    meta = ViewMeta(result.label, result.params, dict(result.metrics), version)
    content = ViewContent(array=result.array, label=short_label(name, meta),
                          caption=metrics_caption(meta), normalized=True)
    del result
    prepared = prepare_content(content)
    return meta, strip_float(prepared)


def strip_float(prepared: PreparedContent) -> PreparedContent:
    """The same content keeping only its drawn (uint16) arrays: the float array goes."""
    if prepared.quant is None or not prepared.levels:
        return prepared
    return replace(prepared, content=replace(prepared.content, array=prepared.levels[0]))


# Super-resolution model: loaded once per process (a few hundred ms, and torch).
_SR_LOCK = threading.Lock()
_SR: dict[str, Any] = {}


def superres_model():
    """(model or None, reason) of the active super-resolution model, cached per process."""
    with _SR_LOCK:
        if "status" not in _SR:
            try:
                from mammoview.enhance.superres import superres_model_status

                _SR["status"] = superres_model_status()
            except Exception as exc:  # noqa: BLE001 (torch missing or broken: bicubic)
                _SR["status"] = (None, f"super-resolution model unavailable: {exc}")
        return _SR["status"]


def _superres_with_model(pixels, params, cancel, report):
    """(EnhancedView, model version) from EDSR tile by tile with progress; None without a model."""
    model, _reason = superres_model()
    if model is None or getattr(model, "scale", None) != params.factor:
        return None
    from mammoview.enhance.params import as_unit_float
    from mammoview.enhance.superres import iter_superresolve
    from mammoview.enhance.views import EnhancedView, image_metrics
    from mammoview.imaging.resample import downscale_area

    last = None
    for event in iter_superresolve(pixels, model, cancel=cancel):
        if report is not None:
            report(event.done, event.total)
        if event.partial is not None:
            last = event.partial
    if last is None:
        raise RuntimeError("super-resolution produced no result")
    factor = params.factor
    metrics = image_metrics(as_unit_float(pixels), downscale_area(last.array, factor))
    label = (f"Super-resolution x{factor}: {last.label} "
             f"(metrics: output area-downscaled x1/{factor} vs original)")
    return EnhancedView(last.array, label, params, metrics), last.model_version


# ================================================================== labels
def short_label(name: str, result) -> str:
    """A panel title short enough that four panels fit side by side.

    The enhancement's own label (a full sentence) goes into the report instead.
    """
    p = getattr(result, "params", None)
    if name == "wavelet" and p is not None:
        return f"Wavelet {p.wavelet} · {p.levels} levels · gain {p.gain:g}"
    if name == "clahe" and p is not None:
        text = f"CLAHE clip {p.clip_limit:g} · {p.tiles}×{p.tiles}"
        return text if p.denoise == "none" else f"{text} · {p.denoise}"
    if name == "superres" and p is not None:
        method = ""
        label = getattr(result, "label", "")
        if ": " in label:
            method = label.split(": ", 1)[1].split(" (metrics", 1)[0]
        return f"Super-resolved ×{p.factor}" + (f" · {method}" if method else "")
    return PANEL_TITLES.get(name, name)


def metrics_caption(result) -> str:
    """"MSE … · PSNR … dB · SSIM …" from an enhanced view's metrics."""
    metrics = getattr(result, "metrics", None) or {}
    parts = []
    for key, value in metrics.items():
        key = key.replace(" (dB)", "")
        if not isinstance(value, float):
            parts.append(f"{key} {value}")
        elif key == "MSE":
            parts.append(f"{key} {value:.2e}")
        elif key.startswith("PSNR"):
            parts.append(f"{key} {value:.1f} dB")
        else:
            parts.append(f"{key} {value:.3f}")
    return " · ".join(parts)


# ================================================================== process transport
@dataclass(frozen=True)
class _Shipped:
    """A prepared result as it crosses the process boundary: arrays by shared memory."""

    payload: Any  # everything but the arrays (pickled: small)
    refs: tuple[ShmRef, ...]


class _ControlToken(CancelToken):
    """A CancelToken that also reads the parent's cancel flag from the job control block."""

    def __init__(self, control: JobControl) -> None:
        super().__init__()
        self._control = control

    @property
    def cancelled(self) -> bool:  # type: ignore[override]
        return self._control.cancelled or super().cancelled

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled()


@dataclass(frozen=True)
class _InShm:
    """An input array the parent put in shared memory (the child maps it: no pickling)."""

    ref: ShmRef


# Inputs smaller than this travel pickled; larger ones through shared memory, because
# pickling copies them with the GIL held in the parent (27 MB: 10-30 ms under load).
SHM_INPUT_BYTES = 1 << 20


def run_in_child(fn, args: tuple, kwargs: dict, prefix: str, stream: bool = False) -> _Shipped:
    """Child side: ``fn(*args, cancel=, report=, **kwargs)`` -> (payload, arrays), shipped.

    ``fn`` returns ``(payload, arrays)``; the arrays go into shared memory blocks named
    ``prefix + k`` and the payload keeps a placeholder for each. Arguments the parent
    put in shared memory are mapped here (and their names unlinked). With ``stream``,
    ``fn`` also gets ``publish(message, keep=False)``: partial results the parent picks
    up while the job runs (:class:`~mammoview.gui.shm.StreamBlock`).
    """
    from mammoview.gui.shm import StreamBlock, import_array

    args = tuple(import_array(a.ref) if isinstance(a, _InShm) else a for a in args)
    control = JobControl.attach(prefix + "c")
    block = StreamBlock.attach(prefix + "s") if stream else None
    try:
        token = _ControlToken(control)
        if block is not None:
            kwargs = dict(kwargs, publish=lambda m, keep=False: block.publish(
                m, keep=keep, cancelled=lambda: token.cancelled))
        payload, arrays = fn(*args, cancel=token, report=control.report, **kwargs)
        token.raise_if_cancelled()
        refs = export_arrays(arrays, prefix)
    finally:
        control.close()
        if block is not None:
            block.close()
    return _Shipped(payload, tuple(refs))


def call_shipped(lane, fn, args: tuple, kwargs: dict, ctx, *, message: str = "",
                 stream_bytes: int = 0, on_message=None) -> tuple:
    """Parent side (a worker thread): run ``fn`` in ``lane``; return (payload, arrays).

    Progress the child reports is forwarded to ``ctx.report``; cancelling ``ctx`` tells
    the child and frees a result that still arrives. Raises LaneUnavailable when no
    process can be started (the caller then runs ``fn`` in its own thread).

    With ``stream_bytes`` > 0 a :class:`~mammoview.gui.shm.StreamBlock` of that size
    carries partial results: ``fn`` gets ``publish=`` and each new message is handed to
    ``on_message(message)`` here, on the waiting worker thread (every 50 ms at most).
    """
    from mammoview.gui.shm import StreamBlock

    prefix = job_prefix()
    inputs: list[ShmRef] = []
    shipped_args = []
    for arg in args:
        if isinstance(arg, np.ndarray) and arg.nbytes >= SHM_INPUT_BYTES:
            # Named apart from the result blocks (prefix + k) that a crash sweep removes.
            ref = export_arrays([arg], f"{prefix}i{len(inputs)}_", pace=True)[0]
            inputs.append(ref)
            shipped_args.append(_InShm(ref))
        else:
            shipped_args.append(arg)
    args = tuple(shipped_args)
    control = JobControl.create(prefix)
    block = StreamBlock.create(prefix, stream_bytes) if stream_bytes > 0 else None
    seen = [(-1, -1)]

    def poll() -> None:
        done, total = control.progress()
        if total > 0 and (done, total) != seen[0]:
            seen[0] = (done, total)
            ctx.report(Progress(done, total, message))
        if block is not None and on_message is not None:
            news = block.latest()
            if news is not None:
                on_message(news)

    try:
        shipped = lane.call(
            run_in_child, fn, args, kwargs, prefix, block is not None, cancel=ctx.token,
            discard=lambda s: release_refs(s.refs), on_crash=lambda: sweep_prefix(prefix),
            poll=poll)
        if block is not None and on_message is not None:
            news = block.latest()  # the last partial, if the job ended between two polls
            if news is not None:
                on_message(news)
    except Cancelled:
        control.cancel()
        raise
    finally:
        control.close()
        if block is not None:
            block.close()
        release_refs(inputs)  # unless the child already mapped and unlinked them
    arrays = import_arrays(shipped.refs)
    return shipped.payload, arrays


# ---------------------------------------------------------------- enhanced views
def view_parts(name, pixels, monochrome1, params, *, use_model=True, cancel=None, report=None):
    """:func:`compute_prepared` split for shipping: (payload, arrays)."""
    meta, prepared = compute_prepared(name, pixels, monochrome1, params, use_model=use_model,
                                      cancel=cancel, report=report)
    content = replace(prepared.content, array=None)
    return (meta, content, prepared.quant), list(prepared.levels)


def view_from_parts(payload, arrays) -> tuple[ViewMeta, PreparedContent]:
    meta, content, quant = payload
    levels = tuple(arrays)
    if not levels:  # pending content never ships; a defensive empty panel
        levels = (np.zeros((1, 1), np.uint16),)
    return meta, PreparedContent(replace(content, array=levels[0]), levels, quant)


def run_view(lane, name: str, image, params, ctx, *, use_model: bool = True):
    """One enhanced view of ``image`` (a worker thread): in ``lane`` if it can, else here.

    Returns
    -------
    (ViewMeta, PreparedContent)
    """
    from mammoview.gui.isolation import LaneUnavailable

    ctx.check()
    message = f"{PANEL_TITLES.get(name, name)}"
    if lane is not None and lane.available:
        try:
            payload, arrays = call_shipped(
                lane, view_parts, (name, image.pixels, image.is_monochrome1, params),
                {"use_model": use_model}, ctx, message=message)
            return view_from_parts(payload, arrays)
        except LaneUnavailable:
            pass
    return compute_prepared(
        name, image.pixels, image.is_monochrome1, params, use_model=use_model,
        cancel=ctx.token, report=lambda d, t: ctx.report(Progress(d, t, message)))
