"""Models > Train or fine-tune…: a real (tiny) fine-tuning run driven through the dialog,
offscreen: plan, curves, cancel, resume, comparison, activation, and the window's AI
results carrying the new version; refusals shown before anything starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mammoview.nets.store as store
from mammoview.gui.dialogs.training import TrainingDialog
from mammoview.gui.trainjobs import RunRecord, TrainRequest, flush_records, latest_resumable, list_runs
from mammoview.nets.registry import install_model
from tests.conftest import REPO_ROOT
from tests.training.conftest import make_subset

from .aimodels import save_tiny_cascade

WAIT_MS = 150_000


@pytest.fixture(scope="module")
def subset(mias_dir, tmp_path_factory):
    return make_subset(mias_dir, tmp_path_factory.mktemp("train-dialog-mias"))


@pytest.fixture
def models(monkeypatch, tmp_path):
    """The tiny cascade installed and active in the test's per-user store (the child
    processes read the same store: MAMMOVIEW_DATA_DIR travels in their environment)."""
    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", tmp_path / "no-shipped-models")
    paths = save_tiny_cascade(tmp_path / "tiny")
    return {stage: install_model(paths[stage], expected_task=f"classifier-stage{stage}", activate=True)
            for stage in (1, 2)}


def wait_plan(qtbot, dialog):
    # bool(): pytest-qt takes a callback returning None for an assertion that passed.
    qtbot.waitUntil(lambda: bool(dialog.plan is not None or dialog.plan_view.refusal), timeout=WAIT_MS)


def set_up_finetune(qtbot, dialog, data):
    qtbot.waitUntil(lambda: dialog.probe is not None, timeout=WAIT_MS)
    form = dialog.form
    assert form.task == "classifier-stage1"
    assert "resnet18" in [form.arch_combo.itemText(i) for i in range(form.arch_combo.count())]
    form.radio_mias.setChecked(True)
    form.mias_row.edit.setText(str(data))
    form.radio_finetune.setChecked(True)
    form.epochs.setValue(3)
    form.batch.setValue(16)
    form.val_share.setValue(40)
    wait_plan(qtbot, dialog)


def test_fine_tune_cancel_resume_compare_activate(qtbot, window, models, subset):
    old = models[1].version
    window.open_paths([str(subset)])  # classified with the old model meanwhile
    panel = window.ai.panel

    dialog = window.open_training()
    assert isinstance(dialog, TrainingDialog) and not dialog.isModal()
    assert "Train or fine-tune…" in [a.text().replace("&", "") for a in window.models_menu.actions()]
    # The open studies with ground truth are a data choice, exported as a labels CSV.
    qtbot.waitUntil(lambda: dialog.probe is not None, timeout=WAIT_MS)
    dialog.form.radio_studies.setChecked(True)
    wait_plan(qtbot, dialog)
    assert dialog.plan_view.refusal is None, dialog.plan_view.refusal
    assert dialog.plan_data and dialog.plan_data.endswith("labels.csv"), (dialog.plan_data, dialog.plan, dialog.form.data_kind)
    assert sum(int(r[3]) for r in dialog.plan_view.rows() if r[0] in ("normal", "abnormal")) == 10

    set_up_finetune(qtbot, dialog, subset)
    assert dialog.plan_view.refusal is None, dialog.plan_view.refusal
    # Fine-tuning takes the model's own architecture and input (tiny cascade: 32 px at x0.25).
    assert dialog.form.arch_combo.currentData() == "resnet18" and dialog.form.patch.value() == 32
    rows = {r[0]: r[1:] for r in dialog.plan_view.rows()}
    assert rows["normal"] == ["2", "2", "4"] and rows["abnormal"] == ["4", "2", "6"]
    assert rows["patients"][2] == "5"

    dialog.start_button.click()
    assert dialog.running
    qtbot.waitUntil(lambda: dialog.monitor.epoch_points() >= 1, timeout=WAIT_MS)
    assert dialog.monitor.metric_curve.getData()[0] is not None and len(dialog.monitor.metric_curve.getData()[0]) >= 1
    assert dialog.monitor.device.text().startswith("Device: cpu")
    with qtbot.waitSignal(dialog.runEnded, timeout=WAIT_MS) as ended:
        dialog.cancel_button.click()
    assert ended.args == ["cancelled"]
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert dialog.record.status == "cancelled" and dialog.record.checkpoint().is_file()
    done_before = dialog.record.data["epoch"]
    assert 1 <= done_before < 3 and dialog.resume_button.isEnabled()

    # After a restart a new dialog finds the stopped run in its folder and resumes it.
    flush_records()
    dialog.close()
    window.training_dialog = None
    dialog = window.open_training()
    assert dialog.banner.isVisible() and f"epoch {done_before} of 3 done, cancelled" in dialog.banner_text.text()
    dialog.banner_resume.click()
    assert dialog.running and dialog.monitor.epoch_points() == done_before  # the curves so far, from run.json

    # Closing the window while a run goes on asks first; "Keep training" keeps both.
    asked = []
    dialog.ask = lambda title, text, yes, no: asked.append(text) or False
    window.close()
    assert asked and "epochs done" in asked[0] and window.isVisible() and dialog.running

    with qtbot.waitSignal(dialog.compared, timeout=WAIT_MS):
        pass
    assert dialog.monitor.epoch_points() == 3
    table = dialog.results.table_rows()
    assert [r[0] for r in table] == ["New model", "Model in use"]
    assert table[1][1] == old and table[0][1] != old
    assert dialog.results.confusions.count() == 2  # one confusion matrix per model
    new_version = table[0][1]
    card = json.loads(dialog.record.model_path().with_suffix(".json").read_text())
    assert card["version"] == new_version and card["start"].startswith(f"fine-tuned from the classifier-stage1 model {old}")
    assert card["epochs"] == 3 and len(card["metrics"]["history"]) == 3

    qtbot.waitUntil(lambda: old in panel.fields()["versions"], timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.activated, timeout=WAIT_MS) as activated:
        dialog.results.activate.click()
    assert activated.args == [new_version]
    qtbot.waitUntil(lambda: new_version in panel.fields()["versions"], timeout=WAIT_MS)
    assert old not in panel.fields()["versions"]
    flush_records()
    record = RunRecord.load(dialog.record.folder)
    assert record.status == "activated" and record.data["installed_version"] == new_version
    assert latest_resumable() is None  # nothing left to resume


def write_csv(folder: Path, mias_dir: Path, rows: list[tuple[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["image,class"] + [f"{mias_dir / name if name.startswith('mdb') else name},{cls}" for name, cls in rows]
    path = folder / "labels.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_refusals_are_shown_before_anything_starts(qtbot, mias_dir, tmp_path):
    dialog = TrainingDialog(None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.probe is not None, timeout=WAIT_MS)
    dialog.form.radio_csv.setChecked(True)
    bad = write_csv(tmp_path / "bad", mias_dir, [("mdb001.png", "normal"), ("missing.png", "normal"),
                                                 ("mdb002.png", "tumour")])
    dialog.form.csv_row.edit.setText(str(bad))
    wait_plan(qtbot, dialog)
    text = dialog.plan_view.status.text()
    # The engine's own message: every offending row listed.
    assert "2 bad row(s)" in text and "row 3: missing.png not found" in text and "row 4: unknown class 'tumour'" in text
    assert not dialog.start_button.isEnabled()

    one_class = write_csv(tmp_path / "one", mias_dir, [(f"mdb0{i:02d}.png", "normal") for i in (1, 2, 5, 6, 9, 10)])
    dialog.plan = None
    dialog.form.csv_row.edit.setText(str(one_class))
    qtbot.waitUntil(lambda: "only one class" in dialog.plan_view.status.text(), timeout=WAIT_MS)
    assert "6 normal, 0 abnormal" in dialog.plan_view.status.text()
    assert not dialog.start_button.isEnabled() and not dialog.running

    few = write_csv(tmp_path / "few", mias_dir, [("mdb001.png", "benign"), ("mdb002.png", "benign")]
                    + [(f"mdb0{i:02d}.png", "normal") for i in (6, 9, 11, 14)])
    dialog.form.csv_row.edit.setText(str(few))
    qtbot.waitUntil(lambda: "too few images per class" in dialog.plan_view.status.text(), timeout=WAIT_MS)
    assert "4 normal, 2 abnormal" in dialog.plan_view.status.text()
    assert not dialog.start_button.isEnabled()


def test_a_refusal_of_the_open_studies_does_not_name_our_generated_csv(mias_dir, tmp_path):
    """The open studies go through a labels CSV of ours: its path means nothing to the reader."""
    from mammoview.gui.trainjobs import TrainRequest, plan_request

    studies = [{"path": str(mias_dir / name), "rows": 1024, "cols": 1024, "patient": "", "truth": "benign",
                "findings": [[500.0, 500.0, 40.0]]} for name in ("mdb001.png", "mdb002.png")]
    request = TrainRequest(task="segmentation", data="", data_kind="studies").to_dict()
    result = plan_request(request, studies, str(tmp_path / "data"))
    assert result["data"].endswith("labels.csv") and result["data"] not in result["refused"]
    assert result["refused"].startswith("the open studies: only one class for segmentation: 2 lesion, 0 no lesion")


def test_the_dialog_modules_do_not_import_torch():
    code = ("import sys\nimport mammoview.gui.dialogs.training, mammoview.gui.trainjobs\n"
            "print(','.join(m for m in ('torch', 'torchvision') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""



def test_run_records_remember_stopped_and_interrupted_runs(tmp_path):
    request = TrainRequest(task="segmentation", data=str(tmp_path), epochs=3)
    record = RunRecord.create(request, tmp_path)
    record.update(status="running", epoch=1)
    record.save()
    assert latest_resumable(tmp_path) is None  # no checkpoint: nothing to resume
    record.checkpoint().write_bytes(b"x")
    found = list_runs(tmp_path)[0]
    assert found.status == "interrupted" and found.resumable  # "running" with no process
    assert "epoch 1 of 3 done, interrupted" in found.describe()
    record.update(status="done", epoch=3)
    record.save()
    assert latest_resumable(tmp_path) is None
    assert record.request.config(tmp_path).threads >= 1  # a core stays with the window


def test_the_monitor_shows_hard_negative_mining_as_it_goes(qtbot):
    """Stage 1 scores every training image half-way through a run: the bar and the state
    say so (it takes a minute on a CPU), and the summary lands in the log."""
    from mammoview.gui.training_monitor import RunMonitor

    monitor = RunMonitor()
    qtbot.addWidget(monitor)
    monitor.on_event({"kind": "mining", "epoch": 7, "epochs": 12, "step": 50, "steps": 200,
                      "message": "finding hard negatives: mdb101"})
    assert monitor.bar.value() == 250 and "50/200" in monitor.bar.format()
    assert "Epoch 7" in monitor.state.text() and "hard negatives" in monitor.state.text()
    monitor.on_event({"kind": "mining", "epoch": 7, "epochs": 12, "step": 200, "steps": 200,
                      "message": "1015 hard negative windows from 203 training images"})
    assert "1015 hard negative windows" in monitor.log.toPlainText()


def test_make_active_says_anyway_for_a_model_that_scores_lower(qtbot):
    from mammoview.gui.training_results import ACTIVATE, ACTIVATE_WORSE, ResultsView

    view = ResultsView()
    qtbot.addWidget(view)

    def compare(new, old):
        view.show_comparison({"metric": "mean PSNR, dB", "metric_short": "PSNR dB", "images": 4, "patients": 2,
                              "card": {"task": "superres"},
                              "rows": [{"label": "new", "value": new}, {"label": "in use", "value": old}]})

    compare(33.82, 46.91)
    assert view.activate.isEnabled() and view.activate.text() == ACTIVATE_WORSE
    assert "scores lower than the model in use (33.820 against 46.910" in view.activate.toolTip()
    compare(47.0, 46.91)
    assert view.activate.text() == ACTIVATE and "scores lower" not in view.activate.toolTip()
