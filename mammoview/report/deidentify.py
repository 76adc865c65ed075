"""De-identified reports: patient name, ID and birth date replaced by the study pseudonym.

:func:`deidentify_content` rewrites a :class:`~mammoview.report.content.ReportContent`
before it is laid out, so the identifying fields never reach the PDF: not its text, not
the picture titles and captions, not its metadata (the document title is built from the
content). The header gets the study pseudonym (``MV-`` + 16 hex digits, the same one
the readings export uses: :meth:`mammoview.reading.ReadingStore.pseudonym`) for name
and ID and no birth date; the Study Instance UID and accession number go too.

File names are replaced by "<pseudonym> image N (slot)": files are often named after
the patient. Every other text in the report (headings, captions, warnings, notes, the
reader's impression, the AI table) is scrubbed of the patient's name (as a whole and
each part), ID and birth date, whatever case. What stays: study date, description,
institution, pixels. Burnt-in text in the pixels themselves is not detected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mammoview.core.image import PatientInfo, StudyInfo
from mammoview.report.content import AiReport, ReaderFindingRow, ReaderSection, ReportContent

REMOVED = "[removed]"
# Name parts shorter than this are not scrubbed from free text (an initial would
# otherwise eat every "A" in the report); the whole name always is.
MIN_PART = 2


@dataclass(frozen=True)
class SubjectAlias:
    """One reported study's identifying values and what replaces them.

    Parameters
    ----------
    patient : PatientInfo
        As the files give it.
    pseudonym : str
        The study pseudonym printed instead of the name and ID.
    label : str
        The study's label in the window (often the patient's name).
    image_names : mapping
        File name shown in the report -> its replacement (see :func:`image_alias`).
    """

    patient: PatientInfo
    pseudonym: str
    label: str = ""
    image_names: Mapping[str, str] = field(default_factory=dict)


def image_alias(pseudonym: str, index: int, slot: str | None) -> str:
    """"MV-0123456789abcdef image 2 (LCC)": an image's name in a de-identified report."""
    return f"{pseudonym} image {index}" + (f" ({slot})" if slot else "")


class Scrubber:
    """Replaces identifying strings in free text (longest first, whole words, any case)."""

    def __init__(self, subjects: Sequence[SubjectAlias]) -> None:
        pairs: dict[str, str] = {}
        for s in subjects:
            for name, alias in s.image_names.items():
                if name:
                    pairs[name] = alias
            for value in _name_forms(s.patient.name):
                pairs.setdefault(value, s.pseudonym)
            if s.label and s.label not in pairs:
                # A label is the name or ID (or a folder name, which may carry either).
                pairs[s.label] = s.pseudonym
            if _scrubbable_id(s.patient.id):
                pairs.setdefault(s.patient.id, s.pseudonym)
            for value in _date_forms(s.patient.birth_date):
                pairs.setdefault(value, REMOVED)
        self._pairs = pairs
        ordered = sorted(pairs, key=len, reverse=True)
        self._pattern = (re.compile("|".join(_word(v) for v in ordered), re.IGNORECASE)
                         if ordered else None)
        self._lookup = {k.lower(): v for k, v in pairs.items()}

    def __call__(self, text: str) -> str:
        if not text or self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._lookup[m.group(0).lower()], text)

    def value(self, value: Any) -> Any:
        """Scrub strings inside plain values (str, dict, list, tuple); others as given."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        return value


def _word(value: str) -> str:
    """``value`` as a regex that matches it only as a whole word (or whole token)."""
    body = re.escape(value)
    left = r"(?<![0-9A-Za-z])" if value[:1].isalnum() else ""
    right = r"(?![0-9A-Za-z])" if value[-1:].isalnum() else ""
    return f"{left}{body}{right}"


def _name_forms(name: str) -> list[str]:
    """The DICOM name as stored, as printed (carets to spaces), and each part."""
    if not name.strip():
        return []
    forms = {name.strip(), " ".join(name.replace("^", " ").split())}
    forms.update(p for p in re.split(r"[\^\s,]+", name) if len(p) >= MIN_PART)
    return sorted(forms, key=len, reverse=True)


def _scrubbable_id(pid: str) -> bool:
    # A very short numeric ID ("3") would match every page number; the header field is
    # replaced regardless, only free-text scrubbing skips it.
    pid = pid.strip()
    return len(pid) >= 4 or (len(pid) >= 2 and not pid.isdigit())


def _date_forms(date: str) -> list[str]:
    date = date.strip()
    if len(date) == 8 and date.isdigit():
        return [date, f"{date[:4]}-{date[4:6]}-{date[6:]}", f"{date[:4]}.{date[4:6]}.{date[6:]}"]
    return [date] if len(date) >= 4 else []


def deidentify_content(content: ReportContent, subjects: Sequence[SubjectAlias]) -> ReportContent:
    """A copy of ``content`` with every identifying value replaced (see the module doc).

    ``subjects`` are in the order of :attr:`ReportContent.all_studies`; studies without
    an alias get "study N" as their pseudonym.
    """
    scrub = Scrubber(subjects)
    headers = [_header(patient, study, subjects[i].pseudonym if i < len(subjects) else f"study {i + 1}")
               for i, (patient, study) in enumerate(content.all_studies)]
    return replace(
        content,
        title=scrub(content.title),
        patient=headers[0][0],
        study=headers[0][1],
        other_studies=headers[1:],
        views=[replace(v, title=scrub(v.title), caption=scrub(v.caption), page=scrub(v.page))
               for v in content.views],
        settings=scrub.value(content.settings),
        findings=[(scrub(name), replace(f, note=scrub(f.note))) for name, f in content.findings],
        impression=scrub(content.impression),
        warnings=[scrub(w) for w in content.warnings],
        ai=_ai(content.ai, scrub),
        readings=[_section(r, scrub) for r in content.readings],
        deidentified=True,
    )


def _header(patient: PatientInfo, study: StudyInfo, pseudonym: str) -> tuple[PatientInfo, StudyInfo]:
    return (PatientInfo(name=pseudonym, id=pseudonym, birth_date="", sex=patient.sex),
            replace(study, uid="", accession=""))


def _ai(ai: AiReport | None, scrub: Scrubber) -> AiReport | None:
    if ai is None:
        return None
    return replace(ai, rows=[tuple(scrub(str(c)) for c in row) for row in ai.rows],
                   aggregates=[(scrub(a), scrub(b)) for a, b in ai.aggregates],
                   explanations=[tuple(scrub(str(c)) for c in e) for e in ai.explanations],
                   disabled=scrub(ai.disabled))


def _section(section: ReaderSection, scrub: Scrubber) -> ReaderSection:
    def row(r: ReaderFindingRow) -> ReaderFindingRow:
        return replace(r, image=scrub(r.image), note=scrub(r.note))

    return replace(section, heading=scrub(section.heading), impression=scrub(section.impression),
                   findings=[row(r) for r in section.findings], rulers=[row(r) for r in section.rulers])


def aliases_for(pseudonym: str, refs: Iterable[Any]) -> dict[str, str]:
    """File name -> alias for the images of one study, numbered in the order given."""
    return {ref.display_name: image_alias(pseudonym, i, ref.slot or ref.view)
            for i, ref in enumerate(refs, start=1)}


def study_alias(study: Any, pseudonym: str) -> SubjectAlias:
    """The :class:`SubjectAlias` of a :class:`~mammoview.core.study.Study` (its first image's patient)."""
    first = study.images[0] if study.images else None
    patient = first.patient if first is not None else PatientInfo()
    return SubjectAlias(patient, pseudonym, label=study.label, image_names=aliases_for(pseudonym, study.images))
