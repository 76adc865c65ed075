"""The window's AI side: classification, the AI panel, the AI layers, the model cards.

:class:`AiController` decides what to classify and explain and hands the work to
:mod:`mammoview.gui.aijobs` in the window's process lane (torch never loads in the
window's process). It has its own :class:`~mammoview.gui.workers.JobRunner`, so a long
LIME run never holds a thread that image loading needs.

Staleness: every job for the shown images runs under the channel ``"current"`` (bumped
whenever the window shows other images) and the next image's prefetch under
``"prefetch"``. A finished classification is cached under (image uid, model files)
whatever happens meanwhile, but the panel only ever shows the cached result of the
image that is current *when it paints* (:meth:`refresh_panel`), so a late result can
never be shown beside the wrong image. Explanation layers are delivered only while
their job is current and only to the panels showing their image's uid.

"Classify all studies" (:mod:`mammoview.gui.aitriage`) classifies every listed image on a
third channel, ``"triage"``, at the lowest priority; every study whose images all have a
result is aggregated (:meth:`AiController.maybe_aggregate`), whichever channel finished it.

Research use only, not for diagnosis.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QLabel, QScrollArea

from mammoview.core.errors import ImageReadError
from mammoview.core.progress import Progress
from mammoview.gui import aitriage
from mammoview.gui.aijobs import (
    AI_LAYERS,
    COULD_NOT_OPEN,
    FAILED,
    LIME_SEED,
    STAGE_TARGETS,
    STAGE_TASKS,
    Classification,
    ExplainResult,
    aggregate_parts,
    classify_parts,
    gradcam_parts,
    heat_display,
    lime_display,
    lime_parts,
    models_key,
    probe_models,
    resolve_models,
)
from mammoview.gui.cache import ViewCache
from mammoview.gui.isolation import LaneUnavailable
from mammoview.gui.overlayjobs import MaskDisplay
from mammoview.gui.panels.ai import AiPanel
from mammoview.gui.viewjobs import call_shipped
from mammoview.gui.workers import JobFailure, JobRunner
from mammoview.report.content import models_text

log = logging.getLogger(__name__)

EXPLAIN_CACHE_BYTES = 64 * 1024 * 1024
#: The stage-1 heatmaps kept for display. Classifying a whole worklist (triage) would
#: otherwise keep one per image for the session; an evicted one is computed again when
#: its image is shown with the heat layer on (the numbers stay cached).
HEAT_CACHE_BYTES = 128 * 1024 * 1024


def run_in_lane(lane, fn, args: tuple, ctx, *, message: str = "", stream_bytes: int = 0,
                on_message=None):
    """``fn(*args)`` -> (payload, arrays) in the lane, else in this (worker) thread."""
    if lane is not None and lane.available:
        try:
            return call_shipped(lane, fn, args, {}, ctx, message=message,
                                stream_bytes=stream_bytes, on_message=on_message)
        except LaneUnavailable:
            pass
    kwargs = {}
    if stream_bytes and on_message is not None:
        kwargs["publish"] = lambda m, keep=False: on_message(m)
    return fn(*args, cancel=ctx.token, report=lambda d, t: ctx.report(Progress(d, t, message)),
              **kwargs)


class AiController(QObject):
    """Classification and explanations for a :class:`~mammoview.gui.main_window.MainWindow`.

    Signals
    -------
    classified(str)
        A classification of this image uid was cached (current or not).
    limeUpdated(str, int)
        A LIME overlay of this uid was drawn with this many samples (partial or final).
    idle()
        No AI job for the shown images is outstanding.
    studyAggregated()
        A study's aggregate (its breast and study results) was cached.
    """

    classified = Signal(str)
    studyAggregated = Signal()
    limeUpdated = Signal(str, int)
    idle = Signal()

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.runner = JobRunner(self, max_threads=2)
        self.panel = AiPanel()
        self.dock = QDockWidget("AI (research)", window)
        self.dock.setObjectName("aiDock")
        # In a scroll area: under the (tall) enhancement dock the window must still fit a
        # small screen, so the panel may not impose its full height.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.panel)
        self.dock.setWidget(scroll)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.status_label = QLabel("AI: not started")
        self.status_label.setObjectName("aiDeviceLabel")
        window.statusBar().addPermanentWidget(self.status_label)
        self.paths: dict[int, str] | None = None
        self.error: str | None = None
        self.device: str = ""
        self.versions: dict[str, str] = {}
        self.thresholds: dict[str, float] = {}  # task -> operating threshold (model cards)
        self.state = "not yet"  # "not yet", "checking", "ready", "disabled"
        self.results: dict[tuple, Classification] = {}
        self.heat = ViewCache(max_bytes=HEAT_CACHE_BYTES)  # (uid, models) -> MaskDisplay of the heatmap
        self.aggregates: dict[tuple, object] = {}
        self.explain_cache = ViewCache(max_bytes=EXPLAIN_CACHE_BYTES)
        self.explanations: dict[tuple, ExplainResult] = {}  # key -> final result (report)
        self.lime_updates: dict[str, list[int]] = {}
        self._pending: set[tuple] = set()  # ("classify", uid) / (layer, uid) / ("aggregate", ..)
        self._work: dict[str, str] = {}  # job name -> progress text, for the status bar
        self._job_keys: dict[str, tuple] = {}  # job name -> its pending mark
        # "Classify all studies": its action, progress label and queue.
        self.triage = aitriage.AiTriage(self)
        self.runner.dropped.connect(self._on_dropped)
        self.panel.cardsRequested.connect(self.show_model_cards)
        self.runner.busyChanged.connect(self._show_status)
        self.window.layers.explainChanged.connect(self._on_explain_changed)

    # ================================================================ model state
    @property
    def lane(self):
        return self.window.compute_lane

    @property
    def key(self) -> tuple:
        return models_key(self.paths)

    def start(self) -> None:
        """Find the models (file presence here; loading, in the lane) once."""
        if self.state != "not yet":
            return
        self.paths, self.error = resolve_models()
        if self.paths is None:
            self._disable(self.error)
            return
        self.state = "checking"
        self.panel.set_status("AI: loading the classifier models…")
        self.status_label.setText("AI: loading models…")
        paths = self.paths
        lane = self.lane

        def probe(ctx):
            if lane is not None and lane.available:
                try:
                    return lane.call(probe_models, paths, cancel=ctx.token)
                except LaneUnavailable:
                    pass
            return probe_models(paths)

        self.runner.submit(probe, name="AI model check", channels=("probe",),
                           on_done=self._on_probed,
                           on_error=lambda f: self._on_probed({"error": f.message}))

    def reload_models(self) -> bool:
        """The active classifier models changed: drop every cached AI result and
        explanation, load the new models and recompute what is on screen.

        Returns False (and keeps everything) when the active model files are the same.
        """
        if self.state == "not yet":
            return False  # nothing loaded yet: start() finds the active models
        paths, error = resolve_models()
        if paths is not None and models_key(paths) == self.key:
            return False
        if paths is None and self.state == "disabled" and error == self.error:
            return False
        self.triage.stop("stopped (the models changed)", reask=False)
        # Jobs of the old models still running are stale; they cache into the old dicts.
        self.runner.bump("current", "prefetch", "probe", "aggregate", "ai:lime", "ai:gradcam",
                         aitriage.CHANNEL)
        self.results, self.aggregates, self.explanations = {}, {}, {}
        self.heat = ViewCache(max_bytes=HEAT_CACHE_BYTES)
        self.explain_cache = ViewCache(max_bytes=EXPLAIN_CACHE_BYTES)
        self.lime_updates = {}
        self._pending, self._work, self._job_keys = set(), {}, {}
        self.paths, self.error, self.device, self.versions, self.thresholds = None, None, "", {}, {}
        self.state = "not yet"
        self.panel.set_disabled_reason(None)
        for layer in AI_LAYERS:
            self.window.layers.set_unavailable(layer, None)
        clear_layers(self.window, AI_LAYERS, "recomputing with the new model…")
        self.images_shown()  # starts the probe; its result classifies what is shown
        return True

    def _on_probed(self, info: dict) -> None:
        if info.get("error"):
            self._disable(info["error"])
            return
        self.state = "ready"
        self.device = info["device"]
        self.versions = dict(info["versions"])
        self.thresholds = dict(info.get("thresholds") or {})
        self.panel.set_disabled_reason(None)
        self.panel.set_status(f"Cascade ready on {self.device}")
        self.panel.status.setToolTip(models_text(self.versions, self.thresholds))
        self._show_status()
        self.images_shown()
        self.triage.models_ready()

    def _disable(self, reason: str) -> None:
        self.state = "disabled"
        self.error = reason
        self.panel.set_disabled_reason(reason)
        self.status_label.setText("AI: disabled")
        self.status_label.setToolTip(reason)
        for layer in AI_LAYERS:
            self.window.layers.set_unavailable(layer, f"AI disabled: {reason}")
        self.triage.models_disabled(reason)
        self.idle.emit()

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def is_idle(self) -> bool:
        """Nothing outstanding for the shown images (screenshots, tests)."""
        if self.state in ("not yet", "checking"):
            return False
        shown = set(self.window.viewer.shown_uids())
        return not any(p[1] in shown for p in self._pending)

    # ================================================================ what is shown
    def images_shown(self) -> None:
        """The window shows other images: cancel stale work, show or compute results."""
        self.runner.bump("current", "prefetch")
        # Triage jobs are on their own channel, untouched by the bump: keep their marks.
        self._pending = {p for p in self._pending
                         if p[0] == "aggregate" or (p[0] == "classify" and self.triage.owns(p[1]))}
        self._work.clear()
        if self.state == "not yet":
            self.start()
        self.refresh_panel()
        if not self.ready:
            return
        self._classify_wanted()
        self.request_layers()
        self._maybe_idle()

    def _classify_wanted(self) -> None:
        """Classify what the reader needs next: the shown images, the current study's
        others, the next image; each only when not cached and not being classified."""
        images = self.window.viewer.shown_images()
        current = self.window.current_ref()
        images.sort(key=lambda im: 0 if current is not None and im.uid == current.uid else 1)
        for image in images:
            self._classify(image.uid, image.pixels, image.is_monochrome1, image.ref,
                           channels=("current",), priority=1)
        study = self.window.current_study()
        if study is not None:  # the study's other images, for the breast and study calls
            shown = {im.uid for im in images}
            for ref in study.images:
                if ref.uid not in shown:
                    self._classify(ref.uid, None, None, ref, channels=("current",), priority=0)
        neighbour = self.window._neighbour()
        if neighbour is not None:
            self._classify(neighbour.uid, None, None, neighbour, channels=("prefetch",),
                           priority=-1, prefix="prefetch ")
        if study is not None:  # all cached already (e.g. by triage): aggregate it now
            self.maybe_aggregate(study)

    def forget_jobs(self, uids, *, reask: bool = True) -> None:
        """The classifications of ``uids`` were cancelled (triage stopped): drop their
        pending marks, and (``reask``) ask again for those the reader needs."""
        self._pending -= {("classify", uid) for uid in uids}
        if reask and self.ready and self.window.current_ref() is not None:
            self._classify_wanted()
        self.refresh_panel()
        self._show_status()

    # ================================================================ read by triage
    def result_for(self, uid: str) -> Classification | None:
        """The cached classification of ``uid`` with the active models (or None)."""
        return self.results.get((uid, self.key))

    def is_classifying(self, uid: str) -> bool:
        return ("classify", uid) in self._pending

    def classify_ref(self, ref, *, channels, priority: int, prefix: str = "") -> None:
        """Classify ``ref`` from its file (decoded in the lane) on ``channels``."""
        if self.ready:
            self._classify(ref.uid, None, None, ref, channels=channels, priority=priority,
                           prefix=prefix)

    def refresh_panel(self) -> None:
        """Show the cached result of the image that is current now (or say why not)."""
        ref = self.window.current_ref()
        if ref is None:
            return
        truth = ref.ground_truth
        if self.state == "disabled":
            self.panel.clear_result(None, ref.display_name, truth, "not classified: AI disabled")
            return
        result = self.results.get((ref.uid, self.key))
        if result is None:
            text = ("classifying…" if ("classify", ref.uid) in self._pending or self.ready
                    else "waiting for the models…")
            self.panel.clear_result(ref.uid, ref.display_name, truth, text)
        else:
            self.panel.show_result(result, ref.display_name, truth)
        self._refresh_study()

    def _refresh_study(self) -> None:
        study = self.window.current_study()
        if study is None or self.state == "disabled":
            return
        rows = []
        for ref in study.images:
            result = self.results.get((ref.uid, self.key))
            if result is None:
                result = "classifying…" if ("classify", ref.uid) in self._pending else "…"
            rows.append((ref.display_name, ref.laterality, result, ref.ground_truth))
        from mammoview.gui.panels.study_browser import study_title

        agg_key = self._aggregate_key(study)
        self.panel.show_study(study_title(study), rows, self.aggregates.get(agg_key))

    def _aggregate_key(self, study) -> tuple:
        return (tuple(ref.uid for ref in study.images), self.key)

    # ================================================================ classification
    def _classify(self, uid, pixels, monochrome1, ref, *, channels, priority, prefix="", for_heat=False):
        """Classify in the lane and cache the result and its heatmap. ``for_heat``: the
        result is cached but its heatmap was evicted; run again for the picture."""
        key = (uid, self.key)
        if (key in self.results and not for_heat) or ("classify", uid) in self._pending:
            return
        self._pending.add(("classify", uid))
        lane, paths = self.lane, self.paths
        name = f"{prefix}classify {ref.display_name}"
        results, heat = self.results, self.heat

        def job(ctx):
            source = pixels if pixels is not None else ref
            mono1 = bool(monochrome1) if pixels is not None else None
            result, arrays = run_in_lane(lane, _classify_source, (uid, source, mono1, paths), ctx,
                                         message=f"AI: classifying {ref.display_name}")
            # Cached here, on the worker, so a result that arrives after the user moved on
            # is kept for when they come back (it is still never shown on another image).
            if arrays:
                heat.put(key, heat_display(
                    "aiheat", uid, _shape_of(ref, pixels, arrays[0], result.heat_scale), arrays[0],
                    scale=result.heat_scale, status=_heat_status(result),
                    version=result.versions.get(STAGE_TASKS[1])))
            results[key] = result
            return result

        self._job_keys[name] = ("classify", uid)
        self.runner.submit(job, name=name, channels=channels, priority=priority,
                           on_done=lambda r: self._on_classified(r),
                           on_error=lambda f, u=uid, r=ref: self._on_classify_failed(u, f, r),
                           on_progress=lambda p, n=name: self._on_progress(n, p))

    def _on_classified(self, result: Classification) -> None:
        self._pending.discard(("classify", result.uid))
        self._job_keys = {n: k for n, k in self._job_keys.items() if k != ("classify", result.uid)}
        self.classified.emit(result.uid)
        self.refresh_panel()
        if result.uid in self.window.viewer.shown_uids() and "aiheat" in self._visible_ai():
            display = self.heat.get((result.uid, self.key))
            if display is not None:
                self.window.viewer.set_layer(display)
        self._update_layer_status("aiheat")
        self._aggregate_studies_of(result.uid)
        self._maybe_idle()
        self.triage.feed()

    def _on_classify_failed(self, uid: str, failure: JobFailure, ref=None) -> None:
        self._pending.discard(("classify", uid))
        self._job_keys = {n: k for n, k in self._job_keys.items() if k != ("classify", uid)}
        # Named by its file (a DICOM uid says nothing to the reader).
        source = getattr(ref, "path", None) or uid
        if isinstance(failure.error, ImageReadError):
            # The image itself cannot be read: listed as the viewer lists it (once, by its
            # path and reason), not as a fault of the classifier.
            self.window.problems.add_error(failure.error, source)
            reason = f"{COULD_NOT_OPEN}: {failure.error.reason}"
        else:
            self.window.problems.add_problem(source, f"AI classification failed: {failure.message}")
            reason = f"{FAILED}: {failure.message}"
        self.results[(uid, self.key)] = Classification(uid, reason=reason)
        self.refresh_panel()
        # A failed image counts as done: its study is aggregated over the others.
        self._aggregate_studies_of(uid)
        self._maybe_idle()
        self.triage.feed()

    def _on_dropped(self, name: str) -> None:
        # A cancelled or stale job: its pending mark goes (it is asked again when needed);
        # a result it cached meanwhile may be the current image's.
        self._pending.discard(self._job_keys.pop(name, None))
        self._work.pop(name, None)
        self.refresh_panel()
        self._show_status()
        self._maybe_idle()
        self.triage.feed()

    def _aggregate_studies_of(self, uid: str) -> None:
        for study in self.window.studies:
            if any(ref.uid == uid for ref in study.images):
                self.maybe_aggregate(study)

    def maybe_aggregate(self, study) -> None:
        """Aggregate ``study`` (per breast, per study) once all its images have a result."""
        if study is None or not self.ready:
            return
        key = self._aggregate_key(study)
        if key in self.aggregates or ("aggregate", key) in self._pending:
            return
        items = []
        for ref in study.images:
            result = self.results.get((ref.uid, self.key))
            if result is None:
                return
            items.append((ref.laterality, result))
        self._pending.add(("aggregate", key))
        lane = self.lane

        def job(ctx):
            payload, _ = run_in_lane(lane, aggregate_parts, (items,), ctx)
            return payload

        def done(aggregate) -> None:
            self._pending.discard(("aggregate", key))
            self.aggregates[key] = aggregate
            self._refresh_study()
            self.studyAggregated.emit()

        def failed(failure: JobFailure) -> None:
            self._pending.discard(("aggregate", key))
            # Named by its first file: a study's label is the patient's name.
            source = study.images[0].path if study.images else "AI"
            self.window.problems.add_problem(source, f"AI study aggregate failed: {failure.message}")

        # The current study's shows in the AI status label; the others' are triage work,
        # queued behind everything the reader waits for.
        current = study is self.window.current_study()
        name = "AI aggregate" if current else f"{aitriage.JOB_PREFIX}aggregate"
        self.runner.submit(job, name=name, channels=("aggregate",), on_done=done, on_error=failed,
                           priority=0 if current else aitriage.PRIORITY)

    # ================================================================ layers
    def _visible_ai(self) -> list[str]:
        return [n for n in self.window.layers.visible_layers() if n in AI_LAYERS]

    def on_layer_style(self, name: str) -> None:
        """An AI row of the Layers dock changed (the window already restyled the panels)."""
        if self.window.layers.style(name).visible:
            if self.state == "not yet":
                self.start()
            self.request_layers([name])
        else:
            self.runner.bump(f"ai:{name}")
            self._pending = {p for p in self._pending if p[0] != name}
            self._update_layer_status(name)
            self._maybe_idle()

    def _on_explain_changed(self) -> None:
        self.runner.bump("ai:lime", "ai:gradcam")
        self._pending = {p for p in self._pending if p[0] not in ("lime", "gradcam")}
        self.request_layers(["lime", "gradcam"])

    def explain_key(self, uid: str, layer: str) -> tuple:
        stage, samples = self.window.layers.explain_settings()
        if layer == "gradcam":
            samples = 0
        return (uid, layer, self.key, stage, samples, LIME_SEED)

    def request_layers(self, names=None) -> None:
        """Draw the visible AI layers of the shown images: cached, else computed."""
        if not self.ready:
            return
        names = [n for n in (names or AI_LAYERS) if n in self._visible_ai()]
        for name in names:
            for image in self.window.viewer.shown_images():
                if name == "aiheat":
                    display = self.heat.get((image.uid, self.key))
                    result = self.results.get((image.uid, self.key))
                    if display is not None:
                        self.window.viewer.set_layer(display)
                    elif result is not None and result.classified:  # evicted: computed again
                        self._classify(image.uid, image.pixels, image.is_monochrome1, image.ref,
                                       channels=("current",), priority=1, for_heat=True)
                    continue  # else it comes with the classification
                key = self.explain_key(image.uid, name)
                cached = self.explain_cache.get(key)
                if cached is not None:
                    self.window.viewer.set_layer(cached)
                    continue
                if (name, image.uid) in self._pending:
                    continue
                self._pending.add((name, image.uid))
                self._submit_explanation(name, image, key)
        # Every AI row, hidden ones too: a hidden row still says what it would show, and
        # must not keep the previous images' text (the hanging's four views, say).
        for name in AI_LAYERS:
            self._update_layer_status(name)

    def _submit_explanation(self, name: str, image, key: tuple) -> None:
        uid, stage, samples = image.uid, key[3], key[4]
        lane, paths = self.lane, self.paths
        shape = tuple(image.shape)
        args_pixels = (uid, image.pixels, image.is_monochrome1, paths, stage)
        job_name = f"{AI_LAYERS[name]} of {image.ref.display_name}"
        self.lime_updates.setdefault(uid, [])

        if name == "lime":
            stream = max(2 << 20, int(image.pixels.size) * 4 + (1 << 20))

            def job(ctx):
                labels_box: dict = {}

                def on_message(msg: ExplainResult) -> None:  # the waiting worker thread
                    if msg.labels is not None:
                        labels_box["labels"] = msg.labels
                    labels = labels_box.get("labels")
                    if labels is not None and msg.weights is not None:
                        display = lime_display(uid, shape, labels, msg)
                        ctx.report(Progress(msg.samples, msg.total, display.status, display))

                result, arrays = run_in_lane(lane, lime_parts, args_pixels + (samples, LIME_SEED), ctx,
                                             message=job_name, stream_bytes=stream,
                                             on_message=on_message)
                if result.reason:
                    return result, None
                return result, lime_display(uid, shape, arrays[0], result)
        else:
            def job(ctx):
                result, arrays = run_in_lane(lane, gradcam_parts, args_pixels, ctx, message=job_name)
                if result.reason:
                    return result, None
                return result, heat_display(
                    "gradcam", uid, shape, arrays[0], scale=result.scale, origin_work=result.box[:2],
                    status=(f"stage {stage} p({STAGE_TARGETS[stage]}) {result.prediction:.3f}: "
                            f"Grad-CAM over {result.samples} windows"),
                    version=result.versions.get(STAGE_TASKS[stage]))

        self._job_keys[job_name] = (name, uid)
        self.runner.submit(
            job, name=job_name, channels=("current", f"ai:{name}"),
            on_done=lambda out, k=key: self._on_explained(k, *out),
            on_error=lambda f, n=name, u=uid: self._on_explain_failed(n, u, f),
            on_progress=lambda p, n=job_name: self._on_explain_progress(n, p))

    def _on_explain_progress(self, job_name: str, progress: Progress) -> None:
        display = progress.partial
        if display is not None and display.uid in self.window.viewer.shown_uids():
            self.window.viewer.set_layer(display)
            self.window.layers.set_status(display.layer, display.status)
            if display.layer == "lime":
                samples = progress.done
                self.lime_updates.setdefault(display.uid, []).append(samples)
                self.limeUpdated.emit(display.uid, samples)
        self._on_progress(job_name, progress)

    def _on_explained(self, key: tuple, result: ExplainResult, display) -> None:
        uid, name = key[0], key[1]
        self._pending.discard((name, uid))
        self._work.pop(f"{AI_LAYERS[name]}", None)
        self.explanations[key] = result
        if display is None:
            self.window.layers.set_status(name, f"not classified: {result.reason}")
        else:
            self.explain_cache.put(key, display)
            if uid in self.window.viewer.shown_uids():
                self.window.viewer.set_layer(display)
                if name == "lime":
                    self.lime_updates.setdefault(uid, []).append(result.samples)
                    self.limeUpdated.emit(uid, result.samples)
            self._update_layer_status(name)
        self._show_status()
        self._maybe_idle()

    def _on_explain_failed(self, name: str, uid: str, failure: JobFailure) -> None:
        self._pending.discard((name, uid))
        self.window.problems.add_problem(uid, f"{AI_LAYERS[name]} failed: {failure.message}")
        self.window.layers.set_status(name, f"failed: {failure.message}")
        self._maybe_idle()

    def layer_text(self, name: str) -> str:
        """The status line of an AI layer for the shown images."""
        if self.state == "disabled":
            return f"AI disabled: {self.error}"
        images = self.window.viewer.shown_images()
        parts = []
        for image in images:
            if name == "aiheat":
                d = self.heat.get((image.uid, self.key))
                text = d.status if d is not None else (
                    "classifying…" if ("classify", image.uid) in self._pending else "")
                result = self.results.get((image.uid, self.key))
                if d is None and result is not None and not result.classified:
                    text = result.call()
            else:
                d = self.explain_cache.get(self.explain_key(image.uid, name))
                final = self.explanations.get(self.explain_key(image.uid, name))
                if d is not None:
                    text = d.status
                elif final is not None and final.reason:
                    text = f"not classified: {final.reason}"
                else:
                    text = "computing…" if (name, image.uid) in self._pending else ""
            if text:
                parts.append(text if len(images) == 1 else
                             f"{image.ref.slot or image.ref.display_name}: {text}")
        return "; ".join(parts)

    def _update_layer_status(self, name: str) -> None:
        if self.state == "disabled":
            return
        text = self.layer_text(name)
        if text or not self.window.layers.style(name).visible:
            self.window.layers.set_status(name, text)

    # ================================================================ status bar
    def _on_progress(self, name: str, progress: Progress) -> None:
        pct = int(100 * progress.done / progress.total) if progress.total else 0
        self._work[name] = f"{name} {pct}%"
        self._show_status()

    def _show_status(self, *_args) -> None:
        if self.state == "disabled":
            return
        device = self.device or "…"
        # Triage has its own label (aitriage): its jobs would crowd out the reader's.
        names = [n for n in self.runner.outstanding_names()
                 if n != "AI model check" and not n.startswith(aitriage.JOB_PREFIX)]
        if names:
            shown = [self._work.get(n, n) for n in names if not n.startswith("prefetch")]
            text = f"AI ({device}): " + (", ".join(shown[:2]) if shown else "prefetching")
            if len(shown) > 2:
                text += f" +{len(shown) - 2}"
        else:
            self._work.clear()
            text = f"AI: {device}" if self.ready else self.status_label.text()
        self.status_label.setText(text)
        self.status_label.setToolTip(text)

    def _maybe_idle(self) -> None:
        if self.is_idle():
            self.idle.emit()

    # ================================================================ model cards, report
    def show_model_cards(self):
        from mammoview.gui.aijobs import active_cards
        from mammoview.gui.dialogs.model_cards import ModelCardsDialog

        dialog = ModelCardsDialog(active_cards(), self.window)
        dialog.open()
        return dialog

    def model_versions(self) -> dict[str, str]:
        if self.state == "disabled":
            return {"Classifier cascade": f"disabled: {self.error}"}
        if not self.versions:
            return {"Classifier cascade": "not loaded"}
        return {f"Classifier {task}": f"model {version}" for task, version in sorted(self.versions.items())}

    def study_result(self, study):
        """The cascade's study result (its most suspicious breast) once every image of
        ``study`` is classified, else None. Read-only: the worklist's AI column."""
        if self.state != "ready":
            return None
        aggregate = self.aggregates.get(self._aggregate_key(study))
        return None if aggregate is None else aggregate.study

    def report_section(self):
        """The AI results of the reported study as plain report content (or None)."""
        from mammoview.report.content import AiReport

        study = self.window.current_study()
        if study is None:
            return None
        if self.state == "disabled":
            return AiReport(disabled=self.error or "AI disabled")
        rows = []
        for ref in study.images:
            r = self.results.get((ref.uid, self.key))
            if r is None:
                rows.append((ref.display_name, "-", "-", "not classified yet", "-",
                             ref.ground_truth or "not known", "-"))
                continue
            rows.append((ref.display_name, _fmt(r.p_abnormal), _fmt(r.p_malignant), r.call(),
                         "-" if r.suspicion is None else f"{r.suspicion}/10",
                         ref.ground_truth or "not known",
                         ", ".join(f"{k} {v}" for k, v in sorted(r.versions.items())) or "-"))
        aggregates = []
        agg = self.aggregates.get(self._aggregate_key(study))
        if agg is not None:
            for side, r in agg.breasts.items():
                aggregates.append((f"{'Right' if side == 'R' else 'Left' if side == 'L' else 'Unknown'} breast",
                                   r.describe()))
            truth = study.ground_truth
            aggregates.append(("Study", agg.study.describe()
                               + (f" (ground truth: {truth})" if truth else "")))
        explanations = []
        for name in self._visible_ai():
            text = self.layer_text(name)
            stage, samples = self.window.layers.explain_settings()
            setting = ("" if name == "aiheat" else f"stage {stage}"
                       + (f", {samples} samples, seed {LIME_SEED}" if name == "lime" else ""))
            explanations.append((AI_LAYERS[name], setting, text or "-"))
        return AiReport(rows=rows, aggregates=aggregates, explanations=explanations,
                        versions=dict(self.versions), device=self.device, thresholds=dict(self.thresholds))

    def shutdown(self) -> None:
        self.runner.cancel_all()
        self.runner.wait_for_done(3000)


def clear_layers(window, layers, status: str = "") -> None:
    """Take ``layers`` off the shown images (an old model's overlay must not linger)."""
    for image in window.viewer.shown_images():
        for layer in layers:
            window.viewer.set_layer(MaskDisplay(layer, image.uid, None, tuple(image.shape), status))


def _classify_source(uid, source, monochrome1, paths, *, cancel=None, report=None):
    """Child side: decode ``source`` (an ImageRef) when no pixels were shipped, classify."""
    if not isinstance(source, np.ndarray):
        from mammoview.io.loader import load_image

        image = load_image(source)
        source, monochrome1 = image.pixels, image.is_monochrome1
    return classify_parts(uid, source, monochrome1, paths, cancel=cancel, report=report)


def _shape_of(ref, pixels, heat, scale) -> tuple[int, int]:
    if pixels is not None:
        return tuple(pixels.shape)
    if ref.rows and ref.cols:
        return (int(ref.rows), int(ref.cols))
    return (int(round(heat.shape[0] / scale)), int(round(heat.shape[1] / scale)))


def _heat_status(result: Classification) -> str:
    return (f"stage 1 window probabilities over {result.windows} windows "
            f"(p(abnormal) {result.p_abnormal:.3f})") if result.classified else result.call()


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"
