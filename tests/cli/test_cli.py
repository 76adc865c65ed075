"""The mammoview command: headless subcommands, exit codes and one-line errors."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import types

import numpy as np
import pytest
from PIL import Image as PILImage
from pypdf import PdfReader

from mammoview import __version__
from mammoview.cli import ProgressLine, display_problem, main
from mammoview.core.progress import Progress
from tests.conftest import REPO_ROOT, require_data




def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mammoview: error: ")
    assert "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------- enhance


@pytest.mark.parametrize(("view", "factor"), [("clahe", 1), ("superres", 2)])
def test_enhance_real_mias_image_writes_png_of_the_right_size(tmp_path, mias_pgm_folder, capsys, view, factor):
    out = tmp_path / f"{view}.png"
    assert main(["enhance", str(mias_pgm_folder / "mdb001.pgm"), "--view", view, "-o", str(out)]) == 0
    with PILImage.open(out) as png:
        assert png.size == (1024 * factor, 1024 * factor)
        assert png.mode.startswith("I")  # 16-bit greyscale by default
        values = np.asarray(png)
    assert values.max() > 60000 and values.min() < 5000  # the full enhanced range is used
    assert f"{1024 * factor} x {1024 * factor}" in capsys.readouterr().out


def test_enhance_parameters_and_8_bit_output(tmp_path, mias_pgm_folder):
    out = tmp_path / "w.png"
    args = ["enhance", str(mias_pgm_folder / "mdb002.pgm"), "--view", "wavelet", "--wavelet", "db2",
            "--levels", "3", "--gain", "1.5", "--bits", "8", "-o", str(out)]
    assert main(args) == 0
    with PILImage.open(out) as png:
        assert png.mode == "L" and png.size == (1024, 1024)


def test_enhance_missing_file_is_one_line_and_exit_1(tmp_path, capsys):
    code = main(["enhance", str(tmp_path / "mdb999.png"), "--view", "clahe", "-o", str(tmp_path / "o.png")])
    assert code == 1
    assert _one_error_line(capsys.readouterr().err) == "mammoview: error: mdb999.png: file not found"
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--view", "sharpen", "-o", "OUT"], "invalid choice: 'sharpen'"),
        (["--view", "wavelet", "--levels", "0", "-o", "OUT"], "levels must be"),
        (["--view", "wavelet", "--tiles", "4", "-o", "OUT"], "--tiles does not apply to --view wavelet"),
        (["--view", "clahe", "--clip-limit", "abc", "-o", "OUT"], "--clip-limit"),
        (["--view", "clahe"], "-o/--output"),
    ],
)
def test_enhance_usage_mistakes_exit_2(tmp_path, mias_pgm_folder, capsys, extra, message):
    out = tmp_path / "o.png"
    args = ["enhance", str(mias_pgm_folder / "mdb001.pgm"), *[str(out) if a == "OUT" else a for a in extra]]
    assert main(args) == 2
    assert message in _one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_enhance_undecodable_mammogram_is_a_failure(tmp_path, capsys):
    jply = require_data("dicom-samples", "mammo", "wg04_MG1_JPLY.dcm")
    assert main(["enhance", str(jply), "--view", "clahe", "-o", str(tmp_path / "o.png")]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "wg04_MG1_JPLY.dcm" in line and "decode" in line
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- report


def test_report_on_mias_folder_writes_pdf_listing_findings(tmp_path, mias_pgm_folder, capsys):
    out = tmp_path / "out.pdf"
    code = main(["report", str(mias_pgm_folder), "-o", str(out), "--views", "original,clahe",
                 "--impression", "Benign masses, no change."])
    assert code == 0
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(str(out)).pages]
    assert len(pages) == 5  # summary + one page per image
    first = pages[0]
    assert "Benign masses, no change." in first
    assert "mdb001.pgm" in first and "(599, 535)" in first and "circumscribed mass" in first
    assert "mdb006.pgm" in first and "normal" in first
    assert all(f"Page {i} of 5" in text for i, text in enumerate(pages, start=1))
    assert "wrote" in capsys.readouterr().out


def test_report_bad_views_or_unwritable_output(tmp_path, mias_pgm_folder, capsys):
    assert main(["report", str(mias_pgm_folder), "-o", str(tmp_path / "r.pdf"), "--views", "original,foo"]) == 2
    assert "unknown view 'foo'" in _one_error_line(capsys.readouterr().err)
    assert main(["report", str(mias_pgm_folder), "-o", str(tmp_path / "no" / "r.pdf")]) == 1
    assert "r.pdf" in _one_error_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == [mias_pgm_folder]


def test_report_with_only_unreadable_files_fails(tmp_path, capsys):
    other = require_data("dicom-samples", "other")
    assert main(["report", str(other / "pydicom_MR_truncated.dcm"), "-o", str(tmp_path / "r.pdf")]) == 1
    err = capsys.readouterr().err
    assert "mammoview: error: no images found to report on" in err
    assert "pydicom_MR_truncated.dcm" in err  # the reason is given as a warning line
    assert "Traceback" not in err and not (tmp_path / "r.pdf").exists()


# ---------------------------------------------------------------- info


def test_info_lists_studies_views_and_ground_truth(mias_pgm_folder, capsys):
    truncated = require_data("dicom-samples", "other", "pydicom_MR_truncated.dcm")
    assert main(["info", str(mias_pgm_folder), str(truncated)]) == 0
    out = capsys.readouterr().out
    assert "MIAS patient 1" in out and "MIAS patient 3" in out
    assert "RMLO, LMLO" in out
    assert "Ground truth: benign" in out
    assert "row 599, col 535" in out
    assert "Problems (1):" in out and "pydicom_MR_truncated.dcm" in out


def test_info_on_nothing_readable_exits_1(capsys):
    truncated = require_data("dicom-samples", "other", "pydicom_MR_truncated.dcm")
    assert main(["info", str(truncated)]) == 1
    captured = capsys.readouterr()
    assert "pydicom_MR_truncated.dcm" in captured.out
    assert _one_error_line(captured.err) == "mammoview: error: no readable images found"


# ---------------------------------------------------------------- GUI dispatch, version, progress


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mammoview {__version__}"


def test_paths_go_to_the_gui(monkeypatch):
    calls = []
    fake = types.ModuleType("mammoview.gui.app")
    fake.run = lambda paths, demo=False, screenshot=None: calls.append((paths, demo, screenshot)) or 0
    monkeypatch.setitem(sys.modules, "mammoview.gui.app", fake)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main(["a.dcm", "folder", "--demo", "--screenshot", "s.png"]) == 0
    assert main([]) == 0
    assert calls == [(["a.dcm", "folder"], True, "s.png"), ([], False, None)]


def test_gui_without_a_display_says_so():
    assert "no display" in display_problem({}, "linux")
    assert display_problem({"DISPLAY": ":0"}, "linux") == ""
    assert display_problem({}, "darwin") == ""


def test_progress_line_only_on_a_terminal():
    quiet = io.StringIO()
    line = ProgressLine(quiet)
    line(Progress(1, 4, "mdb001.pgm: clahe"))
    line.close()
    assert quiet.getvalue() == ""

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    line = ProgressLine(tty)
    line(Progress(1, 4, "mdb001.pgm: clahe"))
    line(Progress(4, 4, "done"))
    line.close()
    assert "\r 25% [1/4] mdb001.pgm: clahe" in tty.getvalue()
    assert tty.getvalue().endswith("\n") and "100%" in tty.getvalue()


# ---------------------------------------------------------------- real processes


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_subprocess_exit_codes_and_one_line_errors(tmp_path):
    missing = _run("-m", "mammoview", "enhance", "mdb999.png", "--view", "clahe", "-o", str(tmp_path / "o.png"))
    assert missing.returncode == 1
    assert _one_error_line(missing.stderr) == "mammoview: error: mdb999.png: file not found"

    bad_view = _run("-m", "mammoview", "enhance", "x.png", "--view", "nope", "-o", "o.png")
    assert bad_view.returncode == 2
    assert "invalid choice: 'nope'" in _one_error_line(bad_view.stderr)

    truncated = require_data("dicom-samples", "other", "pydicom_MR_truncated.dcm")
    corrupt = _run("-m", "mammoview", "enhance", str(truncated), "--view", "clahe", "-o", str(tmp_path / "o.png"))
    assert corrupt.returncode == 1
    assert "pydicom_MR_truncated.dcm" in _one_error_line(corrupt.stderr)
    assert not (tmp_path / "o.png").exists()


def test_headless_commands_never_import_qt(tmp_path, mias_pgm_folder):
    script = (
        "import sys\n"
        "from mammoview.cli import main\n"
        f"rc = [main(['enhance', {str(mias_pgm_folder / 'mdb001.pgm')!r}, '--view', 'clahe', "
        f"'-o', {str(tmp_path / 'e.png')!r}]),\n"
        f"      main(['report', {str(mias_pgm_folder / 'mdb002.pgm')!r}, '-o', {str(tmp_path / 'r.pdf')!r}, "
        "'--views', 'original']),\n"
        f"      main(['info', {str(mias_pgm_folder)!r}])]\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'))\n"
        "print('RC', rc, 'QT', qt)\n"
    )
    result = _run("-c", script)
    assert "RC [0, 0, 0] QT []" in result.stdout, result.stdout + result.stderr
    assert (tmp_path / "e.png").exists() and (tmp_path / "r.pdf").exists()


def test_png_export_is_atomic(tmp_path, monkeypatch):
    from mammoview.cli import write_png
    from mammoview.core.errors import ExportError

    target = tmp_path / "e.png"
    target.write_bytes(b"previous")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ExportError, match="e.png: .*No space left"):
        write_png(target, np.zeros((4, 4), np.float32))
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["e.png"]
