"""What a training run is asked to do: one dataclass shared by the CLI, the GUI and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainConfig:
    """Options of one training run; ``None`` means "the task's default".

    Attributes
    ----------
    data : a MIAS folder (with Info.txt), a labels CSV, or a folder holding labels.csv.
    out : folder for ``<task>.safetensors`` + ``<task>.json`` and the checkpoint
        ``<task>.checkpoint.safetensors``.
    epochs, arch, batch_size, lr, augment : training settings (task defaults when None);
        ``augment`` is a tuple of names from :data:`~mammoview.training.augment.AUGMENTATIONS`.
    device : "auto", "cpu", "cuda" or "mps" (:func:`mammoview.nets.device.choose_device`).
    resume : continue from the checkpoint in ``out`` (refused if it belongs to another
        run: other task, architecture, seed or data).
    seed : seeds the split, the initial weights, the data order and the augmentations.
    val_fraction : share of the patients held out for validation.
    size : segmentation working size (long side, px); ``patch`` super-resolution
        high-resolution patch size (px); ``patches_per_image`` patches per image.
    box_check : folder of CBIS-DDSM-style cases (full_mammogram_1024.png with
        lesionN_bbox_mask_1024.png) for the segmentation box-overlap check.
    threads : torch CPU threads (None: torch's default).
    command : the command line that started the run, written into the model card.
    start : where the weights start: "scratch", "imagenet" (only from the local torch
        cache) or "finetune" (from ``init_from``); see :mod:`mammoview.training.start`.
    init_from : the model (``.safetensors``) a "finetune" run starts from.
    """

    data: Path
    out: Path
    epochs: int | None = None
    arch: str | None = None
    device: str = "auto"
    resume: bool = False
    seed: int = 0
    batch_size: int | None = None
    lr: float | None = None
    val_fraction: float = 0.2
    augment: tuple[str, ...] | None = None
    size: int | None = None
    patch: int | None = None
    patches_per_image: int | None = None
    box_check: Path | None = None
    threads: int | None = None
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    start: str = "scratch"
    init_from: Path | None = None

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        self.out = Path(self.out)
        if self.box_check is not None:
            self.box_check = Path(self.box_check)
        if self.init_from is not None:
            self.init_from = Path(self.init_from)
        if self.start not in ("scratch", "imagenet", "finetune"):
            raise ValueError(f"start must be scratch, imagenet or finetune, got {self.start!r}")
        if self.start == "finetune" and self.init_from is None:
            raise ValueError("a fine-tuning run needs the model to start from (init_from)")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"learning rate must be positive, got {self.lr}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"validation fraction must be in [0, 1), got {self.val_fraction}")
