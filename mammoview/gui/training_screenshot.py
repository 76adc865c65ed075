"""The README's picture of the training dialog during a run, made by the app itself.

``python -m mammoview.gui.training_screenshot OUT.png`` (``make screenshot-training`` runs
it under Xvfb) opens Models > Train or fine-tune… on its own, sets up a real run
(classifier stage 1 from scratch on MIAS patients: a subset of the real data folder),
starts it, waits until the curves have a few epochs, grabs the dialog and saves the PNG,
then stops the run (its checkpoint stays in the throw-away data folder).

Research use only, not for diagnosis.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

#: MIAS patients in the picture's run (both breasts each): enough for a meaningful
#: validation AUC, few enough that an epoch takes seconds on two CPU cores.
PATIENTS = 40
SETTLE_MS = 800


def mias_folder() -> Path:
    """$MAMMOVIEW_DATA/mias, else the shared data folder beside the checkout."""
    root = os.environ.get("MAMMOVIEW_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[3] / "shared" / "data"
    return base / "mias"


def subset(source: Path, folder: Path, patients: int) -> Path:
    """The first ``patients`` MIAS patients with both images, linked into ``folder``."""
    from mammoview.io.mias import mias_number

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "Info.txt", folder / "Info.txt")
    numbers = {mias_number(p.name): p for p in source.glob("mdb*.png")}
    pairs = sorted(k for k in numbers if k % 2 == 1 and k + 1 in numbers)[:patients]
    for k in pairs:
        for n in (k, k + 1):
            target = folder / numbers[n].name
            try:
                target.symlink_to(numbers[n])
            except OSError:
                shutil.copy(numbers[n], target)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="PNG to write")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--points", type=int, default=5, help="epochs on the curves before the grab")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before giving up")
    args = parser.parse_args(argv)
    source = mias_folder()
    if not (source / "Info.txt").is_file():
        print(f"{source}: no MIAS folder (set MAMMOVIEW_DATA)", file=sys.stderr)
        return 2

    from PySide6.QtCore import QTimer

    from mammoview.gui.app import create_application
    from mammoview.gui.dialogs.training import TrainingDialog

    app = create_application()
    work = Path(tempfile.mkdtemp(prefix="mammoview-shot-"))
    data = subset(source, work / "mias", PATIENTS)
    dialog = TrainingDialog(None)
    dialog.resize(1360, 860)
    dialog.show()
    status = {"code": 1, "stage": "probe"}

    def step() -> None:
        form = dialog.form
        if status["stage"] == "probe" and dialog.probe is not None:
            form.mias_row.edit.setText(str(data))
            form.radio_scratch.setChecked(True)
            form.epochs.setValue(args.epochs)
            status["stage"] = "plan"
        elif status["stage"] == "plan" and dialog.plan is not None:
            dialog.start_training()
            status["stage"] = "run"
        elif status["stage"] == "plan" and dialog.plan_view.refusal:
            print(f"refused: {dialog.plan_view.refusal}", file=sys.stderr)
            app.quit()
        elif status["stage"] == "run" and dialog.monitor.epoch_points() >= args.points:
            status["stage"] = "grab"
            QTimer.singleShot(SETTLE_MS, grab)
        elif status["stage"] == "run" and not dialog.running:
            print(f"the run ended early: {dialog.monitor.state.text()}", file=sys.stderr)
            app.quit()

    def grab() -> None:
        if dialog.grab().save(args.output):
            status["code"] = 0
            print(f"wrote {args.output}")
        dialog.shutdown()
        app.quit()

    poll = QTimer()
    poll.timeout.connect(step)
    poll.start(200)
    QTimer.singleShot(int(args.timeout * 1000), app.quit)
    app.exec()
    if dialog.running:
        dialog.shutdown()
    shutil.rmtree(work, ignore_errors=True)
    return status["code"]


if __name__ == "__main__":
    sys.exit(main())
