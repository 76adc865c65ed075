"""Stage 1's hard-negative mining: where the mined windows come from, how an epoch draws
them, and that a resumed run trains on the very windows the interrupted one mined."""

from __future__ import annotations

import json

import numpy as np
import torch

from mammoview.core.progress import CancelToken
from mammoview.io.mias import mias_patient
from mammoview.training import hard_negatives as hn
from mammoview.training.datasets import load_dataset
from mammoview.training.engine import checkpoint_path, read_checkpoint, train

from .conftest import tiny_config


def _config(data, out, **kw):
    """Three epochs, so mining runs before the second; 3 windows per image."""
    return tiny_config(data, out, epochs=3, augment=("flip",), extra={"hard_negatives": 3}, **kw)


def test_windows_within_a_lesions_reach_are_never_negatives():
    reach = hn.lesion_reach([(100, 100, 40.0), (10, 10, 0.0)], patch=32)
    assert reach == [(100, 100, 56.0), (10, 10, 32.0)]  # radius + half a window; at least a window
    centres = np.array([[100, 150], [100, 160], [30, 10], [50, 10]])
    assert hn.away_from(centres, reach).tolist() == [False, True, False, True]


def test_an_epoch_draws_the_hard_share_of_its_negatives_from_the_mined_windows():
    kinds = np.array(["lesion"] * 10 + ["tissue"] * 100 + ["hard"] * 8)
    rng = np.random.default_rng(0)
    picked = hn.draw_negatives(kinds, 40, 0.5, rng)
    assert len(picked) == 40
    assert (kinds[picked] == "hard").sum() == 20 and (kinds[picked] == "tissue").sum() == 20
    assert len(set(picked[kinds[picked] == "tissue"].tolist())) == 20  # random tissue: no repeats
    none_mined = hn.draw_negatives(kinds[:110], 40, 0.5, rng)
    assert (kinds[none_mined] == "tissue").all() and len(none_mined) == 40


def test_mining_runs_half_way_on_training_images_only_and_away_from_lesions(subset, tmp_path):
    events = [p.partial for p in train("classifier-stage1", _config(subset, tmp_path / "out"))]
    mining = [e for e in events if e.kind == "mining"]
    assert mining and {e.epoch for e in mining} == {2}  # 3 epochs: mined before the second
    summary = mining[-1]
    assert summary.step == summary.steps and "hard negative windows" in summary.message
    steps = [e for e in events if e.kind == "step"]
    assert len({e.steps for e in steps}) == 1  # the epoch keeps its length: negatives are swapped, not added
    _, scalars = read_checkpoint(checkpoint_path(tmp_path / "out", "classifier-stage1"))
    mined = scalars["task_state"]["hard_negatives"]
    card = json.loads((tmp_path / "out" / "classifier-stage1.json").read_text())
    train_patients = {mias_patient(i) for i in card["split"]["train"]}
    assert mined and {mias_patient(i) for i in mined} <= train_patients
    assert all(len(c) <= 3 for c in mined.values())
    items = {i.id: i for i in load_dataset(subset, needs_mask=False).items}
    for image_id, centres in mined.items():
        for f in items[image_id].findings:  # in working pixels (scale 0.25)
            if f.has_location:
                reach = max(32.0, (f.radius or 0) * 0.25 + 16)
                for r, c in centres:
                    assert (r - f.row * 0.25) ** 2 + (c - f.col * 0.25) ** 2 > reach ** 2, (image_id, r, c)
    assert "hard negatives" in card["preprocessing"]["training_patches"]


def test_a_resumed_run_trains_on_the_windows_the_interrupted_one_mined(subset, tmp_path):
    list(train("classifier-stage1", _config(subset, tmp_path / "straight")))
    token = CancelToken()
    for p in train("classifier-stage1", _config(subset, tmp_path / "split"), cancel=token):
        if p.partial.kind == "checkpoint" and p.partial.epoch == 2:
            token.cancel()
    _, interrupted = read_checkpoint(checkpoint_path(tmp_path / "split", "classifier-stage1"))
    assert interrupted["epoch"] == 2 and interrupted["task_state"]["hard_negatives"]
    events = [p.partial for p in train("classifier-stage1", _config(subset, tmp_path / "split", resume=True))]
    assert not any(e.kind == "mining" and e.step < e.steps for e in events)  # taken from the checkpoint, not mined again
    a, sa = read_checkpoint(checkpoint_path(tmp_path / "straight", "classifier-stage1"))
    b, sb = read_checkpoint(checkpoint_path(tmp_path / "split", "classifier-stage1"))
    assert sa["task_state"] == sb["task_state"] == interrupted["task_state"]
    weights = [k for k in a if k.startswith("model/")]
    assert all(torch.equal(a[k], b[k]) for k in weights)
