"""Tests of mammoview.segmentation, and their real-data helpers (DDSM tissue set, MIAS findings, Dice)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from mammoview.imaging.metrics import dice
from mammoview.io.mias import parse_info


def read_gray(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


def ddsm_rows(root: Path, split: str | None = None) -> list[dict[str, str]]:
    """Rows of the DDSM tissue index, optionally one split ("test" or "train_valid")."""
    with open(root / "index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if split is None or r["split"] == split]


def ddsm_case(root: Path, row: dict[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, breast mask, pectoral mask) of one DDSM tissue case."""
    image = read_gray(root / row["image"])
    breast = read_gray(root / row["mask_breast"]) > 0
    pectoral = read_gray(root / row["mask_pectoral"]) > 0
    return image, breast, pectoral


def mias_findings(info: Path) -> dict[str, list[tuple[int, int]]]:
    """Located finding centres of MIAS Info.txt as (row, col), read by the project's parser."""
    found: dict[str, list[tuple[int, int]]] = {}
    for refnum, entry in parse_info(info).items():
        centres = [(int(f.row), int(f.col)) for f in entry.findings() if f.has_location]
        if centres:
            found[refnum] = centres
    return found


def split_dice(root: Path, split: str, segment, truth_index: int) -> dict[str, float]:
    """Dice per DDSM case of ``split``: ``segment(image)`` against mask ``truth_index``
    of :func:`ddsm_case` (1 breast, 2 pectoral)."""
    return {
        row["id"]: dice(segment(case[0]), case[truth_index])
        for row in ddsm_rows(root, split)
        for case in [ddsm_case(root, row)]
    }
