"""Builders shared by the reading tests: small real files, studies and a patient name
that must never appear in a message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from mammoview.core.image import Image
from mammoview.io.discovery import discover
from mammoview.io.loader import load_image

PATIENT_NAME = "Zyxwander^Quillonette"
NAME_PARTS = ("Zyxwander", "Quillonette", "ZYXWANDER", "QUILLONETTE")


def write_png(path: Path, seed: int, shape=(48, 40)) -> Path:
    """A small 8-bit PNG with content unique to ``seed``."""
    rng = np.random.default_rng(seed)
    PILImage.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def write_dicom_study(folder: Path, study_uid: str, *, patient_name: str = PATIENT_NAME, seed: int = 0,
                      slots=(("R", "CC"), ("L", "CC")), pixel_spacing=(0.1, 0.07)) -> list[Path]:
    """Tiny DICOM mammograms of one study (real files read by the real reader)."""
    from tests.io.dicom_builders import mammo_dataset, write_dicom

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i, (lat, view) in enumerate(slots):
        ds = mammo_dataset(rng.integers(0, 4095, (32, 24), dtype=np.uint16), laterality=lat, view=view,
                           patient_name=patient_name, pixel_spacing=pixel_spacing,
                           window=[(2000.0, 3000.0), (1500.0, 1000.0)], explanations=["NORMAL", "HARDER"])
        ds.StudyInstanceUID = study_uid
        paths.append(write_dicom(folder / f"img{i}.dcm", ds))
    return paths


def only_study(path) -> tuple:
    found = discover(path)
    assert not found.errors, found.errors
    assert len(found.studies) == 1
    return found.studies[0]


def images_of(study) -> list[Image]:
    return [load_image(ref) for ref in study.images]
