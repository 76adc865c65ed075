"""Models > "Classify all studies": the worklist's AI column fills for studies the reader
never visits, reading goes on undisturbed, it can be stopped, a bad file is named and
skipped, opening other studies cancels it, and disabled models disable it (real MIAS
files, tiny random-weight models)."""

from __future__ import annotations

import re
import shutil

import pytest

import mammoview.nets.store as store
from mammoview.gui.aitriage import JOB_PREFIX, START_TEXT, STOP_TEXT
from mammoview.gui.panels.study_browser import COL_AI, COL_STUDY
from mammoview.nets.store import user_models_dir

from .aimodels import save_tiny_cascade

WAIT_MS = 120_000
SCORE = re.compile(r"(10|[1-9])/10")
# MIAS patients 1, 3, 4 and 5: two images (right, left MLO) each, four studies.
PATIENTS = (("mdb001.png", "mdb002.png"), ("mdb005.png", "mdb006.png"),
            ("mdb007.png", "mdb008.png"), ("mdb009.png", "mdb010.png"))


@pytest.fixture
def models(monkeypatch, tmp_path):
    # Only the test's models count, whatever ships in models/.
    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", tmp_path / "no-shipped-models")
    return save_tiny_cascade(user_models_dir())


def mias_folder(mias_dir, folder, studies: int):
    folder.mkdir()
    for pair in PATIENTS[:studies]:
        for name in pair:
            shutil.copy(mias_dir / name, folder / name)
    shutil.copy(mias_dir / "Info.txt", folder / "Info.txt")
    return folder


def open_folder(qtbot, window, folder, studies: int):
    with qtbot.waitSignal(window.worklist.worklistReady, timeout=WAIT_MS):
        window.open_paths([str(folder)])
    assert len(window.studies) == studies
    qtbot.waitUntil(lambda: window.ai.ready, timeout=WAIT_MS)


def ai_column(window) -> list[str]:
    browser = window.browser
    return [browser.cell_text(i, COL_AI) for i in range(len(browser.studies()))]


def uids_of(study) -> set[str]:
    return {ref.uid for ref in study.images}


def triage_jobs(window) -> list[str]:
    return [n for n in window.ai.runner.outstanding_names() if n.startswith(JOB_PREFIX)]


def test_classify_all_studies_scores_every_study_without_visiting_it(qtbot, window, models, mias_dir, tmp_path):
    open_folder(qtbot, window, mias_folder(mias_dir, tmp_path / "three", 3), 3)
    shown: list[str] = []
    window.imageShown.connect(shown.append)
    progress: list[str] = []
    triage = window.ai.triage
    triage.progressed.connect(lambda done, total: progress.append(triage.label.text()))
    assert triage.action in window.models_menu.actions() and triage.action.isEnabled()
    assert triage.action.text() == START_TEXT

    triage.action.trigger()
    assert triage.action.text() == STOP_TEXT
    qtbot.waitUntil(lambda: all(SCORE.fullmatch(text) for text in ai_column(window)), timeout=WAIT_MS)

    # The reader never left the first study: the other two were scored in the background.
    assert window.position.study == 0
    visited = set(shown)
    for study in window.studies[1:]:
        assert not visited & uids_of(study)
    # Each row shows that study's own aggregate (the same one the AI panel would show).
    for index, study in enumerate(window.studies):
        result = window.ai.study_result(study)
        assert result is not None and ai_column(window)[index] == f"{result.suspicion}/10"
    qtbot.waitUntil(lambda: not triage.active, timeout=WAIT_MS)
    assert triage.label.text() == "AI: all studies classified (6 images)"
    assert triage.action.text() == START_TEXT
    assert any(re.fullmatch(r"AI: classifying all studies [0-5]/6 images", p) for p in progress), progress
    assert window.browser.cell_text(2, COL_STUDY) == "MIAS patient 4"


def test_moving_between_images_while_triage_runs_shows_the_right_result(qtbot, window, models, mias_dir, tmp_path):
    open_folder(qtbot, window, mias_folder(mias_dir, tmp_path / "four", 4), 4)
    dropped: list[str] = []
    window.ai.runner.dropped.connect(dropped.append)
    panel = window.ai.panel
    seen = []
    original = panel.show_result

    def spy(result, name, truth):
        ref = window.current_ref()
        seen.append((result.uid, ref.uid, name, ref.display_name))
        original(result, name, truth)

    panel.show_result = spy
    triage = window.ai.triage
    triage.action.trigger()
    # Back and forth over the first three studies' images while triage runs.
    steps = [window.next_image] * 5 + [window.previous_image] * 3 + [window.next_study]
    moves_while_running = 0
    for step in steps * 3:
        if not triage.active:
            break
        step()
        moves_while_running += 1
        qtbot.wait(50)
    assert moves_while_running >= 3

    qtbot.waitUntil(lambda: all(SCORE.fullmatch(text) for text in ai_column(window)), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.shown_uid == window.current_ref().uid, timeout=WAIT_MS)
    assert seen, "no result was shown"
    assert all(shown == current and name == current_name for shown, current, name, current_name in seen)
    current = window.current_ref()
    cached = window.ai.result_for(current.uid)
    assert panel.fields()["image"] == current.display_name
    assert panel.fields()["p_abnormal"] == f"{cached.p_abnormal:.3f}"
    # Moving on cancels the shown images' work, never triage's.
    assert not [n for n in dropped if n.startswith(JOB_PREFIX)], dropped
    qtbot.waitUntil(lambda: not triage.active, timeout=WAIT_MS)
    assert triage.label.text() == "AI: all studies classified (8 images)"


