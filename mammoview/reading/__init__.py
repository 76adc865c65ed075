"""The reader's findings, assessments and worklist state, saved in SQLite as they happen.

No Qt here: the GUI binds to :class:`ReadingSession` (one open study) and
:class:`Worklist` (all studies). See docs in each module:

* :mod:`~mammoview.reading.model`: the values (Reading, ReaderFinding, Measurement);
* :mod:`~mammoview.reading.commands`: edits with do/undo;
* :mod:`~mammoview.reading.session`: the open study, undo/redo, leases, listeners;
* :mod:`~mammoview.reading.store`: the SQLite database (WAL, migrations, leases);
* :mod:`~mammoview.reading.identity`: study keys that survive renaming files;
* :mod:`~mammoview.reading.worklist`: rows, filters, sorting, next unread;
* :mod:`~mammoview.reading.exchange`: JSON/CSV export and import, de-identification;
* :mod:`~mammoview.reading.presets`: window/level presets.
"""

from mammoview.reading.errors import (
    ImportFileError,
    LeaseLostError,
    ReadingError,
    StoreBusyError,
    StoreError,
    StudyLockedError,
)
from mammoview.reading.geometry import MarkSize
from mammoview.reading.identity import StudyIdentity, study_identities, study_identity
from mammoview.reading.model import (
    DENSITIES,
    FINDING_TYPES,
    SHAPES,
    STATES,
    ImageContext,
    Measurement,
    ReaderFinding,
    Reading,
    Subject,
)
from mammoview.reading.session import ReadingSession
from mammoview.reading.store import ReadingStore, default_db_path
from mammoview.reading.worklist import Worklist, WorklistRow, build_worklist

__all__ = [
    "DENSITIES", "FINDING_TYPES", "SHAPES", "STATES",
    "ImageContext", "ImportFileError", "LeaseLostError", "MarkSize", "Measurement", "ReaderFinding",
    "Reading", "ReadingError", "ReadingSession", "ReadingStore", "StoreBusyError", "StoreError",
    "StudyIdentity", "StudyLockedError", "Subject", "Worklist", "WorklistRow", "build_worklist",
    "default_db_path", "study_identities", "study_identity",
]
