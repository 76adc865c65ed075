"""Tests of mammoview.segmentation, and their real-data helpers (DDSM tissue set, MIAS findings, Dice)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

try:  # the shared metric, once mammoview.imaging.metrics is there
    from mammoview.imaging.metrics import dice
except ImportError:  # pragma: no cover - until then, the same formula here

    def dice(a: np.ndarray, b: np.ndarray) -> float:
        a, b = np.asarray(a, bool), np.asarray(b, bool)
        total = int(a.sum()) + int(b.sum())
        return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


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
    """Located finding centres of MIAS Info.txt as (row, col), row = 1024 - y."""
    found: dict[str, list[tuple[int, int]]] = {}
    for line in info.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 7 and parts[0].startswith("mdb") and parts[4].isdigit():
            x, y = int(parts[4]), int(parts[5])
            found.setdefault(parts[0], []).append((1024 - y, x))
    return found
