"""Study identity that survives renaming/moving files; the worklist over discovered studies."""

from __future__ import annotations

import shutil

import pytest

from mammoview.io.discovery import discover
from mammoview.reading import ReadingSession, build_worklist, study_identity
from mammoview.reading.worklist import filter_rows, sort_rows

from tests.reading.helpers import images_of, only_study, write_dicom_study, write_png


def test_a_renamed_and_moved_png_study_finds_its_reading_again(tmp_path, store):
    folder = tmp_path / "incoming" / "case7"
    folder.mkdir(parents=True)
    write_png(folder / "left.png", 1)
    write_png(folder / "right.png", 2)
    study = only_study(folder)
    key = study_identity(study, store=store).key
    assert key.startswith("sha256:")
    with ReadingSession.open(store, study) as session:
        image = images_of(study)[0]
        session.add_point(session.context_for(image), "mass", (3.0, 4.0), note="keep me")

    moved = tmp_path / "archive" / "2024" / "renamed-case"
    moved.parent.mkdir(parents=True)
    shutil.move(str(folder), moved)
    (moved / "left.png").rename(moved / "L-CC.png")
    (moved / "right.png").rename(moved / "R-CC.png")
    study2 = only_study(moved)
    assert study2.images[0].path != study.images[0].path
    with ReadingSession.open(store, study2) as again:
        assert again.study_key == key
        (finding,) = again.reading.findings
        assert finding.note == "keep me"
        # ... and the mark is still on the same image (by content), whatever its name now.
        renamed_images = {again.identity.image_key(ref): ref for ref in study2.images}
        assert finding.image_key in renamed_images


def test_changed_pixels_make_another_study(tmp_path, store):
    folder = tmp_path / "case"
    folder.mkdir()
    write_png(folder / "a.png", 1)
    before = study_identity(only_study(folder), store=store).key
    write_png(folder / "a.png", 99)
    assert study_identity(only_study(folder), store=store).key != before


def test_dicom_study_is_keyed_by_its_study_instance_uid(tmp_path, store):
    write_dicom_study(tmp_path / "d", "1.2.826.0.1.3680043.8.498.777")
    identity = study_identity(only_study(tmp_path / "d"), store=store)
    assert identity.key == "dicom:1.2.826.0.1.3680043.8.498.777"
    assert all(k.startswith("sop:") for k in identity.image_keys.values())


def test_content_hashes_are_cached_and_refreshed_when_a_file_changes(tmp_path, store, monkeypatch):
    from mammoview.reading import identity as identity_module

    folder = tmp_path / "case"
    folder.mkdir()
    write_png(folder / "a.png", 1)
    study = only_study(folder)
    first = study_identity(study, store=store).key
    calls = []
    real = identity_module.hash_file
    monkeypatch.setattr(identity_module, "hash_file", lambda p: calls.append(p) or real(p))
    assert study_identity(study, store=store).key == first and calls == []
    write_png(folder / "a.png", 5)  # new bytes, new size/mtime: the cache must not answer
    assert study_identity(study, store=store).key != first and len(calls) == 1


def make_worklist_folder(tmp_path):
    root = tmp_path / "worklist"
    for i in range(4):
        write_dicom_study(root / f"s{i}", f"1.2.826.0.1.3680043.8.498.{100 + i}", patient_name=f"P{i}^Test", seed=i)
    return root


def test_worklist_states_assessments_filters_and_next_unread(tmp_path, db_path, store):
    studies = discover(make_worklist_folder(tmp_path)).studies
    assert len(studies) == 4
    worklist = build_worklist(studies, store)
    assert [row.state for row in worklist.rows] == ["unread"] * 4
    keys = [row.key for row in worklist.rows]
    assert len(set(keys)) == 4

    with ReadingSession.open(store, worklist.rows[1].study, identity=worklist.rows[1].identity) as s:
        s.set_birads("overall", 4)
        s.mark_read()
    with ReadingSession.open(store, worklist.rows[2].study) as s:
        s.add_point(s.context_for(images_of(worklist.rows[2].study)[0]), "mass", (1.0, 1.0))
    changed = worklist.refresh()
    assert {row.key for row in changed} == {keys[1], keys[2]}
    assert [row.state for row in worklist.rows] == ["unread", "read", "in progress", "unread"]
    assert worklist.rows[1].birads_overall == 4 and worklist.rows[2].finding_count == 1
    assert worklist.counts() == {"unread": 2, "in progress": 1, "read": 1}

    assert worklist.next_unread().key == keys[0]
    assert worklist.next_unread(after=keys[0]).key == keys[3]
    assert worklist.next_unread(after=keys[3]).key == keys[0]  # wraps round

    assert [r.key for r in worklist.view(states=["unread"])] == [keys[0], keys[3]]
    assert [r.key for r in worklist.view(birads=[4])] == [keys[1]]
    assert [r.key for r in worklist.view(text="p2")] == [keys[2]]
    worklist.set_ai_score(keys[3], 0.9)
    worklist.set_ai_score(keys[0], 0.2)
    by_score = worklist.view(sort_by="ai_score", descending=True)
    assert [r.key for r in by_score[:2]] == [keys[3], keys[0]]  # unscored rows last
    assert [r.key for r in worklist.view(sort_by="state")][:2] == [keys[0], keys[3]]
    with pytest.raises(Exception, match="cannot sort"):
        sort_rows(worklist.rows, "colour")


def test_worklist_sees_another_process_and_ground_truth(tmp_path, db_path, mias_dir):
    from mammoview.reading import ReadingStore

    folder = tmp_path / "mias"
    folder.mkdir()
    for name in ("mdb001.png", "mdb002.png", "mdb007.png", "mdb008.png", "Info.txt"):
        shutil.copy(mias_dir / name, folder / name)
    studies = discover(folder).studies
    mine = ReadingStore(db_path)
    worklist = build_worklist(studies, mine)
    truths = [row.ground_truth for row in worklist.rows]
    assert truths == [s.ground_truth for s in studies] and "benign" in truths
    assert [r.ground_truth for r in filter_rows(worklist.rows, ground_truth=["benign"])] == ["benign"]
    assert not worklist.changed_elsewhere()
    other = ReadingStore(db_path)  # another MammoView process on the same database
    with ReadingSession.open(other, studies[0]) as s:
        s.set_birads("overall", 2)
    assert worklist.changed_elsewhere()
    worklist.refresh()
    assert worklist.rows[0].state == "in progress" and not worklist.changed_elsewhere()


def test_a_study_whose_files_vanished_gets_a_problem_not_a_crash(tmp_path, store):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write_png(a / "x.png", 1)
    write_png(b / "y.png", 2)
    studies = discover(tmp_path).studies
    (b / "y.png").unlink()
    worklist = build_worklist(studies, store)
    rows = {row.study.first.path: row for row in worklist.rows}
    assert rows[str(a / "x.png")].key and not rows[str(a / "x.png")].problem
    assert rows[str(b / "y.png")].key == "" and "cannot read" in rows[str(b / "y.png")].problem