def test_stopping_leaves_unvisited_studies_unscored_and_new_studies_cancel_it(
        qtbot, window, models, mias_dir, tmp_path):
    open_folder(qtbot, window, mias_folder(mias_dir, tmp_path / "four", 4), 4)
    triage = window.ai.triage
    second = uids_of(window.studies[1])
    dropped: list[str] = []
    window.ai.runner.dropped.connect(dropped.append)

    def stop_at_first_background_result(done, total):
        # After the first image of a study the reader has not visited, while triage's
        # next job is already under way: the user chose "Stop classifying all studies".
        if triage.active and any(window.ai.result_for(uid) for uid in second):
            assert triage_jobs(window)
            triage.action.trigger()

    triage.progressed.connect(stop_at_first_background_result)
    triage.action.trigger()
    qtbot.waitUntil(lambda: not triage.active, timeout=WAIT_MS)
    assert triage.action.text() == START_TEXT
    assert re.fullmatch(r"AI: classifying all studies stopped at [1-7]/8 images", triage.label.text())
    # The cancelled jobs drain; the reader's own study is still classified and scored.
    qtbot.waitUntil(lambda: not triage_jobs(window) and bool(SCORE.fullmatch(ai_column(window)[0])),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.ai.runner.outstanding == 0, timeout=WAIT_MS)
    qtbot.wait(300)
    assert ai_column(window)[2:] == ["", ""]
    for study in window.studies[2:]:
        assert all(window.ai.result_for(uid) is None for uid in uids_of(study))
    assert [n for n in dropped if n.startswith(JOB_PREFIX)], "the running triage job was not cancelled"
    triage.progressed.disconnect(stop_at_first_background_result)

    # Started again, then the user opens another folder: the old list's triage is stale.
    triage.action.trigger()
    assert triage.active
    with qtbot.waitSignal(window.studiesOpened, timeout=WAIT_MS):
        window.open_paths([str(mias_folder(mias_dir, tmp_path / "one", 1))])
    assert not triage.active and triage.action.text() == START_TEXT
    assert triage.label.text().startswith("AI: classifying all studies stopped (other studies were opened)")
    qtbot.waitUntil(lambda: not triage_jobs(window), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.ai.panel.shown_uid == window.current_ref().uid, timeout=WAIT_MS)


def test_a_corrupt_file_is_named_and_the_other_studies_are_scored(qtbot, window, models, mias_dir, tmp_path):
    folder = mias_folder(mias_dir, tmp_path / "three", 3)
    corrupt = folder / "mdb008.png"  # patient 4's left MLO: a valid header, truncated data
    corrupt.write_bytes(corrupt.read_bytes()[:2000])
    open_folder(qtbot, window, folder, 3)
    triage = window.ai.triage
    triage.action.trigger()
    qtbot.waitUntil(lambda: not triage.active, timeout=WAIT_MS)
    assert triage.label.text() == "AI: all studies classified (6 images, 1 failed: see Problems)"
    problems = [p for p in window.problems.problems() if p[0] == "mdb008.png"]
    # A file that cannot be read is listed as the viewer lists it, not as a classifier fault.
    assert problems and not problems[0][1].startswith("AI classification failed"), window.problems.problems()
    # Every study is scored; patient 4's from its readable image (mdb007).
    qtbot.waitUntil(lambda: all(SCORE.fullmatch(text) for text in ai_column(window)), timeout=WAIT_MS)
    bad = window.studies[2]
    assert window.ai.result_for(bad.images[1].uid).reason.startswith("could not open:")
    assert window.ai.study_result(bad).suspicion == window.ai.result_for(bad.images[0].uid).suspicion


def test_disabled_models_disable_the_action_and_say_why(qtbot, window, monkeypatch, mias_dir, tmp_path):
    monkeypatch.setattr(store, "SHIPPED_MODELS_DIR", tmp_path / "none")
    triage = window.ai.triage
    assert not triage.action.isEnabled()  # nothing open yet
    with qtbot.waitSignal(window.worklist.worklistReady, timeout=WAIT_MS):
        window.open_paths([str(mias_folder(mias_dir, tmp_path / "three", 3))])
    qtbot.waitUntil(lambda: window.ai.state == "disabled", timeout=WAIT_MS)
    assert not triage.action.isEnabled()
    assert triage.action.toolTip().startswith("AI disabled:") and "classifier-stage1" in triage.action.toolTip()
    triage.start()  # e.g. a stale menu: says why, never crashes
    assert not triage.active
    assert triage.label.text().startswith("AI: cannot classify all studies: AI disabled:")
    assert ai_column(window) == ["", "", ""]
