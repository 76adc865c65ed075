"""Files and folders -> studies, from headers only.

:func:`discover` takes what the user opened (files, folders, or both), walks folders
recursively, reads each image's header (never its pixels) and groups the images into
:class:`~mammoview.core.study.Study` objects:

* DICOM by Study Instance UID (the folder when a file has none);
* mini-MIAS by patient pair, ``mdb(2k-1)``/``mdb(2k)`` -> study ``mias-patient-k``;
* other images (PNG, TIFF, ...) by the folder they are in.

Skipped silently: hidden files and folders (name starting with "."), ``__MACOSX``,
MIAS ``Info.txt``, licence/readme files, and documents by extension (csv, txt, md,
json, pdf, ...), and in a folder walk the lesion box masks and cropped-lesion DICOMs of a
CBIS-DDSM sample case (ground truth and crops, not mammograms; :mod:`mammoview.io.cbis`).
Every other file that cannot be read ends up in
``Discovery.errors`` as an :class:`ImageReadError`; discovery itself never raises for a
bad file. The same file reached twice (listed and inside a listed folder, or through
a link) is read once, and a second file with the same image UID is ignored.

Progress: :func:`iter_discover` is a generator of :class:`Progress` events (one per
file; the last one carries the :class:`Discovery` as ``partial``) for the CLI and the
GUI worker; :func:`discover` runs it to the end and passes each event to an optional
``progress`` callback. Both check a :class:`CancelToken` between files and raise
:class:`Cancelled` when it is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mammoview.core.errors import ImageReadError
from mammoview.core.image import ImageRef
from mammoview.core.progress import NEVER_CANCELLED, Cancelled, CancelToken, Progress
from mammoview.core.study import Study
from mammoview.io import cbis, loader, raster

_SKIP_NAMES = frozenset({"info.txt", "thumbs.db", "desktop.ini", "dicomdir.bak"})
_SKIP_PREFIXES = ("licence", "license", "readme", "copying", "sources")
_SKIP_EXTENSIONS = frozenset(
    {".csv", ".tsv", ".txt", ".md", ".rst", ".json", ".xml", ".html", ".htm", ".pdf",
     ".log", ".ini", ".yaml", ".yml", ".py", ".md5", ".sha1", ".sha256"}
)
_SKIP_FOLDERS = frozenset({"__MACOSX", "__pycache__"})


@dataclass
class Discovery:
    """What :func:`discover` found: studies in browsing order, and the files it could not read."""

    studies: list[Study] = field(default_factory=list)
    errors: list[ImageReadError] = field(default_factory=list)

    @property
    def image_count(self) -> int:
        return sum(len(study.images) for study in self.studies)


def discover(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> Discovery:
    """Find the images in ``paths`` and group them into studies (headers only).

    Parameters
    ----------
    paths : path or iterable of paths
        Files and/or folders; folders are searched recursively.
    progress : callable, optional
        Called with a :class:`Progress` after each file (``done`` of ``total`` files).
    cancel : CancelToken, optional
        Checked between files.

    Returns
    -------
    Discovery
        ``studies`` sorted by patient then date, each in hanging order
        (:meth:`Study.sort_images`); ``errors`` one :class:`ImageReadError` per bad file.

    Raises
    ------
    Cancelled
        When ``cancel`` was set.
    """
    result = Discovery()
    for event in iter_discover(paths, cancel=cancel):
        if progress is not None:
            progress(event)
        if isinstance(event.partial, Discovery):
            result = event.partial
    return result


def iter_discover(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, None]:
    """Generator form of :func:`discover`: one :class:`Progress` per file.

    The final event has ``done == total`` and ``partial`` set to the :class:`Discovery`.
    """
    cancel = cancel or NEVER_CANCELLED
    errors: list[ImageReadError] = []
    files = _collect_files(_as_path_list(paths), errors, cancel)
    total = len(files)
    refs: list[ImageRef] = []
    for done, path in enumerate(files, start=1):
        cancel.raise_if_cancelled()
        try:
            refs.append(loader.read_header(path))
        except ImageReadError as exc:
            errors.append(exc)
        except Cancelled:
            raise
        except Exception as exc:  # a reader bug must not lose the rest of the folder
            errors.append(ImageReadError(path, f"unexpected error while reading the header ({type(exc).__name__})"))
        yield Progress(done, total, f"reading {path.name}")
    yield Progress(total, total, f"found {len(refs)} images", partial=Discovery(_group(refs), errors))


def _as_path_list(paths) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _collect_files(paths: list[Path], errors: list[ImageReadError], cancel: CancelToken) -> list[Path]:
    """The candidate files, in a stable order, each once (by real path)."""
    seen: set[str] = set()
    files: list[Path] = []

    def add(path: Path) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for path in paths:
        cancel.raise_if_cancelled()
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                cancel.raise_if_cancelled()
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_FOLDERS)
                for name in sorted(names, key=natural_key):
                    # A mask file opened on its own still opens: only the walk leaves it out.
                    if (not name.startswith(".") and not _is_skipped(name)
                            and not cbis.is_lesion_file(Path(root) / name)):
                        add(Path(root) / name)
        elif path.is_file():
            if not _is_skipped(path.name):
                add(path)
        else:
            errors.append(ImageReadError(path, "file or folder not found"))
    return files


def _is_skipped(name: str) -> bool:
    lower = name.lower()
    extension = os.path.splitext(lower)[1]
    if lower in _SKIP_NAMES or extension in _SKIP_EXTENSIONS:
        return True
    # "LICENSE", "README", "Licence.rtf"...: but never an image that happens to be
    # called "readme.png".
    is_image_name = raster.is_raster_path(lower) or extension in loader.DICOM_EXTENSIONS
    return lower.startswith(_SKIP_PREFIXES) and not is_image_name


def _group(refs: list[ImageRef]) -> list[Study]:
    studies: dict[str, Study] = {}
    seen_uids: set[str] = set()
    for ref in refs:
        if ref.uid in seen_uids:
            continue  # the same image saved twice (a copy in another folder)
        seen_uids.add(ref.uid)
        study = studies.get(ref.study_uid)
        if study is None:
            study = studies[ref.study_uid] = Study(uid=ref.study_uid)
        study.images.append(ref)
    for study in studies.values():
        study.sort_images()
        study.label = _label(study)
    return sorted(studies.values(), key=_study_key)


def _label(study: Study) -> str:
    """Patient name, else patient ID, else the folder's name."""
    first = study.first
    name = first.patient.name.replace("^", " ").strip()
    if name:
        return " ".join(name.split())
    if first.patient.id:
        return first.patient.id
    if first.kind == "phantom":
        return study.uid
    return Path(first.path).parent.name or first.path


def _study_key(study: Study) -> tuple:
    # Natural order so "MIAS patient 2" comes before "MIAS patient 10".
    return (natural_key(study.label), study.date, study.uid)


def natural_key(text: str) -> tuple:
    """Sort key of natural order: "img2" before "img10"."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text.lower()))
