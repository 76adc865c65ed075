"""The training engine: events, checkpoints, exact resume, cancel, a full disk."""

from __future__ import annotations

import contextlib
import errno
import math

import pytest
import torch

from mammoview.core.progress import CancelToken
from mammoview.io import atomic
from mammoview.training import engine
from mammoview.training.config import TrainConfig
from mammoview.training.engine import TrainingError, checkpoint_path, read_checkpoint, train


def _config(data, out, **kw):
    base = dict(data=data, out=out, epochs=1, arch="unet-tiny", size=48, batch_size=4,
                val_fraction=0.4, seed=5, device="cpu", augment=("flip", "rotate"))
    base.update(kw)
    return TrainConfig(**base)


def _model_tensors(path):
    tensors, scalars = read_checkpoint(path)
    return {k: v for k, v in tensors.items() if k.startswith("model/")}, scalars


def test_events_tell_epoch_step_loss_eta_and_metrics(mias_subset, tmp_path):
    events = [p for p in train("segmentation", _config(mias_subset, tmp_path, epochs=2))]
    kinds = [p.partial.kind for p in events]
    assert kinds[0] == "prepare" and "start" in kinds and kinds[-1] == "done"
    steps = [p.partial for p in events if p.partial.kind == "step"]
    assert steps and all(math.isfinite(s.loss) and s.eta_s is not None and s.eta_s >= 0 for s in steps)
    assert [s.epoch for s in steps] == sorted(s.epoch for s in steps) and steps[-1].epoch == 2
    assert steps[-1].step == steps[-1].steps
    epoch_events = [p.partial for p in events if p.partial.kind == "epoch"]
    assert [e.epoch for e in epoch_events] == [1, 2]
    assert {"dice", "iou", "train_loss"} <= set(epoch_events[0].metrics)
    assert kinds.count("checkpoint") == 2
    done = [p.done for p in events if p.partial.kind in ("step", "epoch", "checkpoint", "done")]
    assert done == sorted(done) and events[-1].done == events[-1].total
    assert (tmp_path / "segmentation.safetensors").is_file() and (tmp_path / "segmentation.json").is_file()


def test_resume_gives_the_same_weights_as_training_straight_through(mias_subset, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    for _ in train("superres", _config(mias_subset, straight, epochs=2, arch="edsr-tiny", patch=24,
                                      patches_per_image=6, batch_size=8, extra={"val_patches_per_image": 1})):
        pass
    for _ in train("superres", _config(mias_subset, split, epochs=1, arch="edsr-tiny", patch=24,
                                      patches_per_image=6, batch_size=8, extra={"val_patches_per_image": 1})):
        pass
    first, scalars = _model_tensors(checkpoint_path(split, "superres"))
    assert scalars["epoch"] == 1
    events = list(train("superres", _config(mias_subset, split, epochs=2, arch="edsr-tiny", patch=24, resume=True,
                                            patches_per_image=6, batch_size=8, extra={"val_patches_per_image": 1})))
    assert "resumed after epoch 1" in next(p.partial.message for p in events if p.partial.kind == "start")
    assert {p.partial.epoch for p in events if p.partial.kind == "step"} == {2}
    a, sa = _model_tensors(checkpoint_path(straight, "superres"))
    b, sb = _model_tensors(checkpoint_path(split, "superres"))
    assert sa["epoch"] == sb["epoch"] == 2
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], first[k]) for k in a)  # epoch 2 did change the weights
    assert sa["history"] == sb["history"]


def test_resume_refuses_a_checkpoint_of_another_run(mias_subset, tmp_path):
    for _ in train("segmentation", _config(mias_subset, tmp_path)):
        pass
    with pytest.raises(TrainingError, match="belongs to another run \\(seed"):
        list(train("segmentation", _config(mias_subset, tmp_path, epochs=2, seed=6, resume=True)))


def test_cancel_stops_after_the_current_step_and_keeps_the_last_epoch(mias_subset, tmp_path):
    token = CancelToken()
    events = []
    for p in train("segmentation", _config(mias_subset, tmp_path, epochs=3), cancel=token):
        events.append(p.partial)
        if p.partial.kind == "step" and p.partial.epoch == 2:
            token.cancel()
    assert events[-1].kind == "cancelled"
    assert [e.step for e in events if e.kind == "step" and e.epoch == 2] == [1]
    assert "checkpoint of epoch 1 kept" in events[-1].message
    _, scalars = read_checkpoint(checkpoint_path(tmp_path, "segmentation"))
    assert scalars["epoch"] == 1
    assert not (tmp_path / "segmentation.safetensors").exists()


def test_a_full_disk_during_a_checkpoint_stops_training_and_keeps_the_previous_one(mias_subset, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = atomic.atomic_write

    @contextlib.contextmanager
    def failing(path, mode="wb", **kw):
        calls["n"] += 1
        with real(path, mode, **kw) as fh:
            if calls["n"] == 2:
                fh.write(b"partial")
                raise OSError(errno.ENOSPC, "No space left on device")
            yield fh

    monkeypatch.setattr(engine, "atomic_write", failing)
    ckpt = checkpoint_path(tmp_path, "segmentation")
    with pytest.raises(TrainingError) as info:
        for p in train("segmentation", _config(mias_subset, tmp_path, epochs=3)):
            if p.partial.kind == "checkpoint" and p.partial.epoch == 1:
                before = ckpt.read_bytes()
    message = str(info.value)
    assert "No space left on device" in message and "after epoch 2" in message
    assert "previous checkpoint (epoch 1) is kept" in message
    assert ckpt.read_bytes() == before
    assert read_checkpoint(ckpt)[1]["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.name]  # no temp file left


def test_unknown_task_and_architecture_are_refused(mias_subset, tmp_path):
    with pytest.raises(TrainingError, match="unknown task 'classify'"):
        next(train("classify", _config(mias_subset, tmp_path)))
    with pytest.raises(TrainingError, match="unknown architecture 'resnet'"):
        next(train("segmentation", _config(mias_subset, tmp_path, arch="resnet")))
