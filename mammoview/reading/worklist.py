"""The worklist: every discovered study with its reading state, assessment and truth.

:func:`build_worklist` takes the studies of :func:`mammoview.io.discovery.discover`
and a :class:`ReadingStore`, works out each study's key (content hashes cached in the
store) and reads every state in one query. :class:`Worklist` keeps the rows; the GUI
shows :meth:`Worklist.view` (filtered and sorted), calls :meth:`Worklist.refresh` when
:meth:`Worklist.changed_elsewhere` says another window saved something (poll it with a
timer; it is one cheap PRAGMA) or after its own edits, fills :attr:`WorklistRow.ai_score`
through :meth:`Worklist.set_ai_score`, and asks :meth:`Worklist.next_unread` for the
study to open next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mammoview.core.study import GROUND_TRUTH_RANK, Study
from mammoview.reading.errors import ReadingError
from mammoview.reading.identity import StudyIdentity, study_identities
from mammoview.reading.store import ReadingStore, ReadingSummary

STATE_ORDER = {"unread": 0, "in progress": 1, "read": 2}
SORT_KEYS = ("order", "label", "date", "state", "birads", "ai_score", "ground_truth", "updated")


@dataclass
class WorklistRow:
    """One study in the worklist. ``key`` is "" and ``problem`` says why when its files
    could not be read for the content hash (moved or deleted since discovery)."""

    order: int
    study: Study
    key: str
    identity: StudyIdentity | None
    state: str = "unread"
    birads_overall: int | None = None
    birads_right: int | None = None
    birads_left: int | None = None
    density: str | None = None
    finding_count: int = 0
    updated_at: float = 0.0
    ai_score: float | None = None
    problem: str = ""

    @property
    def label(self) -> str:
        return self.study.label

    @property
    def date(self) -> str:
        return self.study.date

    @property
    def ground_truth(self) -> str | None:
        return self.study.ground_truth

    @property
    def views(self) -> list[str]:
        return self.study.views

    def _apply(self, summary: ReadingSummary | None) -> bool:
        if summary is None:
            values = ("unread", None, None, None, None, 0, 0.0)
        else:
            values = (summary.state, summary.birads_overall, summary.birads_right, summary.birads_left,
                      summary.density, summary.finding_count, summary.updated_at)
        names = ("state", "birads_overall", "birads_right", "birads_left", "density", "finding_count", "updated_at")
        changed = tuple(getattr(self, n) for n in names) != values
        for name, value in zip(names, values):
            setattr(self, name, value)
        return changed


class Worklist:
    """Rows for the studies given, kept in step with the readings database."""

    def __init__(self, rows: list[WorklistRow], store: ReadingStore) -> None:
        self.rows = rows
        self.store = store
        self._by_key = {row.key: row for row in rows if row.key}
        self._seen_version = store.data_version()

    def row(self, key: str) -> WorklistRow:
        try:
            return self._by_key[key]
        except KeyError:
            raise ReadingError("that study is not in the worklist") from None

    def refresh(self) -> list[WorklistRow]:
        """Re-read every row's state from the database; returns the rows that changed."""
        self._seen_version = self.store.data_version()
        summaries = self.store.summaries()
        return [row for row in self.rows if row.key and row._apply(summaries.get(row.key))]

    def changed_elsewhere(self) -> bool:
        """True when another connection (another MammoView) committed since the last refresh."""
        return self.store.data_version() != self._seen_version

    def set_ai_score(self, key: str, score: float | None) -> None:
        """The AI study score (e.g. malignancy probability) to show and sort by."""
        self.row(key).ai_score = None if score is None else float(score)

    def view(self, *, states: Iterable[str] | None = None, text: str = "", ground_truth: Iterable[str] | None = None,
             birads: Iterable[int] | None = None, sort_by: str = "order", descending: bool = False) -> list[WorklistRow]:
        """The rows to show: :func:`filter_rows` then :func:`sort_rows`."""
        rows = filter_rows(self.rows, states=states, text=text, ground_truth=ground_truth, birads=birads)
        return sort_rows(rows, sort_by, descending=descending)

    def next_unread(self, after: str | None = None, rows: list[WorklistRow] | None = None) -> WorklistRow | None:
        """The first unread study after the one with key ``after`` (wrapping round), in
        the order of ``rows`` (the view on screen; all rows by default)."""
        rows = self.rows if rows is None else rows
        start = 0
        if after is not None:
            for i, row in enumerate(rows):
                if row.key == after:
                    start = i + 1
                    break
        for row in rows[start:] + rows[:start]:
            if row.state == "unread" and row.key and row.key != after:
                return row
        return None

    def counts(self) -> dict[str, int]:
        """How many studies are unread, in progress and read."""
        counts = dict.fromkeys(STATE_ORDER, 0)
        for row in self.rows:
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts


