"""Patient-level train/validation splits, seeded.

Both images of a patient (MIAS: ``mdb(2k-1)`` right and ``mdb(2k)`` left breast) fall
on the same side; otherwise validation would measure how well a model remembers the
other breast of a patient it has seen.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Which ids train and which validate; both in the order the ids were given."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    seed: int
    val_fraction: float

    def to_dict(self) -> dict:
        return {
            "method": "patient-level (both images of a patient on one side), seeded",
            "seed": self.seed,
            "val_fraction": self.val_fraction,
            "train": list(self.train),
            "val": list(self.val),
        }


def patient_split(
    ids: Sequence[str],
    patient_of: Callable[[str], Hashable],
    *,
    val_fraction: float,
    seed: int,
) -> Split:
    """Split ``ids`` into train and validation by patient.

    Parameters
    ----------
    ids : image ids (unique).
    patient_of : id -> patient key (e.g. :func:`mammoview.io.mias.mias_patient`).
    val_fraction : share of the *patients* in validation, in [0, 1). At least one
        patient goes to validation when the fraction is positive and there are two or
        more patients; at least one stays in training.
    seed : the permutation of the patients depends on it alone.

    Returns
    -------
    Split

    Examples
    --------
    >>> from mammoview.io.mias import mias_patient
    >>> s = patient_split(["mdb001", "mdb002", "mdb003", "mdb004"], mias_patient, val_fraction=0.5, seed=0)
    >>> sorted(s.train + s.val)
    ['mdb001', 'mdb002', 'mdb003', 'mdb004']
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if len(set(ids)) != len(ids):
        raise ValueError("image ids must be unique")
    patients: dict[Hashable, list[str]] = {}
    for item in ids:
        patients.setdefault(patient_of(item), []).append(item)
    # Sorted by their text so the split does not depend on the order of the ids.
    keys = sorted(patients, key=str)
    n_val = int(round(val_fraction * len(keys)))
    if val_fraction > 0 and len(keys) >= 2:
        n_val = min(max(n_val, 1), len(keys) - 1)
    order = np.random.default_rng(seed).permutation(len(keys))
    val_patients = {keys[i] for i in order[:n_val]}
    val = tuple(i for i in ids if patient_of(i) in val_patients)
    train = tuple(i for i in ids if patient_of(i) not in val_patients)
    return Split(train=train, val=val, seed=seed, val_fraction=val_fraction)
