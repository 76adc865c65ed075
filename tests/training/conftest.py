"""A small MIAS folder (symbolic links to real images + the real Info.txt) for fast trainings."""

from __future__ import annotations

import shutil

import pytest

# Five patients: right and left breast each; masses on most, normals among them.
SUBSET = ("mdb001", "mdb002", "mdb005", "mdb006", "mdb009", "mdb010", "mdb011", "mdb012", "mdb013", "mdb014")


def make_subset(mias_dir, folder, names=SUBSET):
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(mias_dir / "Info.txt", folder / "Info.txt")
    for name in names:
        src = mias_dir / f"{name}.png"
        try:
            (folder / src.name).symlink_to(src)
        except OSError:
            shutil.copy(src, folder / src.name)
    return folder


@pytest.fixture(scope="session")
def mias_subset(mias_dir, tmp_path_factory):
    return make_subset(mias_dir, tmp_path_factory.mktemp("mias-subset"))