def build_worklist(studies: Iterable[Study], store: ReadingStore) -> Worklist:
    """A :class:`Worklist` for ``studies`` (in the order given) with their saved states."""
    studies = list(studies)
    try:
        identities: list[StudyIdentity | None] = list(study_identities(studies, store=store))
        problems = [""] * len(studies)
    except OSError:
        identities, problems = [], []
        for study in studies:  # find which study's files went missing; keep the others
            try:
                identities.append(study_identities([study], store=store)[0])
                problems.append("")
            except OSError as err:
                identities.append(None)
                problems.append(f"cannot read its files ({err.strerror or type(err).__name__})")
    rows = [
        WorklistRow(order=i, study=study, key=identity.key if identity else "", identity=identity, problem=problem)
        for i, (study, identity, problem) in enumerate(zip(studies, identities, problems))
    ]
    summaries = store.summaries()
    for row in rows:
        if row.key:
            row._apply(summaries.get(row.key))
    return Worklist(rows, store)


def filter_rows(rows: Iterable[WorklistRow], *, states: Iterable[str] | None = None, text: str = "",
                ground_truth: Iterable[str] | None = None, birads: Iterable[int] | None = None) -> list[WorklistRow]:
    """Rows in any of ``states``, whose label or patient ID contains ``text`` (any case),
    with a ground truth in ``ground_truth`` ("unknown" matches none) and an overall
    BI-RADS in ``birads``. An argument left out does not filter."""
    states = set(states) if states is not None else None
    truths = set(ground_truth) if ground_truth is not None else None
    scores = set(birads) if birads is not None else None
    needle = text.strip().lower()
    kept = []
    for row in rows:
        if states is not None and row.state not in states:
            continue
        if truths is not None and (row.ground_truth or "unknown") not in truths:
            continue
        if scores is not None and row.birads_overall not in scores:
            continue
        if needle and needle not in row.label.lower() and needle not in row.study.patient_id.lower():
            continue
        kept.append(row)
    return kept


def sort_rows(rows: Iterable[WorklistRow], by: str = "order", *, descending: bool = False) -> list[WorklistRow]:
    """Rows sorted by one of :data:`SORT_KEYS`; rows without a value go last either way."""
    if by not in SORT_KEYS:
        raise ReadingError(f"cannot sort the worklist by {by!r}; choose from {', '.join(SORT_KEYS)}")

    def value(row: WorklistRow):
        return {
            "order": row.order,
            "label": row.label.lower(),
            "date": row.date or None,
            "state": STATE_ORDER.get(row.state),
            "birads": row.birads_overall,
            "ai_score": row.ai_score,
            "ground_truth": GROUND_TRUTH_RANK.get(row.ground_truth) if row.ground_truth else None,
            "updated": row.updated_at or None,
        }[by]

    rows = list(rows)
    present = sorted((r for r in rows if value(r) is not None), key=lambda r: (value(r), r.order), reverse=descending)
    missing = [r for r in rows if value(r) is None]
    return present + missing
