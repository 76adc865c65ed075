"""The worklist in the study browser: states, assessment, ground truth, AI score; filter,
sort, the next-unread key, and refresh when a reading changes (here or in another window)."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QPoint, Qt

from mammoview.gui.dialogs.shortcuts import describe_shortcuts
from mammoview.gui.panels.study_browser import (
    COL_AI,
    COL_BIRADS,
    COL_DATE,
    COL_DENSITY,
    COL_STATE,
    COL_STUDY,
    COL_TRUTH,
)
from mammoview.io.discovery import discover
from mammoview.reading import ReadingSession, ReadingStore
from tests.reading.helpers import images_of, write_dicom_study

WAIT_MS = 60_000


@pytest.fixture
def four_studies(tmp_path):
    """Four DICOM studies (patients P0..P3): P1 read (BI-RADS 4, density C), P2 in progress
    (BI-RADS 2), P0 and P3 unread; the readings made through the core before the window opens."""
    root = tmp_path / "worklist"
    for i in range(4):
        write_dicom_study(root / f"s{i}", f"1.2.826.0.1.3680043.8.498.{300 + i}", patient_name=f"P{i}^Test", seed=i)
    studies = {s.label: s for s in discover(root).studies}
    with ReadingStore() as store:  # the per-user database of this test (MAMMOVIEW_DATA_DIR)
        with ReadingSession.open(store, studies["P1 Test"], reader="r1") as session:
            image = images_of(studies["P1 Test"])[0]
            session.add_ellipse(session.context_for(image), "mass", (10.0, 10.0), (5.0, 3.0))
            session.set_birads("overall", 4)
            session.set_density("C")
            session.mark_read()
        with ReadingSession.open(store, studies["P2 Test"], reader="r1") as session:
            session.set_birads("overall", 2)
    return root


def open_worklist(qtbot, window, paths):
    with qtbot.waitSignal(window.worklist.worklistReady, timeout=WAIT_MS):
        window.open_paths(paths)
    return window.browser


def column(browser, col):
    return {browser.cell_text(i, COL_STUDY): browser.cell_text(i, col) for i in range(len(browser.studies()))}


def click_header(qtbot, browser, col):
    header = browser.header()
    x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def test_states_assessment_filter_sort_and_next_unread(qtbot, window, four_studies):
    browser = open_worklist(qtbot, window, [four_studies])
    assert column(browser, COL_STATE) == {"P0 Test": "unread", "P1 Test": "read", "P2 Test": "in progress",
                                          "P3 Test": "unread"}
    assert column(browser, COL_BIRADS) == {"P0 Test": "", "P1 Test": "4", "P2 Test": "2", "P3 Test": ""}
    assert column(browser, COL_DENSITY)["P1 Test"] == "C"
    filters = window.browser_dock.widget().filters
    assert filters.counts.text() == "2 unread · 1 in progress · 1 read"

    filters.choose(state="Unread")
    assert browser.row_texts() == ["P0 Test", "P3 Test"]
    assert "2 of 4 shown" in filters.counts.text()
    filters.choose(state="Not read yet")
    assert browser.row_texts() == ["P0 Test", "P2 Test", "P3 Test"]
    filters.choose(state="Any state", birads="BI-RADS 4-6")
    assert browser.row_texts() == ["P1 Test"]
    filters.choose(birads="Not assessed")
    assert browser.row_texts() == ["P0 Test", "P3 Test"]
    filters.choose(birads="Any BI-RADS")
    filters.search.setText("p2")
    assert browser.row_texts() == ["P2 Test"]
    filters.search.clear()

    # Header clicks: ascending, descending (no value still last), back to the opened order.
    click_header(qtbot, browser, COL_BIRADS)
    assert browser.row_texts() == ["P2 Test", "P1 Test", "P0 Test", "P3 Test"]
    click_header(qtbot, browser, COL_BIRADS)
    assert browser.row_texts() == ["P1 Test", "P2 Test", "P0 Test", "P3 Test"]
    click_header(qtbot, browser, COL_BIRADS)
    assert browser.row_texts() == ["P0 Test", "P1 Test", "P2 Test", "P3 Test"]
    click_header(qtbot, browser, COL_STATE)
    assert browser.row_texts() == ["P0 Test", "P3 Test", "P2 Test", "P1 Test"]

    # The key: the next unread study in the order shown, wrapping round.
    labels = [s.label for s in window.studies]
    window.show_image(labels.index("P2 Test"), 0)
    qtbot.keyClick(window, Qt.Key.Key_U)
    assert window.current_study().label == "P0 Test"  # after P2 in this order: P1 (read), wrap, P0
    qtbot.keyClick(window, Qt.Key.Key_U)
    assert window.current_study().label == "P3 Test"
    qtbot.keyClick(window, Qt.Key.Key_U)
    assert window.current_study().label == "P0 Test"
    filters.choose(state="Read")
    qtbot.keyClick(window, Qt.Key.Key_U)
    assert window.current_study().label == "P0 Test" and "No unread study" in window.work_label.text()


def test_states_follow_edits_here_and_in_another_window(qtbot, window, four_studies):
    browser = open_worklist(qtbot, window, [four_studies])
    labels = [s.label for s in window.studies]
    p0 = labels.index("P0 Test")
    window.show_image(p0, 0)
    qtbot.waitUntil(lambda: window.reading.session is not None and window.reading.session.study_key == browser.row(p0).key,
                    timeout=WAIT_MS)
    # An edit through the window's reading session: the row follows without a poll.
    window.reading.session.set_density("B")
    qtbot.waitUntil(lambda: browser.cell_text(p0, COL_STATE) == "in progress", timeout=2000)
    assert browser.cell_text(p0, COL_DENSITY) == "B"

    # Another MammoView (another connection) reads P3: the browser's poll picks it up.
    p3 = labels.index("P3 Test")
    with ReadingStore() as other:
        with ReadingSession.open(other, window.studies[p3], reader="r2") as session:
            session.set_birads("overall", 1)
            session.mark_read()
    qtbot.waitUntil(lambda: browser.cell_text(p3, COL_STATE) == "read", timeout=6000)
    assert browser.cell_text(p3, COL_BIRADS) == "1"
    assert window.browser_dock.widget().filters.counts.text() == "0 unread · 2 in progress · 2 read"


@pytest.fixture
def mias_truth(mias_dir, tmp_path):
    """Three MIAS patients: 1 (mdb001/002, benign), 4 (mdb007/008, normal), 12 (mdb023/024, malignant)."""
    folder = tmp_path / "mias"
    folder.mkdir()
    for name in ("mdb001.png", "mdb002.png", "mdb007.png", "mdb008.png", "mdb023.png", "mdb024.png", "Info.txt"):
        shutil.copy(mias_dir / name, folder / name)
    return folder


def test_ground_truth_column_filter_and_ai_score(qtbot, window, mias_truth, monkeypatch):
    browser = open_worklist(qtbot, window, [mias_truth])
    truth = column(browser, COL_TRUTH)
    assert truth == {"MIAS patient 1": "benign", "MIAS patient 4": "normal", "MIAS patient 12": "malignant"}
    filters = window.browser_dock.widget().filters
    filters.choose(truth="Abnormal")
    assert sorted(browser.row_texts()) == ["MIAS patient 1", "MIAS patient 12"]
    filters.choose(truth="Normal")
    assert browser.row_texts() == ["MIAS patient 4"]
    filters.choose(truth="Any ground truth")
    browser.sort_by(COL_TRUTH, descending=True)
    assert browser.row_texts() == ["MIAS patient 12", "MIAS patient 1", "MIAS patient 4"]

    # The AI column shows the classifier's study suspicion once it has one (the classifier
    # itself is tested in tests/gui/test_ai.py; here only what the browser does with it).
    from mammoview.gui.aijobs import Classification

    ai = window.ai
    result = Classification("study", p_abnormal=0.9, p_malignant=0.8, label="malignant", suspicion=8)
    target = next(s for s in window.studies if s.label == "MIAS patient 4")
    monkeypatch.setattr(type(ai), "ready", property(lambda self: True))
    monkeypatch.setattr(ai, "study_result", lambda study: result if study is target else None)
    monkeypatch.setattr(ai, "aggregates", {"one": object()})
    window.worklist.update_ai_scores()
    assert column(browser, COL_AI) == {"MIAS patient 1": "", "MIAS patient 4": "8/10", "MIAS patient 12": ""}
    # Sized while empty, the column grows to show the score whole (not "8…").
    assert browser.columnWidth(COL_AI) > browser.fontMetrics().horizontalAdvance("8/10")
    browser.sort_by(COL_AI, descending=True)
    assert browser.row_texts()[0] == "MIAS patient 4"


def test_next_unread_key_is_unique_and_listed(window):
    keys = {}
    for action in window.findChildren(type(window.act_next_unread)):
        for seq in action.shortcuts():
            text = seq.toString()
            if text:
                keys.setdefault(text, set()).add(action.text())
    clashes = {k: v for k, v in keys.items() if len(v) > 1}
    assert clashes == {}
    rows = dict((what, key) for key, what in describe_shortcuts(window.shortcut_actions()))
    assert rows["Next unread study"] == "U"


def _phantom_studies(count: int) -> list:
    """Studies that need no files (phantom refs are keyed without hashing)."""
    from mammoview.core.image import ImageRef
    from mammoview.core.study import Study

    return [Study(uid=f"s{i}", label=f"case {i:04d}", images=[ImageRef(
        path=f"phantom://s{i}/RCC", kind="phantom", uid=f"s{i}-RCC", study_uid=f"s{i}", laterality="R",
        view="CC")]) for i in range(count)]


def test_a_long_worklist_is_listed_in_batches_and_sorts_like_the_core(qtbot, tmp_path):
    from dataclasses import replace

    from mammoview.gui.panels.study_browser import BATCH, StudyBrowser, sort_worklist_rows
    from mammoview.reading import Reading, build_worklist
    from mammoview.reading.worklist import sort_rows

    browser = StudyBrowser()
    qtbot.addWidget(browser)
    studies = _phantom_studies(3 * BATCH + 7)
    browser.set_studies(studies)
    assert browser.topLevelItemCount() == BATCH and browser.listing  # the rest from the event loop
    browser.sort_by(COL_STUDY, descending=True)  # asked while listing: applied once all are in
    qtbot.waitUntil(lambda: not browser.listing, timeout=10_000)
    assert browser.topLevelItemCount() == len(studies)
    assert browser.row_texts()[:2] == [f"case {len(studies) - 1:04d}", f"case {len(studies) - 2:04d}"]

    with ReadingStore(tmp_path / "readings.sqlite3") as store:
        first = build_worklist(studies, store)
        store.replace_readings([
            replace(Reading(row.key), state=("in progress", "read")[i % 2], birads_overall=(i * 5) % 7 or None,
                    density="ABCD"[i % 4], revision=1, updated_at=1.0)
            for i, row in enumerate(first.rows[::3])])
        worklist = build_worklist(studies, store)
    browser.set_worklist(worklist)
    for column, core_key in ((COL_STUDY, "label"), (COL_STATE, "state"), (COL_BIRADS, "birads"),
                             (COL_TRUTH, "ground_truth"), (COL_DATE, "date")):
        for descending in (False, True):
            ours = [r.order for r in sort_worklist_rows(worklist.rows, column, descending=descending)]
            core = [r.order for r in sort_rows(worklist.rows, core_key, descending=descending)]
            assert ours == core, (column, descending)
    browser.sort_by(COL_DENSITY)
    densities = [browser.cell_text(i, COL_DENSITY) for i in browser.visible_studies()]
    known = [d for d in densities if d]
    assert known == sorted(known) and densities[len(known):] == [""] * (len(densities) - len(known))
