"""A model card as a reader needs it: the honest figures first, every field still there.

A card (:class:`mammoview.nets.store.ModelCard`) is written for reproducibility, so its
JSON holds the training history, split id lists and preprocessing beside the figures
that matter. Shown as sorted JSON the patch-level history comes first and the
image-level evaluation on patients never trained on is cut off. Here a card becomes
sections in reading order:

1. the model: headline figure, task, version, architecture, data, split (counts of images
   and patients, not id lists), seed, start weights, command, intended use;
2. the evaluation on patients never trained on: image level for the classifiers (AUC with
   its 95 % interval, the calls at the stated threshold and how it was chosen, confusion
   matrix, calibration), then patch level, labelled as such; for other tasks the
   validation figures beside their baselines;
3. what the papers report, and why our figures differ;
4. training (best epoch, history), notes, preprocessing, provenance.

Any metric this module does not know is still shown, generically, so a new card field
is never silently dropped. No Qt: the Model cards dialog and the training results render
the same sections (:func:`card_html`); tests read :func:`card_text`.

Examples
--------
>>> card = {"task": "segmentation", "architecture": "unet",
...         "metrics": {"validation": {"dice": 0.25}, "otsu_baseline": {"dice": 0.11}}}
>>> headline(card)
'Dice 0.250 (Otsu baseline 0.110)'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from mammoview import RESEARCH_NOTICE
from mammoview.io.mias import mias_number, mias_patient
from mammoview.nets.registry import TASK_TITLES

DASH = "–"

#: Key fragments written in capitals or with their own spelling in labels.
_WORDS = {"auc": "AUC", "iou": "IoU", "psnr": "PSNR", "ssim": "SSIM", "mcc": "MCC", "f1": "F1", "dice": "Dice",
          "ece": "ECE", "ci95": "95 % CI", "cbis": "CBIS", "ddsm": "DDSM", "otsu": "Otsu", "val": "validation"}
#: Metrics read in decibels, shown with two decimals.
_DECIBELS = {"psnr", "bicubic_psnr"}
#: The card's fields placed by this module; any other top-level field is listed under "File".
_PLACED = {"task", "architecture", "arch_params", "version", "sha256", "data", "split", "seed", "epochs",
           "start", "command", "intended_use", "metrics", "notes", "preprocessing", "classes", "created",
           "mammoview_version", "path", "origin", "error"}
#: Row labels drawn in bold: the figures a reader must not miss on the way down the card.
_EMPHASISED = {"Headline", "Image-level AUC"}
#: Keys of an image- or patch-level block that :func:`_binary_section` lays out itself.
_BINARY_KEYS = {"what", "n", "positives", "negatives", "auc", "auc_ci95", "auc_ci_method", "threshold",
                "threshold_chosen", "confusion", "sensitivity", "specificity", "precision", "f1", "accuracy",
                "mcc", "calibration"}


@dataclass(frozen=True)
class Table:
    """A small table: a header row, then rows of cell text."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """One titled part of a card: a lead sentence, label/value rows, tables, paragraphs."""

    title: str
    lead: str = ""
    rows: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = ()
    paragraphs: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()


# --------------------------------------------------------------------------- formatting


def format_value(value: Any, key: str = "", *, figure: bool = True) -> str:
    """A value as short text: figures with 3 decimals (2 for dB) so a column lines up,
    settings (``figure=False``) as written (0.5, not 0.500); lists joined.

    >>> format_value(0.634375), format_value(44.7968, "psnr"), format_value(None), format_value([1, 2.5])
    ('0.634', '44.80', '–', '1, 2.500')
    >>> format_value({"zoom": 0.15, "names": ["flip"]}, figure=False)
    'zoom: 0.15; names: flip'
    """
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if not figure:
            return f"{value:.6g}"
        if key in _DECIBELS:
            return f"{value:.2f}"
        # Small losses would read 0.000 at three decimals; three significant digits instead.
        return f"{value:.3f}" if value == 0 or abs(value) >= 0.01 else f"{value:.3g}"
    if isinstance(value, Mapping):
        return "; ".join(f"{label(k)}: {format_value(v, str(k), figure=figure)}" for k, v in value.items()) or DASH
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v, key, figure=figure) for v in value) or DASH
    return str(value)


def label(key: str) -> str:
    """A card key as a label: ``"normal_images_marked"`` -> ``"normal images marked"``.

    >>> label("patch_auc"), label("auc_ci95"), label("cbis_ddsm_box_check")
    ('patch AUC', 'AUC 95 % CI', 'CBIS DDSM box check')
    """
    return " ".join(_WORDS.get(w.lower(), w) for w in str(key).split("_"))


def _interval(ci: Any) -> str:
    if isinstance(ci, Sequence) and not isinstance(ci, str) and len(ci) >= 2 and all(_is_number(v) for v in ci[:2]):
        return f"{format_value(float(ci[0]))}–{format_value(float(ci[1]))}"
    return ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ratio(value: Any, part: Any, whole: Any, what: str) -> str:
    """"0.800 (16 of 20 abnormal)": a rate with the counts behind it, so a small n shows."""
    text = format_value(value)
    if _is_number(part) and _is_number(whole):
        text += f" ({int(part)} of {int(whole)} {what})"
    return text


def _classes(card: Mapping) -> tuple[str, str]:
    classes = card.get("classes") or []
    if isinstance(classes, Sequence) and len(classes) == 2:
        return str(classes[0]), str(classes[1])
    return "negative", "positive"


# --------------------------------------------------------------------------- headline


def headline(card: Mapping) -> str:
    """The one figure a reader should see first, as text ("" when the card has none).

    Classifiers: the image-level AUC on patients never trained on, with its 95 % interval
    (the patch-level AUC only when there is no image-level one, and then says so). Other
    tasks: their first validation figure beside its baseline.
    """
    metrics = card.get("metrics")
    if not isinstance(metrics, Mapping):
        return ""
    for key, level in (("image_level", "image-level"), ("patch_level", "patch-level")):
        block = metrics.get(key)
        if isinstance(block, Mapping) and _is_number(block.get("auc")):
            text = f"{level} AUC {format_value(float(block['auc']))}"
            ci = _interval(block.get("auc_ci95"))
            if ci:
                text += f" (95 % CI {ci})"
            if _is_number(block.get("n")):
                text += f", {int(block['n'])} validation {'images' if key == 'image_level' else 'windows'}"
            return text
    validation = metrics.get("validation")
    if not isinstance(validation, Mapping):
        return ""
    baselines = _baselines(metrics)
    for key, value in validation.items():
        if not _is_number(value):
            continue
        text = f"{label(key)} {format_value(value, key)}"
        if key in _DECIBELS:
            text += " dB"
        for name, base in baselines:
            if _is_number(base.get(key)):
                text += f" ({name} baseline {format_value(base[key], key)}{' dB' if key in _DECIBELS else ''})"
                break
        return text
    return ""


# --------------------------------------------------------------------------- sections


def card_sections(card: Mapping[str, Any]) -> list[Section]:
    """A card dict (as read from its JSON) as sections in reading order.

    Never raises on a missing or oddly typed field: what is absent is left out, and an
    evaluation that is absent says so.
    """
    sections = [_model_section(card)]
    metrics = card.get("metrics")
    metrics = metrics if isinstance(metrics, Mapping) else {}
    if card.get("error") and not metrics:
        return sections  # no model, or an unreadable card: the status says which
    placed: set[str] = set()
    if "image_level" in metrics or "patch_level" in metrics or str(card.get("task", "")).startswith("classifier"):
        sections += _classifier_sections(card, metrics, placed)
    else:
        sections += _validation_sections(metrics, placed)
    sections += _papers_sections(metrics, placed)
    sections += _training_sections(card, metrics, placed)
    rest = {k: v for k, v in metrics.items() if k not in placed}
    if rest:
        # A card with only flat figures (an older or hand-written card) still shows them.
        title = "Other metrics" if placed else "Metrics"
        sections.append(_generic_section(title, rest))
    sections += _notes_sections(card)
    sections += _preprocessing_sections(card)
    sections.append(_provenance_section(card))
    return [s for s in sections if s.rows or s.tables or s.paragraphs or s.bullets or s.lead]


def _model_section(card: Mapping) -> Section:
    rows: list[tuple[str, str]] = []
    if card.get("error"):
        rows.append(("Status", str(card["error"])))
    first = headline(card)
    if first:
        rows.append(("Headline", first))
    rows.append(("Task", _task_text(card)))
    if card.get("version"):
        rows.append(("Version", str(card["version"])))
    if card.get("architecture"):
        rows.append(("Architecture", _architecture_text(card)))
    if card.get("classes"):
        rows.append(("Classes", format_value(card["classes"])))
    rows += _data_rows(card.get("data"))
    rows += _split_rows(card.get("split"))
    for key, title in (("seed", "Seed"), ("epochs", "Epochs"), ("start", "Start weights"), ("command", "Command")):
        if card.get(key) not in (None, ""):
            rows.append((title, format_value(card[key], figure=False)))
    rows.append(("Intended use", str(card.get("intended_use") or RESEARCH_NOTICE)))
    return Section("Model", rows=tuple(rows))


def _task_text(card: Mapping) -> str:
    task = str(card.get("task") or "?")
    title = TASK_TITLES.get(task)
    return f"{task} — {title}" if title else task


def _architecture_text(card: Mapping) -> str:
    text = str(card["architecture"])
    params = card.get("arch_params")
    if isinstance(params, Mapping) and params:
        preset = params.get("arch")
        rest = ", ".join(f"{k} {format_value(v, figure=False)}" for k, v in params.items() if k != "arch")
        text += " (" + "; ".join(p for p in (str(preset) if preset else "", rest) if p) + ")"
    return text


def _data_rows(data: Any) -> list[tuple[str, str]]:
    if not isinstance(data, Mapping) or not data:
        return [("Data", format_value(data))] if data else []
    kind = data.get("kind") or data.get("dataset") or "data"
    text = str(kind)
    if data.get("path"):
        text += f" at {data['path']}"
    if data.get("info"):
        text += f" ({data['info']})"
    counts = [f"{data['images']} images" if _is_number(data.get("images")) else "",
              f"{data['used']} used" if _is_number(data.get("used")) else ""]
    if any(counts):
        text += ": " + ", ".join(c for c in counts if c)
    rows = [("Data", text)]
    skipped = data.get("skipped")
    if isinstance(skipped, Mapping):
        for reason, ids in skipped.items():
            count = len(ids) if isinstance(ids, Sequence) and not isinstance(ids, str) else None
            rows.append(("Skipped", f"{count} ({reason}): {format_value(ids)}" if count is not None
                         else f"{reason}: {format_value(ids)}"))
    shown = {"kind", "dataset", "path", "info", "images", "used", "skipped"}
    rows += [(f"Data {label(k)}", format_value(v, k, figure=False)) for k, v in data.items() if k not in shown]
    return rows


def _split_rows(split: Any) -> list[tuple[str, str]]:
    if not isinstance(split, Mapping) or not split:
        return [("Split", format_value(split))] if split else []
    method = str(split.get("method") or "method not recorded")
    if _is_number(split.get("val_fraction")):
        method += f"; validation fraction {format_value(split['val_fraction'], figure=False)}"
    rows = [("Split", method)]
    for key, title in (("train", "Training"), ("val", "Validation")):
        if key in split:
            text = _count_text(split[key])
            if key == "val":
                text = (text[:-1] + " never trained on)") if text.endswith("patients)") else \
                    text + ", of patients never trained on"
            rows.append((title, text))
    shown = {"method", "val_fraction", "train", "val", "seed"}
    rows += [(f"Split {label(k)}", _count_text(v) if isinstance(v, list) else format_value(v, k, figure=False))
             for k, v in split.items() if k not in shown]
    return rows


def _count_text(ids: Any) -> str:
    """"206 images (103 patients)": the size of a split part rather than its id list."""
    if _is_number(ids):
        return f"{int(ids)} images"
    if not isinstance(ids, Sequence) or isinstance(ids, str):
        return format_value(ids)
    text = f"{len(ids)} images"
    patients = _mias_patients(ids)
    if patients is not None:
        text += f" ({patients} patients)"
    return text


def _mias_patients(ids: Sequence) -> int | None:
    """Patients behind MIAS ids (``mdb(2k-1)``, ``mdb(2k)`` are patient k); None for other data,
    whose patients the card does not record."""
    numbers = [mias_number(str(i)) for i in ids]
    if not numbers or any(n is None or n < 1 for n in numbers):
        return None
    return len({mias_patient(n) for n in numbers})


# --------------------------------------------------------------------------- classifiers


def _classifier_sections(card: Mapping, metrics: Mapping, placed: set[str]) -> list[Section]:
    negative, positive = _classes(card)
    sections = []
    image = metrics.get("image_level")
    if isinstance(image, Mapping):
        placed.add("image_level")
        sections.append(_binary_section(image, "Evaluation on patients never trained on: image level",
                                        "Image-level", "images", negative, positive))
    else:
        sections.append(Section("Evaluation on patients never trained on: image level",
                                lead="This card has no image-level evaluation. Any figures below score "
                                     "windows (patches), not whole images: they are not how the model "
                                     "does on a mammogram."))
    patch = metrics.get("patch_level")
    if isinstance(patch, Mapping):
        placed.add("patch_level")
        sections.append(_binary_section(patch, "Patch level (windows, not whole images)", "Patch-level",
                                        "windows", negative, positive))
    return sections


def _binary_section(block: Mapping, title: str, level: str, unit: str, negative: str, positive: str) -> Section:
    rows: list[tuple[str, str]] = []
    if "auc" in block:
        text = format_value(block["auc"])
        ci = _interval(block.get("auc_ci95"))
        if ci:
            text += f" (95 % CI {ci})"
        rows.append((f"{level} AUC", text))
    if block.get("auc_ci_method"):
        rows.append(("Interval", str(block["auc_ci_method"])))
    if "n" in block:
        counts = [f"{block[k]} {name}" for k, name in (("positives", positive), ("negatives", negative))
                  if _is_number(block.get(k))]
        rows.append((f"Validation {unit}", format_value(block["n"]) + (f" ({', '.join(counts)})" if counts else "")))
    if "threshold" in block:
        rows.append(("Threshold", format_value(block["threshold"])))
    if block.get("threshold_chosen"):
        rows.append(("Threshold chosen by", str(block["threshold_chosen"])))
    confusion = block.get("confusion") if isinstance(block.get("confusion"), Mapping) else {}
    tp, fp, tn, fn = (confusion.get(k) for k in ("tp", "fp", "tn", "fn"))
    both = lambda a, b: a + b if _is_number(a) and _is_number(b) else None  # noqa: E731
    for key, name, part, whole, what in (
        ("sensitivity", "Sensitivity", tp, both(tp, fn), positive),
        ("specificity", "Specificity", tn, both(tn, fp), negative),
        ("precision", "Precision", tp, both(tp, fp), f"called {positive}"),
        ("f1", "F1", None, None, ""),
        ("mcc", "MCC", None, None, ""),
        ("accuracy", "Accuracy", both(tp, tn), both(both(tp, tn), both(fp, fn)), unit),
    ):
        if key in block:
            rows.append((name, _ratio(block[key], part, whole, what)))
    tables = []
    if confusion:
        tables.append(Table(("truth \\ called", positive, negative),
                            ((positive, format_value(tp), format_value(fn)),
                             (negative, format_value(fp), format_value(tn))),
                            caption=f"Confusion matrix ({unit}, at the threshold above)"))
    calibration = block.get("calibration")
    if isinstance(calibration, Mapping):
        for key, name in (("brier", "Brier score"), ("ece", "ECE (expected calibration error)")):
            if key in calibration:
                rows.append((name, format_value(calibration[key])))
        bins = calibration.get("bins")
        if isinstance(bins, Sequence) and bins:
            tables.append(_bins_table(bins, unit, positive))
        rows += [(f"Calibration {label(k)}", format_value(v, k)) for k, v in calibration.items()
                 if k not in ("brier", "ece", "bins")]
    # Anything else (the per-image scores, a future field) after the tables, so the
    # confusion matrix stays beside the rates it explains.
    extras = tuple(f"Score of each validation {unit[:-1]}: {_pairs_text(v)}" if k == "scores" and _is_scores(v)
                   else f"{label(k)}: {format_value(v, k)}" for k, v in block.items() if k not in _BINARY_KEYS)
    return Section(title, lead=str(block.get("what") or ""), rows=tuple(rows), tables=tuple(tables),
                   paragraphs=extras)


def _is_scores(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(_is_number(v) for v in value.values())


def _pairs_text(scores: Mapping) -> str:
    """"mdb015 0.814, mdb016 0.656": per-image scores, readable without a 50-row table."""
    return ", ".join(f"{k} {format_value(v)}" for k, v in scores.items())


def _bins_table(bins: Sequence, unit: str, positive: str) -> Table:
    rows = []
    for b in bins:
        if not isinstance(b, Mapping):
            continue
        low, high = b.get("low"), b.get("high")
        span = f"{low:.1f}–{high:.1f}" if _is_number(low) and _is_number(high) else DASH
        rows.append((span, format_value(b.get("count")), format_value(b.get("mean_predicted")),
                     format_value(b.get("observed_rate"))))
    return Table(("predicted p", unit, "mean predicted", f"observed {positive} rate"), tuple(rows),
                 caption="Calibration by predicted probability")


# --------------------------------------------------------------------------- other tasks


def _baselines(metrics: Mapping) -> list[tuple[str, Mapping]]:
    """("Otsu", {...}) for every ``<name>_baseline`` block of figures."""
    return [(label(k[: -len("_baseline")]), v) for k, v in metrics.items()
            if k.endswith("_baseline") and isinstance(v, Mapping)]


def _validation_sections(metrics: Mapping, placed: set[str]) -> list[Section]:
    validation = metrics.get("validation")
    baselines = _baselines(metrics)
    if not isinstance(validation, Mapping):
        return [Section("Evaluation on patients never trained on", lead="This card has no validation figures.")]
    placed.add("validation")
    placed.update(k for k, v in metrics.items() if k.endswith("_baseline") and isinstance(v, Mapping))
    header = ("figure", "this model") + tuple(f"{name} baseline" for name, _ in baselines)
    keys = list(validation) + [k for _, b in baselines for k in b if k not in validation and _is_number(b[k])]
    rows = []
    for key in dict.fromkeys(keys):
        unit = " (dB)" if key in _DECIBELS else ""
        rows.append((label(key) + unit, format_value(validation.get(key), key))
                    + tuple(format_value(b.get(key), key) for _, b in baselines))
    notes = [f"{name} baseline {label(k)}: {format_value(v)}" for name, b in baselines for k, v in b.items()
             if not _is_number(v) and k not in validation]
    return [Section("Evaluation on patients never trained on",
                    lead="Validation images of patients never trained on, after the last epoch.",
                    tables=(Table(header, tuple(rows)),), bullets=tuple(notes))]


def _generic_section(title: str, values: Mapping) -> Section:
    """Any block of figures, laid out without knowing it: scalars as rows, lists of
    records as tables, nested blocks as their own rows."""
    rows: list[tuple[str, str]] = []
    tables: list[Table] = []
    lead = ""
    for key, value in values.items():
        if key == "what" and isinstance(value, str):
            lead = value
        elif _is_records(value):
            tables.append(_records_table(value, label(key)))
        elif isinstance(value, Mapping):
            inner = _generic_section(label(key), value)
            if inner.lead:
                rows.append((label(key), inner.lead))
            rows += [(f"{label(key)}: {k}", v) for k, v in inner.rows]
            tables += inner.tables
        else:
            rows.append((label(key), format_value(value, key)))
    return Section(title, lead=lead, rows=tuple(rows), tables=tuple(tables))


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _records_table(records: list, caption: str = "") -> Table:
    columns = list(dict.fromkeys(k for r in records for k in r))
    rows = tuple(tuple(format_value(r.get(c), c) for c in columns) for r in records)
    return Table(tuple(label(c) for c in columns), rows, caption=caption)


# --------------------------------------------------------------------------- papers, training, notes


def _papers_sections(metrics: Mapping, placed: set[str]) -> list[Section]:
    papers = None
    for key in ("reported_by_papers", "papers"):
        if key in metrics:
            placed.add(key)
            papers = metrics[key]
            break
    why = metrics.get("why_ours_differ")
    if why is not None:
        placed.add("why_ours_differ")
    if papers is None and why is None:
        return []
    tables, bullets = [], []
    if isinstance(papers, Mapping):
        tables.append(Table(("paper", "what it reports"), tuple((str(k), format_value(v)) for k, v in papers.items())))
    elif _is_records(papers):
        tables.append(_records_table(papers))
    elif isinstance(papers, list):
        bullets = [format_value(p) for p in papers]
    elif papers is not None:
        bullets = [str(papers)]
    paragraphs = (f"Why ours differ: {format_value(why)}",) if why is not None else ()
    return [Section("What the papers report (on their own splits)", tables=tuple(tables),
                    bullets=tuple(bullets), paragraphs=paragraphs)]


def _training_sections(card: Mapping, metrics: Mapping, placed: set[str]) -> list[Section]:
    rows: list[tuple[str, str]] = []
    tables = []
    best = metrics.get("best_epoch_by_validation")
    if isinstance(best, Mapping):
        placed.add("best_epoch_by_validation")
        figures = ", ".join(f"{label(k)} {format_value(v, k)}" for k, v in best.items() if k not in ("epoch", "note"))
        text = f"epoch {format_value(best.get('epoch'))}" + (f" ({figures})" if figures else "")
        if best.get("note"):
            text += f"; {best['note']}"
        rows.append(("Best epoch by validation", text))
    if isinstance(metrics.get("loss"), str):
        placed.add("loss")
        rows.append(("Loss", metrics["loss"]))
    if "image_level" in metrics and isinstance(metrics.get("validation"), Mapping):
        # For the classifiers "validation" is the last epoch's patch figures, already in the
        # patch-level block and in the history's last row.
        placed.add("validation")
        rows.append(("Last epoch (patch level)", format_value(metrics["validation"])))
    history = metrics.get("history")
    if _is_records(history):
        placed.add("history")
        tables.append(_records_table(history, "Validation after each epoch"))
    return [Section("Training", rows=tuple(rows), tables=tuple(tables))]


def _notes_sections(card: Mapping) -> list[Section]:
    notes = card.get("notes")
    if isinstance(notes, str):
        notes = [notes]
    bullets = [str(n) for n in notes] if isinstance(notes, list) else []
    prep = card.get("preprocessing")
    if isinstance(prep, Mapping) and isinstance(prep.get("split_note"), str):
        bullets.append(prep["split_note"])
    return [Section("Notes", bullets=tuple(bullets))]


def _preprocessing_sections(card: Mapping) -> list[Section]:
    prep = card.get("preprocessing")
    if not isinstance(prep, Mapping) or not prep:
        return []
    # The threshold's choice is in the image-level block; the split note among the notes.
    shown = {k: v for k, v in prep.items() if k != "split_note"
             and not (k == "threshold_chosen" and isinstance((card.get("metrics") or {}).get("image_level"), Mapping))}
    rows = tuple((label(k), format_value(v, k, figure=False)) for k, v in shown.items())
    return [Section("Preprocessing", rows=rows)]


def _provenance_section(card: Mapping) -> Section:
    rows = [(title, str(card[key])) for key, title in
            (("created", "Created"), ("mammoview_version", "MammoView version"), ("sha256", "Weights SHA-256"),
             ("origin", "Installed as"), ("path", "File")) if card.get(key)]
    rows += [(label(k), format_value(v, k, figure=False)) for k, v in card.items() if k not in _PLACED]
    return Section("File", rows=tuple(rows))


# --------------------------------------------------------------------------- rendering


def card_text(card: Mapping[str, Any]) -> str:
    """The sections as plain text (titles, "label: value" lines, tables with " | ")."""
    return sections_text(card_sections(card))


def sections_text(sections: Sequence[Section]) -> str:
    lines: list[str] = []
    for s in sections:
        lines += [s.title.upper()] + ([s.lead] if s.lead else [])
        lines += [f"{k}: {v}" for k, v in s.rows]
        for t in s.tables:
            lines += ([t.caption] if t.caption else []) + [" | ".join(t.header)]
            lines += [" | ".join(r) for r in t.rows]
        lines += list(s.paragraphs) + [f"- {b}" for b in s.bullets] + [""]
    return "\n".join(lines)


def card_html(card: Mapping[str, Any]) -> str:
    """The sections as the rich-text subset a Qt text view renders (no Qt needed here)."""
    return sections_html(card_sections(card))


def sections_html(sections: Sequence[Section]) -> str:
    parts = []
    for s in sections:
        parts.append(f"<h3 style='margin-top:14px; margin-bottom:4px'>{escape(s.title)}</h3>")
        if s.lead:
            parts.append(f"<p style='margin-top:0'><i>{escape(s.lead)}</i></p>")
        if s.rows:
            parts.append("<table cellspacing='0' cellpadding='2'>" + "".join(
                f"<tr><td valign='top' style='padding-right:12px' width='190'><b>{escape(k)}</b></td>"
                f"<td>{_bold(escape(v)) if k in _EMPHASISED else escape(v)}</td></tr>" for k, v in s.rows) + "</table>")
        for t in s.tables:
            parts.append(_table_html(t))
        parts += [f"<p>{escape(p)}</p>" for p in s.paragraphs]
        if s.bullets:
            parts.append("<ul style='margin-top:2px'>" + "".join(f"<li>{escape(b)}</li>" for b in s.bullets) + "</ul>")
    return "".join(parts)


def _bold(html: str) -> str:
    return f"<b>{html}</b>"


def _table_html(table: Table) -> str:
    caption = f"<p style='margin-top:8px; margin-bottom:2px'>{escape(table.caption)}</p>" if table.caption else ""
    head = "".join(f"<th align='left'>{escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(f"<td align='{_align(c)}'>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in table.rows)
    return (caption + "<table border='1' cellspacing='0' cellpadding='4' style='border-collapse:collapse'>"
            f"<tr>{head}</tr>{body}</table>")


def _align(cell: str) -> str:
    # Figures right-aligned so their decimals line up down a column.
    try:
        float(cell)
    except ValueError:
        return "left"
    return "right"


def card_json(card: Mapping[str, Any]) -> str:
    """The whole card as indented JSON, nothing cut: the secondary, exact view."""
    return json.dumps(card, indent=2, ensure_ascii=False, default=str)
