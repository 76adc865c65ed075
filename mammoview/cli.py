"""The ``mammoview`` command: the window by default, headless subcommands otherwise.

``mammoview [PATH...] [--demo] [--screenshot PNG]`` opens the window (Qt is imported only
then). ``mammoview enhance``, ``mammoview report`` and ``mammoview info`` run without Qt
and without a display, calling the same core functions as the window.

A user error prints one line, ``mammoview: error: <what>``, on stderr and returns 2 for a
usage mistake (bad option, bad parameter value) or 1 for a failure (missing or unreadable
file, export failed); never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from mammoview import RESEARCH_NOTICE, __version__
from mammoview.core.errors import MammoViewError
from mammoview.core.progress import Progress

PROG = "mammoview"
SUBCOMMANDS = ("enhance", "report", "info")
ENHANCE_VIEWS = ("wavelet", "clahe", "adaptive-median", "superres")
REPORT_VIEWS = ("original", *ENHANCE_VIEWS)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


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
        0 on success, 1 for a failure, 2 for a usage mistake.
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
            "'mammoview enhance PATH --view VIEW -o OUT.png', "
            "'mammoview report PATH... -o OUT.pdf', 'mammoview info PATH...'; "
            "add --help to any of them"
        ),
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to open")
    parser.add_argument("--demo", action="store_true", help="open the synthetic demo studies")
    parser.add_argument(
        "--screenshot", metavar="PNG", help="save a screenshot of the window to PNG and quit"
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
        "no display to open the window on (DISPLAY is not set); "
        "the headless commands 'enhance', 'report' and 'info' work without one"
    )


def _run_subcommand(name: str, args: list[str]) -> int:
    runners = {"enhance": _cmd_enhance, "report": _cmd_report, "info": _cmd_info}
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

    line = ProgressLine()
    try:
        studies, problems = _discover(ns.paths, line)
        for problem in problems:
            _warn(problem)
        if not studies:
            raise MammoViewError("no images found to report on")
        content = build_report(
            studies, views=views, impression=ns.impression, warnings=problems, progress=line
        )
    finally:
        line.close()
    for warning in content.warnings[len(problems):]:
        _warn(warning)
    write_report(out, content)
    print(f"wrote {out} ({len(content.all_studies)} studies, {len(content.views)} pictures)")
    return EXIT_OK


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
