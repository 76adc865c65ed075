"""Which saved reading belongs to a study: a key that survives renaming and moving files.

* DICOM studies with a Study Instance UID: ``dicom:<StudyInstanceUID>``; images
  ``sop:<SOPInstanceUID>``.
* Synthetic demo studies: ``phantom:<study id>``; images ``phantom:<image id>``.
* Everything else (PNG, PGM, TIFF, JPEG, MIAS, DICOM without the UIDs):
  ``sha256:<digest>`` where the digest is SHA-256 over the sorted SHA-256 digests of the
  study's image files (every byte of each file). Images are ``sha256:<file digest>``.
  A renamed or moved file has the same bytes, so its reading is found again; an edited
  file (other bytes) is, rightly, another study.

Hashing a 4-view study of 30 MB files takes a fraction of a second; digests are cached
in the store by (real path, size, modification time), so a worklist re-opened later
hashes nothing it has seen.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

from mammoview.core.image import ImageRef
from mammoview.core.study import Study

CHUNK = 1 << 20


@dataclass(frozen=True)
class StudyIdentity:
    """A study's stable key and the stable key of each of its images (by ``ref.uid``)."""

    key: str
    image_keys: dict[str, str]

    def image_key(self, ref: ImageRef) -> str:
        return self.image_keys[ref.uid]


def _dicom_uid(ref: ImageRef) -> str:
    return ref.study.uid if ref.kind == "dicom" else ""


def _needs_hash(ref: ImageRef) -> bool:
    if ref.kind == "phantom":
        return False
    return not (ref.kind == "dicom" and not ref.uid.startswith("file:"))


def hash_file(path: str) -> str:
    """SHA-256 of every byte of a file, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_digests(paths: Iterable[str], store=None) -> dict[str, str]:
    """SHA-256 of each file, using and filling the store's cache when one is given.

    Raises
    ------
    OSError
        A file cannot be read (moved or deleted since discovery).
    """
    stats: dict[str, tuple[str, int, int]] = {}
    for path in paths:
        real = os.path.realpath(path)
        st = os.stat(real)
        stats[path] = (real, st.st_size, st.st_mtime_ns)
    known = store.cached_hashes(stats.values()) if store is not None else {}
    result: dict[str, str] = {}
    fresh: list[tuple[str, int, int, str]] = []
    for path, (real, size, mtime_ns) in stats.items():
        digest = known.get(real)
        if digest is None:
            digest = hash_file(real)
            fresh.append((real, size, mtime_ns, digest))
        result[path] = digest
    if store is not None and fresh:
        store.save_hashes(fresh)
    return result


def study_identity(study: Study, *, store=None) -> StudyIdentity:
    """The key of one study and of its images (see the module docstring)."""
    return study_identities([study], store=store)[0]


def study_identities(studies: Iterable[Study], *, store=None) -> list[StudyIdentity]:
    """Keys of many studies; all files needing a hash are looked up in one cache query."""
    studies = list(studies)
    paths = [ref.path for study in studies for ref in study.images if _needs_hash(ref)]
    digests = file_digests(paths, store) if paths else {}
    identities = []
    for study in studies:
        image_keys: dict[str, str] = {}
        for ref in study.images:
            if ref.kind == "phantom":
                image_keys[ref.uid] = f"phantom:{ref.uid}"
            elif _needs_hash(ref):
                image_keys[ref.uid] = f"sha256:{digests[ref.path]}"
            else:
                image_keys[ref.uid] = f"sop:{ref.uid}"
        identities.append(StudyIdentity(_study_key(study, image_keys), image_keys))
    return identities


def _study_key(study: Study, image_keys: dict[str, str]) -> str:
    refs = study.images
    if refs and all(ref.kind == "phantom" for ref in refs):
        return f"phantom:{refs[0].study_uid}"
    uids = {_dicom_uid(ref) for ref in refs}
    if refs and len(uids) == 1 and "" not in uids:
        return f"dicom:{uids.pop()}"
    combined = hashlib.sha256()
    for key in sorted(image_keys.values()):
        combined.update(key.encode("ascii"))
        combined.update(b"\n")
    return f"sha256:{combined.hexdigest()}"
