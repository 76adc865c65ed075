"""The ``mammoview`` command: the window by default, headless subcommands otherwise.

``mammoview [PATH...] [--demo] [--screenshot PNG]`` opens the window (Qt is imported only
then). ``mammoview enhance``, ``mammoview report`` and ``mammoview info`` run without Qt
and without a display, calling the same core functions as the window.

A user error prints one line, ``mammoview: error: <what>``, on stderr and returns 2 for a
usage mistake (bad option, bad parameter value) or 1 for a failure (missing or unreadable
file, export failed); never a traceback. A batch command that keeps going past a bad input
and still writes its output, ``classify``, returns 3 when some inputs could not be handled
(each one is named on stderr and in the output), so a script can tell that from success.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

from mammoview import RESEARCH_NOTICE, __version__
from mammoview.core.errors import MammoViewError
from mammoview.core.progress import Progress

PROG = "mammoview"
SUBCOMMANDS = ("enhance", "report", "info", "train", "evaluate", "segment", "classify", "readings", "models")
ENHANCE_VIEWS = ("wavelet", "clahe", "adaptive-median", "superres")
REPORT_VIEWS = ("original", *ENHANCE_VIEWS)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class UsageError(Exception):
    """A mistake on the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status.

    Parameters
    ----------
    argv : sequence of str or None
        Arguments without the program name; ``None`` for ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 for a failure, 2 for a usage mistake, 3 for an output written
        without some of the inputs (``classify``).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            return _run_subcommand(args[0], args[1:])
        return _run_gui(args)
    except UsageError as err:
        return _fail(str(err), EXIT_USAGE)
    except SystemExit as exc:  # --help and --version end through argparse's exit()
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message: str, status: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _run_gui(args: list[str]) -> int:
    parser = _Parser(
        prog=PROG,
        description=f"MammoView mammogram review workstation. {RESEARCH_NOTICE}",
        epilog=(
            "headless commands (no window): "
            + ", ".join(f"'mammoview {name}'" for name in SUBCOMMANDS)
            + "; add --help to any of them"
        ),
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to open")
    parser.add_argument("--demo", action="store_true", help="open the synthetic demo studies")
    parser.add_argument(
        "--screenshot", metavar="PNG",
        help="save a screenshot of the window to PNG once the first study is shown, and quit "
             "(after MAMMOVIEW_SCREENSHOT_TIMEOUT_S, default 120, it saves what is shown and exits 1)"
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    ns = parser.parse_args(args)
    problem = display_problem()
    if problem:
        return _fail(problem, EXIT_FAILURE)
    # Imported here so the headless commands never load Qt.
    from mammoview.gui.app import run

    return int(run(ns.paths, demo=ns.demo, screenshot=ns.screenshot) or 0)


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """Why the window cannot open here, or "" when it can.

    On Linux without X11 or Wayland, Qt aborts the process with a multi-line message
    and no exit status worth reading; saying so up front is kinder.
    """
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return ""
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"):
        return ""
    return (
        "no display to open the window on (DISPLAY is not set); the headless commands ("
        + ", ".join(SUBCOMMANDS)
        + ") work without one"
    )


def _run_subcommand(name: str, args: list[str]) -> int:
    runners = {"enhance": _cmd_enhance, "report": _cmd_report, "info": _cmd_info, "train": _cmd_train,
               "evaluate": _cmd_evaluate, "segment": _cmd_segment, "classify": _cmd_classify, "readings": _cmd_readings,
               "models": _cmd_models}
    try:
        return runners[name](args)
    except MammoViewError as err:
        return _fail(str(err), EXIT_FAILURE)
    except OSError as err:
        where = Path(err.filename).name + ": " if err.filename else ""
        return _fail(f"{where}{err.strerror or err}", EXIT_FAILURE)
    except ValueError as err:
        return _fail(str(err), EXIT_FAILURE)


# --------------------------------------------------------------------------- progress


class ProgressLine:
    """A one-line progress display on a terminal; silent when the stream is not a TTY."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = False

    def __call__(self, event: Progress) -> None:
        if not self.enabled:
            return
        percent = round(100 * event.fraction)
        message = (event.message or "")[:50]
        self.stream.write(f"\r{percent:3d}% [{event.done}/{event.total}] {message:<50}")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


# --------------------------------------------------------------------------- shared steps


def _check_exist(paths: Sequence[str]) -> None:
    for p in paths:
        if not Path(p).exists():
            raise MammoViewError(f"{Path(p).name or p}: file not found")


def _check_output_folder(out: Path) -> None:
    """Fail before the long work when the output cannot be written at all."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        from mammoview.core.errors import ExportError

        raise ExportError(f"{out.name}: cannot write: folder {folder} does not exist")


def _discover(paths: Sequence[str], progress: ProgressLine | None = None) -> tuple[list, list[str]]:
    """Studies and problem lines for ``paths`` (never raises for a bad file)."""
    from mammoview.io.discovery import discover

    found = discover(list(paths), progress=progress)
    return list(found.studies), [problem_text(e) for e in found.errors]


def problem_text(problem: Any) -> str:
    """One line for a discovery problem (an exception, or a (path, reason) pair)."""
    if isinstance(problem, tuple) and len(problem) == 2:
        path, reason = problem
        return f"{Path(str(path)).name}: {reason}"
    return str(problem)


# --------------------------------------------------------------------------- enhance

# Which command-line options apply to which view, and the params field each one sets.
_ENHANCE_OPTIONS = {
    "wavelet": ("wavelet", "levels", "gain"),
    "clahe": ("clip_limit", "tiles"),
    "adaptive-median": ("max_window",),
    "superres": (),
}


def _enhance_parser() -> _Parser:
    parser = _Parser(
        prog=f"{PROG} enhance",
        description=(
            "Enhance one image and save the result as a greyscale PNG: the enhancement's "
            "full [0, 1] output, 16-bit by default, bright = dense (MONOCHROME1 is "
            "flipped first), no window applied. Super-resolution doubles the size."
        ),
    )
    parser.add_argument("path", metavar="PATH", help="image file (DICOM, PGM, PNG, TIFF, JPEG)")
    parser.add_argument("--view", required=True, choices=ENHANCE_VIEWS, help="enhancement")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG to write")
    parser.add_argument("--bits", type=int, choices=(8, 16), default=16, help="PNG bit depth")
    group = parser.add_argument_group("parameters (defaults as in the window)")
    group.add_argument("--wavelet", help="wavelet view: Daubechies wavelet, db1..db8 (db4)")
    group.add_argument("--levels", type=int, help="wavelet view: decomposition levels (4)")
    group.add_argument("--gain", type=float, help="wavelet view: detail gain (2)")
    group.add_argument("--clip-limit", type=float, help="clahe view: clip limit (0.01)")
    group.add_argument("--tiles", type=int, help="clahe view: tiles per side (8)")
    group.add_argument("--max-window", type=int, help="adaptive-median view: largest window (7)")
    return parser


def enhance_params(view: str, given: dict[str, Any]) -> Any:
    """The params dataclass for ``view`` from the options the user gave.

    Raises
    ------
    UsageError
        An option that does not apply to ``view``, or an invalid value.
    """
    from mammoview.enhance import params as P

    types = {
        "wavelet": P.WaveletParams,
        "clahe": P.ClaheParams,
        "adaptive-median": P.AdaptiveMedianParams,
        "superres": P.SuperresParams,
    }
    allowed = _ENHANCE_OPTIONS[view]
    for key, value in given.items():
        if value is not None and key not in allowed:
            raise UsageError(f"--{key.replace('_', '-')} does not apply to --view {view}")
    chosen = {k: v for k, v in given.items() if v is not None and k in allowed}
    try:
        return types[view](**chosen)
    except ValueError as err:
        raise UsageError(str(err)) from err


def _cmd_enhance(args: list[str]) -> int:
    ns = _enhance_parser().parse_args(args)
    names = ("wavelet", "levels", "gain", "clip_limit", "tiles", "max_window")
    options = {k: getattr(ns, k) for k in names}
    params = enhance_params(ns.view, options)
    out = Path(ns.output)
    if out.suffix.lower() != ".png":
        raise UsageError(f"output must be a .png file, got {out.name}")
    _check_output_folder(out)
    image = _load_one(ns.path)

    from mammoview.report.render import enhance_image

    result = _enhance_superres(image, params) if ns.view == "superres" else None
    if result is None:
        result = enhance_image(image, ns.view, params)
    write_png(out, result.array, bits=ns.bits)
    rows, cols = result.array.shape
    print(f"wrote {out} ({cols} x {rows}, {ns.bits}-bit): {result.label}")
    return EXIT_OK


def _load_one(path: str):
    """Load the single image at ``path`` through discovery (so MIAS ground truth comes too)."""
    _check_exist([path])
    if Path(path).is_dir():
        raise UsageError(f"{Path(path).name}: is a folder; enhance takes one image file")
    studies, problems = _discover([path])
    refs = [ref for study in studies for ref in study.images]
    if not refs:
        reason = f"{Path(path).name}: not an image MammoView can open"
        raise MammoViewError(problems[0] if problems else reason)
    from mammoview.io.loader import load_image

    image = load_image(refs[0])
    for warning in image.warnings:
        _warn(f"{Path(path).name}: {warning}")
    return image


def write_png(path: str | Path, grey, *, bits: int = 16) -> Path:
    """Write float greys in [0, 1] as an 8- or 16-bit greyscale PNG, atomically.

    16 bits is the default: the enhancements return float32, and a 12- to 16-bit
    mammogram would lose grey levels in 8 bits. Every viewer opens 16-bit PNG.
    """
    import io

    import numpy as np
    from PIL import Image as PILImage

    from mammoview.core.errors import ExportError
    from mammoview.io.atomic import atomic_write

    scaled = np.clip(np.asarray(grey, dtype=np.float64), 0.0, 1.0) * (2**bits - 1)
    array = np.rint(scaled).astype(np.uint16 if bits == 16 else np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(array).save(buf, format="PNG")
    target = Path(path)
    try:
        with atomic_write(target, "wb") as fh:
            fh.write(buf.getvalue())
    except OSError as err:
        raise ExportError(f"{target.name}: cannot write the image ({err.strerror or err})") from err
    return target


# --------------------------------------------------------------------------- report


def _report_parser() -> _Parser:
    parser = _Parser(
        prog=f"{PROG} report",
        description="Write a PDF report of the studies found in the given files and folders.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.pdf", help="PDF to write")
    parser.add_argument("--impression", default="", metavar="TEXT", help="the reader's impression")
    parser.add_argument(
        "--views",
        default="original,wavelet,clahe,superres",
        metavar="LIST",
        help=f"comma-separated, from {','.join(REPORT_VIEWS)} (default: %(default)s)",
    )
    parser.add_argument("--db", metavar="PATH",
                        help="readings database whose saved readings (findings, BI-RADS, density, "
                             "impression) the report prints (default: the per-user one)")
    parser.add_argument("--deidentify", action="store_true",
                        help="replace patient name, ID and birth date (and file names) by the study "
                             "pseudonym everywhere in the PDF")
    parser.add_argument("--ai", action="store_true",
                        help="classify every image with the active classifier cascade and add the AI "
                             "section with the model versions (seconds per image on a CPU)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                        help="where the classifier runs with --ai (default: auto)")
    return parser


def parse_views(text: str) -> tuple[str, ...]:
    """``"original,clahe"`` -> ("original", "clahe"); raises UsageError for unknown names."""
    views = tuple(v.strip() for v in text.split(",") if v.strip())
    if not views:
        raise UsageError("--views is empty")
    unknown = [v for v in views if v not in REPORT_VIEWS]
    if unknown:
        raise UsageError(
            f"argument --views: unknown view {unknown[0]!r} (choose from {', '.join(REPORT_VIEWS)})"
        )
    return tuple(dict.fromkeys(views))


def _cmd_report(args: list[str]) -> int:
    ns = _report_parser().parse_args(args)
    views = parse_views(ns.views)
    out = Path(ns.output)
    if out.suffix.lower() != ".pdf":
        raise UsageError(f"output must be a .pdf file, got {out.name}")
    _check_exist(ns.paths)
    _check_output_folder(out)

    from mammoview.report.pdf import build_report, write_report

    ai = _report_ai(ns.device) if ns.ai else None
    line = ProgressLine()
    store = _report_store(ns.db, required=ns.deidentify)
    try:
        studies, problems = _discover(ns.paths, line)
        for problem in problems:
            _warn(problem)
        if not studies:
            raise MammoViewError("no images found to report on")
        content = build_report(
            studies, views=views, impression=ns.impression, warnings=problems, progress=line,
            store=store, deidentify=ns.deidentify, ai=ai,
        )
    finally:
        line.close()
        if store is not None:
            store.close()
    # Printed from the content: de-identified, its warnings name no patient or file.
    for warning in content.warnings[len(problems):]:
        _warn(warning)
    write_report(out, content)
    saved = sum(1 for r in content.readings if r.saved)
    note = ", de-identified" if ns.deidentify else ""
    print(f"wrote {out} ({len(content.all_studies)} studies, {len(content.views)} pictures, "
          f"{saved} saved readings{note})")
    return EXIT_OK


def _report_ai(device: str) -> Any:
    """The AI collector for ``report --ai``: the active cascade, loaded before the long work."""
    from mammoview.classification.cascade import Cascade
    from mammoview.report.ai import AiCollector

    cascade = Cascade.load(device=device)
    print(f"models: {', '.join(f'{task} {version}' for task, version in cascade.versions.items())}",
          file=sys.stderr)
    return AiCollector(cascade, device=device)


def _report_store(path: str | None, *, required: bool) -> Any:
    """The readings database for a report; without it (unopenable) a warning, unless required."""
    from mammoview.reading.errors import StoreError
    from mammoview.reading.store import ReadingStore

    if path is not None and not Path(path).is_file():
        raise MammoViewError(f"{Path(path).name}: readings database not found")
    try:
        return ReadingStore(path)
    except StoreError as err:
        if required:
            raise
        _warn(f"{err}; the report has no readings")
        return None


# --------------------------------------------------------------------------- info


def _info_parser() -> _Parser:
    return _Parser(prog=f"{PROG} info", description="List the studies found and the problems.")


def _cmd_info(args: list[str]) -> int:
    parser = _info_parser()
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    ns = parser.parse_args(args)
    _check_exist(ns.paths)
    line = ProgressLine()
    try:
        studies, problems = _discover(ns.paths, line)
    finally:
        line.close()
    for number, study in enumerate(studies, start=1):
        print(format_study(number, study))
    if problems:
        print(f"Problems ({len(problems)}):")
        for problem in problems:
            print(f"  {problem}")
    if not studies:
        message = "no readable images found" if problems else "no images found"
        return _fail(message, EXIT_FAILURE)
    return EXIT_OK


def format_study(number: int, study: Any) -> str:
    """A few lines describing one study: patient, date, views, ground truth, images."""
    from mammoview.report.pdf import format_date

    first = study.first
    patient, info = first.patient, first.study
    title = f"Study {number}: {study.label or study.uid}"
    if study.synthetic:
        title += "  [SYNTHETIC DEMO DATA]"
    who = patient.name.replace("^", " ").strip() or "(no name)"
    lines = [
        title,
        f"  Patient:      {who}, ID {patient.id or '-'}, born {format_date(patient.birth_date)}",
        f"  Study date:   {format_date(info.date)}"
        + (f", {info.description}" if info.description else ""),
        f"  Views:        {', '.join(study.views)}",
        f"  Ground truth: {study.ground_truth or 'not known'}",
    ]
    for ref in study.images:
        size = f"{ref.cols} x {ref.rows}" if ref.rows and ref.cols else "size ?"
        what = "; ".join(f.describe() for f in ref.findings) or (ref.ground_truth or "")
        slot = ref.slot or ref.view or "?"
        lines.append(f"    {ref.display_name}  {slot}  {size}  {what}".rstrip())
    return "\n".join(lines)


# --------------------------------------------------------------------------- superres model


def _enhance_superres(image: Any, params: Any) -> Any:
    """Super-resolution with the active EDSR, tile by tile with a progress line; None
    (the caller falls back to bicubic, labelled so) when no model can be used."""
    import numpy as np

    from mammoview.enhance.superres import iter_superresolve, superres_model_status
    from mammoview.enhance.views import EnhancedView

    model, reason = superres_model_status()
    if model is None:
        _warn(f"super-resolution falls back to bicubic: {reason}")
        return None
    if model.scale != params.factor:
        _warn(f"super-resolution falls back to bicubic: the model is x{model.scale}, not x{params.factor}")
        return None
    pixels = -image.pixels.astype(np.float32) if image.is_monochrome1 else image.pixels
    line = ProgressLine()
    result = None
    try:
        for event in iter_superresolve(pixels, model):
            line(event)
            result = event.partial if event.partial is not None else result
    finally:
        line.close()
    return EnhancedView(result.array, f"Super-resolution x{params.factor}: {result.label}", params, {})


# --------------------------------------------------------------------------- segment

MASK_KINDS = ("breast", "pectoral", "otsu", "unet")


def _segment_parser() -> _Parser:
    parser = _Parser(
        prog=f"{PROG} segment",
        description=(
            "Write segmentation masks for each image found: <stem>_breast.png, "
            "<stem>_pectoral.png (empty on CC views), <stem>_otsu.png (bright lesion "
            "candidates) and <stem>_unet.png (the trained lesion UNet, when a model is "
            "installed). 8-bit PNG, 0 or 255, the size of the image. Research use only."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the masks (created)")
    parser.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
        help="where the UNet runs (default: %(default)s)",
    )
    return parser


def _cmd_segment(args: list[str]) -> int:
    ns = _segment_parser().parse_args(args)
    _check_exist(ns.paths)
    out = Path(ns.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        from mammoview.core.errors import ExportError

        raise ExportError(f"{out.name or out}: cannot create the output folder ({err.strerror or err})") from err
    line = ProgressLine()
    try:
        studies, problems = _discover(ns.paths, line)
    finally:
        line.close()
    for problem in problems:
        _warn(problem)
    refs = [ref for study in studies for ref in study.images if ref.kind != "phantom"]
    if not refs:
        raise MammoViewError("no images found to segment")
    model = _segmentation_model(ns.device)
    written = images_done = 0
    used: set[str] = set()
    for ref in refs:
        stem = _unique_stem(Path(ref.path).stem, used)
        try:
            count = _segment_one(ref, out, stem, model)
        except (MammoViewError, OSError, ValueError) as err:
            reason = (err.strerror or str(err)) if isinstance(err, OSError) else str(err)
            _warn(f"{Path(ref.path).name}: skipped ({reason})")
            continue
        written += count
        images_done += 1
        print(f"{Path(ref.path).name}: wrote {count} masks ({stem}_*.png)")
    if written == 0:
        return _fail("no masks could be written", EXIT_FAILURE)
    print(f"wrote {written} masks for {images_done} of {len(refs)} images to {out}")
    return EXIT_OK


def _segmentation_model(device: str) -> Any:
    """The lesion UNet, or None after one stderr line saying why no _unet.png is written."""
    from mammoview.nets.store import ModelLoadError
    from mammoview.segmentation.unet_infer import load_segmentation_model

    try:
        return load_segmentation_model(None, device=device)
    except ModelLoadError as err:
        _warn(f"no *_unet.png masks: {err}")
        return None


def _unique_stem(stem: str, used: set[str]) -> str:
    """``stem``, or ``stem_2``, ``stem_3``... when two inputs share a file stem."""
    candidate, n = stem, 1
    while candidate in used:
        n += 1
        candidate = f"{stem}_{n}"
    used.add(candidate)
    return candidate


def _segment_one(ref: Any, out: Path, stem: str, model: Any) -> int:
    """Compute and write the masks of one image; returns how many were written."""
    import numpy as np

    from mammoview.io.loader import load_image
    from mammoview.segmentation.breast import segment_breast
    from mammoview.segmentation.lesions import CC_VIEWS, segment_otsu_candidates, segment_unet
    from mammoview.segmentation.pectoral import segment_pectoral

    image = load_image(ref)
    # Masks are computed on the displayed polarity (tissue bright).
    grey = -image.pixels.astype(np.float32) if image.is_monochrome1 else image.pixels
    breast = segment_breast(grey)
    if (image.view or "").upper() in CC_VIEWS:
        pectoral = np.zeros(breast.shape, bool)
    else:
        pectoral = segment_pectoral(grey, breast_mask=breast)
    masks = {"breast": breast, "pectoral": pectoral}
    masks["otsu"] = segment_otsu_candidates(grey, breast_mask=breast, pectoral_mask=pectoral)
    if model is not None:
        masks["unet"] = segment_unet(grey, model=model)
    for kind, mask in masks.items():
        write_png(out / f"{stem}_{kind}.png", mask, bits=8)
    return len(masks)


# --------------------------------------------------------------------------- classify

# The five columns of the spec come first, unchanged in meaning; ``note`` is last.
CLASSIFY_COLUMNS = ("image", "p_abnormal", "p_malignant", "label", "suspicion", "stage1_version", "stage2_version",
                    "note")
NOT_CLASSIFIED, NOT_OPENED = "not classified", "could not open"
CLASSIFY_EXIT_STATUS = (
    f"exit status: {EXIT_OK} when every image was classified; {EXIT_PARTIAL} when the CSV was written but "
    "some images were not classified or could not be opened (their rows have empty numbers and the reason "
    f"in 'note'); {EXIT_FAILURE} when no CSV was written (no models, no images found, the CSV cannot be "
    f"written); {EXIT_USAGE} for a usage mistake."
)


def _classify_parser() -> _Parser:
    parser = _Parser(
        prog=f"{PROG} classify",
        description=(
            "Classify mammograms with the two-stage ResNet cascade (stage 1 normal vs abnormal, "
            "stage 2 benign vs malignant) and write one CSV row per input image, in the order given "
            f"(a folder's images in path order): {','.join(CLASSIFY_COLUMNS)}. An image that is not "
            "classified (wrong modality, too small, blank, no breast found) or cannot be opened (missing, "
            "damaged, not an image) gets a row with empty p_abnormal, p_malignant, label and suspicion and "
            "'not classified: <reason>' or 'could not open: <reason>' in 'note', and the same line on "
            "stderr; the batch goes on. The model versions are printed on stderr. "
            f"{RESEARCH_NOTICE}"
        ),
        epilog=CLASSIFY_EXIT_STATUS,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument("--csv", required=True, metavar="OUT.csv", help="CSV file to write (atomically)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="(default: auto)")
    return parser


def _cmd_classify(args: list[str]) -> int:
    ns = _classify_parser().parse_args(args)
    out = Path(ns.csv)
    if out.suffix.lower() != ".csv":
        raise UsageError(f"--csv must name a .csv file, got {out.name}")
    _check_output_folder(out)
    from mammoview.classification.cascade import Cascade
    from mammoview.io.discovery import discover

    cascade = Cascade.load(device=ns.device)
    print(f"models: {', '.join(f'{task} {version}' for task, version in cascade.versions.items())}",
          file=sys.stderr)
    line = ProgressLine()
    try:
        found = discover(list(ns.paths), progress=line)
    finally:
        line.close()
    inputs, empty_folders = classify_inputs(ns.paths, found)
    for folder in empty_folders:
        _warn(f"{folder}: no images found in this folder")
    if not inputs:
        raise MammoViewError("no images found to classify")
    rows = []
    try:
        for number, item in enumerate(inputs, start=1):
            line(Progress(number - 1, len(inputs), Path(item.image).name))
            row = _classify_input(cascade, item)
            if row["note"]:
                line.close()
                print(f"{item.image}: {row['note']}", file=sys.stderr)
            rows.append(row)
        line(Progress(len(inputs), len(inputs), "done"))
    finally:
        line.close()
    write_classification_csv(out, rows)
    counts = count_outcomes(rows)
    print(f"wrote {out} ({len(rows)} image{'' if len(rows) == 1 else 's'}: {counts['classified']} classified, "
          f"{counts[NOT_CLASSIFIED]} not classified, {counts[NOT_OPENED]} could not be opened)")
    return EXIT_OK if counts["classified"] == len(rows) else EXIT_PARTIAL


@dataclass(frozen=True)
class ClassifyInput:
    """One input image of ``classify``: its path as the user gave it (or as found in a folder
    they gave), and either the ref to classify or the ``note`` saying why there is none."""

    image: str
    ref: Any = None
    note: str = ""


def classify_inputs(paths: Sequence[str], found: Any) -> tuple[list[ClassifyInput], list[str]]:
    """The images to classify, one per input in the order given, and the folders without any.

    ``found`` is the :class:`~mammoview.io.discovery.Discovery` of ``paths``. A folder is
    replaced by the images and unreadable files discovery found in it, in path order. A
    file discovery left out (a document such as ``notes.txt``) or dropped (an image
    already reached) is read again here, so it too gets a row with its own reason. The
    same file reached twice gets one row.
    """
    from mammoview.io.loader import read_header

    entries = [(ref.path, ref) for study in found.studies for ref in study.images if ref.kind != "phantom"]
    entries += [(err.path, err) for err in found.errors]
    by_path = {os.path.abspath(path): (path, entry) for path, entry in entries}
    inputs: list[ClassifyInput] = []
    empty_folders: list[str] = []
    seen: set[str] = set()

    def add(image: str, entry: Any) -> None:
        key = os.path.realpath(image)
        if key in seen:
            return
        seen.add(key)
        if isinstance(entry, MammoViewError):
            inputs.append(ClassifyInput(image, note=problem_note(entry)))
        else:
            inputs.append(ClassifyInput(image, ref=entry))

    for given in paths:
        if Path(given).is_dir():
            folder = os.path.abspath(given)
            # Named from the folder as given (readers may store absolute paths). A missing
            # path is always one of the arguments, never something found in a folder.
            inside = sorted(((os.path.normpath(os.path.join(given, os.path.relpath(key, folder))), entry)
                             for key, (path, entry) in by_path.items()
                             if key.startswith(os.path.join(folder, "")) and os.path.lexists(path)),
                            key=lambda item: _path_order(item[0]))
            if not inside:
                empty_folders.append(given)
            for image, entry in inside:
                add(image, entry)
        elif os.path.abspath(given) in by_path:
            add(given, by_path[os.path.abspath(given)][1])
        elif os.path.realpath(given) not in seen:
            try:
                add(given, read_header(given))
            except MammoViewError as err:
                add(given, err)
    return inputs, empty_folders


def _path_order(path: str) -> tuple:
    """Natural order, folder by folder: ``img2.png`` before ``img10.png``."""
    from mammoview.io.discovery import natural_key

    return tuple(natural_key(name) for name in Path(path).parts)


def problem_note(err: BaseException) -> str:
    """The ``note`` for an input with no classification: a file that is readable but no
    mammogram (another modality, a dose report) is "not classified", any other problem
    (missing, damaged, not an image) "could not open"; the reason without the file name."""
    from mammoview.core.errors import ImageReadError, UnsupportedFileError

    reason = err.reason if isinstance(err, ImageReadError) else (getattr(err, "strerror", None) or str(err))
    return f"{NOT_CLASSIFIED if isinstance(err, UnsupportedFileError) else NOT_OPENED}: {reason}"


def _classify_input(cascade: Any, item: ClassifyInput) -> dict[str, str]:
    """The CSV row of one input; any failure becomes its note, never an exception."""
    if item.ref is None:
        return classification_row(item.image, note=item.note)
    from mammoview.io.loader import load_image

    try:
        image = load_image(item.ref)
    except (MammoViewError, OSError) as err:
        return classification_row(item.image, note=problem_note(err))
    except Exception as err:  # a reader bug must not lose the rest of the batch
        return classification_row(item.image, note=f"{NOT_OPENED}: unexpected error while reading the pixels "
                                                   f"({type(err).__name__}: {err})")
    try:
        result = cascade.classify(image)
    except Exception as err:  # e.g. out of GPU memory on one huge image
        return classification_row(item.image, note=f"{NOT_CLASSIFIED}: unexpected error in the classifier "
                                                   f"({type(err).__name__}: {err})")
    if not result.classified:
        return classification_row(item.image, note=f"{NOT_CLASSIFIED}: {result.reason}")
    return classification_row(item.image, result)


def count_outcomes(rows: Sequence[Mapping[str, str]]) -> dict[str, int]:
    """How many rows were classified, not classified and could not be opened (from ``note``)."""
    counts = {"classified": 0, NOT_CLASSIFIED: 0, NOT_OPENED: 0}
    for row in rows:
        note = row.get("note", "")
        kind = "classified" if not note else NOT_CLASSIFIED if note.startswith(NOT_CLASSIFIED) else NOT_OPENED
        counts[kind] += 1
    return counts


def classification_row(image: str, result: Any = None, *, note: str = "") -> dict[str, str]:
    """One CSV row: probabilities with 4 decimals, the label, the 1-10 suspicion and the
    versions of the two models that produced them; without a result, only ``image`` and
    ``note`` ("not classified: <reason>" or "could not open: <reason>")."""
    if result is None:
        return {**dict.fromkeys(CLASSIFY_COLUMNS, ""), "image": image, "note": note}
    versions = getattr(result, "versions", None) or {}
    return {"image": image, "p_abnormal": f"{result.p_abnormal:.4f}", "p_malignant": f"{result.p_malignant:.4f}",
            "label": result.label, "suspicion": str(result.suspicion),
            "stage1_version": versions.get("classifier-stage1", ""),
            "stage2_version": versions.get("classifier-stage2", ""), "note": note}


def write_classification_csv(path: Path, rows: Sequence[Mapping[str, str]]) -> Path:
    """Write the classification rows under the header ``image,p_abnormal,p_malignant,label,
    suspicion,stage1_version,stage2_version,note``, atomically (a failed write leaves any
    earlier file untouched)."""
    import csv

    from mammoview.core.errors import ExportError
    from mammoview.io.atomic import atomic_write

    try:
        with atomic_write(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=CLASSIFY_COLUMNS, lineterminator="\n", restval="")
            writer.writeheader()
            writer.writerows(rows)
    except OSError as err:
        raise ExportError(f"{path.name}: cannot write the CSV ({err.strerror or err})") from err
    return path


# --------------------------------------------------------------------------- train

TRAIN_TASKS = ("segmentation", "superres", "classifier-stage1", "classifier-stage2")


def _train_parser() -> _Parser:
    parser = _Parser(
        prog=f"{PROG} train",
        description=(
            "Train a model from your own data and write TASK.safetensors + TASK.json (the model "
            "card) into --out; a checkpoint is written after every epoch (--resume continues). "
            f"{RESEARCH_NOTICE}"
        ),
    )
    parser.add_argument("task", choices=TRAIN_TASKS, metavar="TASK", help=f"one of {', '.join(TRAIN_TASKS)}")
    parser.add_argument("--data", required=True, metavar="PATH",
                        help="a MIAS folder (with Info.txt), a labels .csv, or a folder holding labels.csv")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the model and the checkpoint")
    parser.add_argument("--epochs", type=int, help="epochs (task default)")
    parser.add_argument("--arch", metavar="NAME", help=(
        "architecture preset (task default); classifiers: " + ", ".join(_classifier_arch_names())))
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="(default: auto)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--install", action="store_true",
                        help="install the trained model into the user's models folder (not in use unless --activate)")
    parser.add_argument("--activate", action="store_true", help="with --install: make it the model in use")
    parser.add_argument("--seed", type=int, default=0, help="seeds split, weights, order, augmentation (0)")
    parser.add_argument("--batch-size", type=int, metavar="B", help="(task default)")
    parser.add_argument("--lr", type=float, metavar="LR", help="initial learning rate (task default)")
    parser.add_argument("--val-fraction", type=float, default=0.2, metavar="F",
                        help="share of patients held out for validation (0.2)")
    parser.add_argument("--augment", metavar="LIST",
                        help="comma-separated from flip,rotate,zoom,shear,brightness,contrast, or none")
    parser.add_argument("--size", type=int, metavar="PX", help="segmentation: working long side (256)")
    parser.add_argument("--patch", type=int, metavar="PX", help="superres: high-resolution patch size (48)")
    parser.add_argument("--patches-per-image", type=int, metavar="N", help="superres: patches per image (16)")
    parser.add_argument("--box-check", metavar="DIR",
                        help="segmentation: CBIS-DDSM-style cases to report box overlap on")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    parser.add_argument("--input-enhance", choices=("none", "wavelet"),
                        help="classifier: input enhancement (none; wavelet = the ResNet-50 paper's)")
    parser.add_argument("--hard-negatives", type=int, metavar="N",
                        help="classifier-stage1: after half the epochs, add the N highest-scoring windows "
                             "away from any lesion of every training image as negatives (5; 0 = off)")
    parser.add_argument("--calibration-fraction", type=float, metavar="F",
                        help="classifiers: share of the training patients kept out of training to choose "
                             "the operating threshold (0: choose it on the validation images and report "
                             "leave-one-patient-out rates)")
    return parser


def _cmd_train(args: list[str]) -> int:
    import shlex

    ns = _train_parser().parse_args(args)
    if ns.activate and not ns.install:
        raise UsageError("--activate needs --install")
    if ns.calibration_fraction is not None and not 0.0 <= ns.calibration_fraction < 1.0:
        raise UsageError(f"argument --calibration-fraction: must be in [0, 1), got {ns.calibration_fraction:g}")
    from mammoview.training.augment import parse_augment

    try:
        augment = parse_augment(ns.augment) if ns.augment is not None else None
    except ValueError as err:
        raise UsageError(f"argument --augment: {err}") from err
    _check_exist([ns.data] + ([ns.box_check] if ns.box_check else []))
    from mammoview.training.config import TrainConfig
    from mammoview.training.engine import train

    try:
        config = TrainConfig(
            data=Path(ns.data), out=Path(ns.out), epochs=ns.epochs, arch=ns.arch, device=ns.device,
            resume=ns.resume, seed=ns.seed, batch_size=ns.batch_size, lr=ns.lr, val_fraction=ns.val_fraction,
            augment=augment, size=ns.size, patch=ns.patch, patches_per_image=ns.patches_per_image,
            box_check=Path(ns.box_check) if ns.box_check else None, threads=ns.threads,
            command=shlex.join([PROG, "train", *args]),
            extra={**({"enhance": ns.input_enhance} if ns.input_enhance else {}),
                   **({"hard_negatives": ns.hard_negatives} if ns.hard_negatives is not None else {}),
                   **({"calibration_fraction": ns.calibration_fraction}
                      if ns.calibration_fraction is not None else {})},
        )
    except ValueError as err:
        raise UsageError(str(err)) from err
    bar = TrainProgressBar()
    last = None
    try:
        for event in train(ns.task, config):
            bar(event)
            last = event.partial
    finally:
        bar.close()
    if last is None or last.kind != "done":
        return _fail(last.message if last else "training stopped", EXIT_FAILURE)
    print(f"wrote {last.path} and its model card: {last.message}")
    if ns.install:
        from mammoview.nets.registry import install_model

        model = install_model(last.path, expected_task=ns.task, activate=ns.activate)
        state = "in use now" if model.active else f"not in use: 'mammoview models activate {ns.task} {model.version}'"
        print(f"installed {ns.task} model {model.version} ({state})")
    return EXIT_OK


class TrainProgressBar:
    """Training progress on stderr: a bar with loss and ETA on a terminal, plain lines otherwise.

    Without a terminal (a log file, a pipe) it prints one line when training starts,
    about ten per epoch, one per finished epoch with its validation metrics, and one at
    the end.
    """

    WIDTH = 24

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._open = False

    def __call__(self, event: Progress) -> None:
        from mammoview.core.progress import format_duration

        e = event.partial
        if e is None:
            return
        if e.kind == "prepare":
            if self.tty:
                self._bar(event.fraction, f"preparing data {event.done}/{event.total}")
            elif event.done == event.total:
                self._line(f"prepared {event.total} images")
        elif e.kind == "mining":
            if self.tty:
                self._bar(e.step / max(1, e.steps), f"epoch {e.epoch}: finding hard negatives {e.step}/{e.steps}")
            elif e.step == e.steps:
                self._line(f"epoch {e.epoch}: {e.message}")
        elif e.kind == "step":
            text = (f"epoch {e.epoch}/{e.epochs} step {e.step}/{e.steps} loss {e.loss:.4f} "
                    f"ETA {format_duration(e.eta_s)}")
            if self.tty:
                self._bar(event.fraction, text)
            elif e.step == e.steps or e.step % max(1, e.steps // 10) == 0:
                self._line(text)
        elif e.kind in ("start", "epoch", "cancelled", "done"):
            prefix = {"epoch": f"epoch {e.epoch}/{e.epochs}: ", "done": "done: "}.get(e.kind, "")
            eta = f" (ETA {format_duration(e.eta_s)})" if e.kind == "epoch" and e.epoch < e.epochs else ""
            self._line(prefix + e.message + eta)

    def _bar(self, fraction: float, text: str) -> None:
        filled = int(round(self.WIDTH * fraction))
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {100 * fraction:3.0f}% {text[:70]:<70}")
        self.stream.flush()
        self._open = True

    def _line(self, text: str) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


# --------------------------------------------------------------------------- evaluate


def _classifier_arch_names() -> tuple[str, ...]:
    from mammoview.nets.archs import CLASSIFIER_ARCHS

    return tuple(CLASSIFIER_ARCHS)


def _evaluate_parser() -> _Parser:
    from mammoview.training.evaluate import DEFAULT_ARCHS, EVALUATE_TASKS

    parser = _Parser(prog=f"{PROG} evaluate", description=(
        "Train several classifier architectures on the same patient-level split, seed and budget "
        "(plus ResNet-50 with and without the wavelet-enhanced input) and write a comparison table "
        f"(DIR/architectures.md, .csv) and plot (.png). {RESEARCH_NOTICE}"))
    parser.add_argument("task", choices=EVALUATE_TASKS, metavar="TASK", help=f"one of {', '.join(EVALUATE_TASKS)}")
    parser.add_argument("--archs", default=",".join(DEFAULT_ARCHS), metavar="LIST",
                        help=f"comma-separated from {','.join(_classifier_arch_names())} (default: %(default)s)")
    parser.add_argument("--data", required=True, metavar="PATH", help="as for 'mammoview train'")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the table, the plot and the runs")
    parser.add_argument("--no-wavelet-pair", action="store_true",
                        help="skip the extra ResNet-50 on the wavelet-enhanced input")
    for flag, kind, text in (("--epochs", int, "epochs"), ("--batch-size", int, "batch size"),
                             ("--lr", float, "initial learning rate"), ("--patch", int, "patch side, px"),
                             ("--lesion-copies", int, "lesion windows repeated per epoch"),
                             ("--patches-per-image", int, "tissue windows per normal image"),
                             ("--threshold-images", int, "training images scored to choose the threshold when the "
                              "validation patients lack a class (else they choose it)"),
                             ("--stride", int, "sliding-window step, px")):
        parser.add_argument(flag, type=kind, help=f"{text}, the same for every run (task default)")
    parser.add_argument("--seed", type=int, default=0, help="seeds split, weights, order, augmentation (0)")
    parser.add_argument("--val-fraction", type=float, default=0.2, metavar="F", help="(0.2)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="(default: auto)")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the runs already finished in DIR with the same settings; continue an interrupted one")
    return parser


def _cmd_evaluate(args: list[str]) -> int:
    import shlex

    ns = _evaluate_parser().parse_args(args)
    _check_exist([ns.data])
    from mammoview.training.evaluate import EvaluateConfig, EvaluateError, evaluate

    settings = {k: v for k, v in (("lesion_copies", ns.lesion_copies), ("patches_per_image", ns.patches_per_image),
                                  ("threshold_images", ns.threshold_images), ("stride", ns.stride)) if v is not None}
    try:
        config = EvaluateConfig(
            task=ns.task, archs=tuple(a.strip() for a in ns.archs.split(",") if a.strip()), data=Path(ns.data),
            out=Path(ns.out), wavelet_pair=not ns.no_wavelet_pair, epochs=ns.epochs, batch_size=ns.batch_size,
            lr=ns.lr, patch=ns.patch, val_fraction=ns.val_fraction, seed=ns.seed, device=ns.device,
            threads=ns.threads, settings=settings, resume=ns.resume, command=shlex.join([PROG, "evaluate", *args]))
    except EvaluateError as err:
        raise UsageError(f"argument --archs: {err}") from err
    bar = TrainProgressBar()
    last = None
    try:
        for event in evaluate(config):
            e = last = event.partial
            if e.kind == "train" and e.progress is not None:
                bar(e.progress)  # the run's own bar; the "run i/n" lines count the runs
            elif e.kind == "run":
                bar._line(f"run {e.run}/{e.runs}: {e.label}")
            elif e.kind == "row":
                r = e.row
                bar._line(f"{e.label}: image AUC {_num(r['image_auc'])} [{_num(r['image_auc_low'])}, "
                          f"{_num(r['image_auc_high'])}], patch AUC {_num(r['patch_auc'])}; table updated")
    except KeyboardInterrupt:
        bar.close()
        done = last.run - (last.kind != "row") if last is not None else 0
        return _fail(f"interrupted; {done} finished row(s) kept in {ns.out} (--resume continues)", 130)
    finally:
        bar.close()
    if last is None or last.kind != "done":
        return _fail(last.message if last else "evaluation stopped", EXIT_FAILURE)
    print(f"wrote {', '.join(last.paths)}")
    return EXIT_OK


def _num(v: Any) -> str:
    return "n/a" if v is None or v != v else f"{v:.2f}"


# --------------------------------------------------------------------------- readings


def _readings_parser() -> _Parser:
    parser = _Parser(
        prog=f"{PROG} readings",
        description=(
            "Export or import the readings saved by the window (findings, rulers, BI-RADS, density, "
            "impression, state) as JSON or CSV (one row per finding). The database is the per-user "
            "one ($MAMMOVIEW_DATA_DIR/readings.sqlite3 when set) unless --db is given."
        ),
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="{export,import}", parser_class=_Parser)
    export = sub.add_parser("export", help="write every reading to a JSON or CSV file (atomic)")
    export.add_argument("-o", "--output", required=True, metavar="FILE", help=".json or .csv file to write")
    export.add_argument("--format", choices=("json", "csv"), help="(default: from the file's extension)")
    export.add_argument("--deidentify", action="store_true",
                        help="replace patient name, ID, birth date and UIDs by a stable per-study pseudonym")
    export.add_argument("--db", metavar="PATH", help="readings database (default: the per-user one)")
    imp = sub.add_parser("import", help="read readings from an export file (all or nothing)")
    imp.add_argument("path", metavar="FILE", help="a .json or .csv export")
    imp.add_argument("--format", choices=("json", "csv"), help="(default: from the file's extension)")
    imp.add_argument("--replace", action="store_true", help="overwrite studies that already have another reading")
    imp.add_argument("--db", metavar="PATH", help="readings database (default: the per-user one)")
    return parser


def _cmd_readings(args: list[str]) -> int:
    ns = _readings_parser().parse_args(args)
    from mammoview.reading.exchange import export_readings, import_readings
    from mammoview.reading.store import ReadingStore

    if ns.action == "export":
        out = Path(ns.output)
        fmt = ns.format or out.suffix.lstrip(".").lower()
        if fmt not in ("json", "csv"):
            raise UsageError(f"cannot tell the format of {out.name}: use a .json or .csv name, or --format")
        _check_output_folder(out)
        with ReadingStore(ns.db) as store:
            count = export_readings(store, out, format=fmt, deidentify=ns.deidentify)
        note = ", de-identified" if ns.deidentify else ""
        print(f"wrote {out} ({count} studies{note})")
        return EXIT_OK
    _check_exist([ns.path])
    with ReadingStore(ns.db) as store:
        result = import_readings(store, ns.path, format=ns.format, replace_existing=ns.replace)
    for key, why in result.skipped:
        _warn(f"study {key}: skipped ({why})")
    print(f"imported {len(result.imported)} studies, {len(result.unchanged)} unchanged, "
          f"{len(result.skipped)} skipped")
    return EXIT_OK


# --------------------------------------------------------------------------- models


def _models_parser() -> _Parser:
    parser = _Parser(
        prog=f"{PROG} models",
        description=(
            "The installed models per task (shipped, and the user's in $MAMMOVIEW_DATA_DIR/models or the "
            "per-user data folder), the one in use, and installing, exporting and deleting them. A version "
            "is the first 12 hex digits of the weights' SHA-256 (any unambiguous prefix of 4+ works). "
            f"{RESEARCH_NOTICE}"
        ),
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="{list,activate,import,export,delete}",
                                parser_class=_Parser)
    listing = sub.add_parser("list", help="the installed models, per task; * marks the one in use")
    listing.add_argument("task", nargs="?", help="only this task")
    activate = sub.add_parser("activate", help="make a version the model its task uses")
    imp = sub.add_parser("import", help="check a model (.safetensors + .json) and install it")
    imp.add_argument("path", metavar="FILE", help="the model's .safetensors (its .json beside it)")
    imp.add_argument("--task", help="refuse a model of another task")
    imp.add_argument("--activate", action="store_true", help="make it the model in use")
    export = sub.add_parser("export", help="copy a model (weights + card) into a folder")
    delete = sub.add_parser("delete", help="delete a user model (shipped ones cannot be)")
    for command in (activate, export, delete):
        command.add_argument("task", metavar="TASK")
        command.add_argument("version", metavar="VERSION")
    export.add_argument("folder", metavar="DIR", help="created if missing")
    return parser


def _cmd_models(args: list[str]) -> int:
    ns = _models_parser().parse_args(args)
    from mammoview.nets import registry

    for task in (getattr(ns, "task", None),):
        if task is not None and task not in registry.TASKS:
            raise UsageError(f"unknown task {task!r} (one of {', '.join(registry.TASKS)})")
    if ns.action == "list":
        for model in registry.list_models(ns.task):
            mark = "*" if model.active else " "
            detail = (f"{model.architecture:<20} {model.headline or '-':<18} {(model.card.created or '-'):<21}"
                      if model.card is not None else f"unusable: {model.problem}")
            print(f"{mark} {model.task:<18} {model.version:<12} {model.origin:<7} {detail} {model.weights}")
        return EXIT_OK
    if ns.action == "activate":
        model = registry.set_active(ns.task, ns.version)
        print(f"{model.task}: now using model {model.version} ({model.origin})")
    elif ns.action == "import":
        _check_exist([ns.path])
        model = registry.import_model(ns.path, ns.task, activate=ns.activate)
        print(f"installed {model.task} model {model.version} at {model.weights}"
              + (" (in use now)" if model.active else " (not in use)"))
    elif ns.action == "export":
        print(f"wrote {registry.export_model(ns.task, ns.version, ns.folder)} and its .json card")
    else:
        registry.delete_model(ns.task, ns.version)
        print(f"deleted the {ns.task} model {ns.version}; in use now: "
              f"{registry.active_versions().get(ns.task) or 'none'}")
    return EXIT_OK
