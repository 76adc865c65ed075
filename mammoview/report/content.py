"""What a PDF report shows, as plain data: built by :func:`report.pdf.build_report` or by
the GUI from what its window shows, and drawn by :func:`report.pdf.write_report`.

Keeping the content separate from the layout means the GUI and the command line produce
the same report from the same objects, and tests can check the content without a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from mammoview import __version__
from mammoview.core.image import Finding, PatientInfo, StudyInfo


@dataclass(frozen=True, eq=False)
class ReportView:
    """One picture in the report, as the window displays it.

    Parameters
    ----------
    title : str
        Shown above the picture (e.g. "RCC - CLAHE").
    rgb : numpy.ndarray
        ``(rows, cols, 3)`` uint8, already rendered (VOI, enhancement, finding marks).
    caption : str
        Shown below the picture: what was done to it (VOI, method label, parameters).
    page : str
        Heading of the page the picture belongs to. Consecutive views with the same
        heading share a page (e.g. the four views of one image, or a 4-view hanging).
    trim_margins : bool
        Trim the picture to its content before laying it out
        (:func:`mammoview.report.framing.fit_to_content`): set by the window for its
        screen grabs, where a panel shows the image inside a band of its background.
        Headless renders are the image edge to edge and are shown whole.
    """

    title: str
    rgb: np.ndarray
    caption: str = ""
    page: str = ""
    trim_margins: bool = False

    def __post_init__(self) -> None:
        rgb = self.rgb
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(
                f"ReportView {self.title!r}: rgb must be (rows, cols, 3) uint8, "
                f"got {rgb.shape} {rgb.dtype}"
            )
        if rgb.shape[0] == 0 or rgb.shape[1] == 0:
            raise ValueError(f"ReportView {self.title!r}: empty picture")


@dataclass(eq=False)
class AiReport:
    """The classifier's results for the reported study (research use only).

    Parameters
    ----------
    rows : list of tuples
        Per image: (image, stage 1 p(abnormal), stage 2 p(malignant), call, suspicion,
        ground truth, model versions), all as text.
    aggregates : list of (scope, text)
        Per breast and for the study: the most suspicious image's result.
    explanations : list of (layer, settings, status)
        The explanation layers shown in the pictures.
    versions : dict
        Task -> model version of the cascade.
    thresholds : dict
        Task -> the operating threshold the calls were made at (from the model cards).
    device : str
        Where the networks ran.
    disabled : str
        Why there are no results (a missing or corrupt model), else "".
    """

    rows: list[tuple[str, ...]] = field(default_factory=list)
    aggregates: list[tuple[str, str]] = field(default_factory=list)
    explanations: list[tuple[str, str, str]] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    device: str = ""
    disabled: str = ""
    thresholds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ReaderFindingRow:
    """One reader mark as the report lists it (numbered as drawn on the pictures).

    ``number`` is "1", "2"... for findings and "R1", "R2"... for rulers; ``size`` is
    text such as "12.4 x 8.1 mm" (or pixels, with ``warning`` saying why).
    """

    number: str
    image: str
    kind: str
    side_view: str
    size: str
    note: str = ""
    warning: str = ""


@dataclass(eq=False)
class ReaderSection:
    """The reader's saved reading of one study (from :mod:`mammoview.reading`).

    ``saved`` is False when the study has no saved reading yet (the report says so
    rather than printing empty assessments).
    """

    heading: str
    saved: bool = False
    state: str = "unread"
    reader: str = ""
    updated: str = ""
    birads_right: int | None = None
    birads_left: int | None = None
    birads_overall: int | None = None
    density: str | None = None
    impression: str = ""
    findings: list[ReaderFindingRow] = field(default_factory=list)
    rulers: list[ReaderFindingRow] = field(default_factory=list)


@dataclass(eq=False)
class ReportContent:
    """Everything one PDF report shows.

    Parameters
    ----------
    title : str
        Document title.
    generated : datetime
        When the report was made (shown in the header).
    patient, study : PatientInfo, StudyInfo
        Header of the (first) study reported.
    synthetic : bool
        The data is synthetic demo data: the PDF carries a "SYNTHETIC DEMO DATA" banner.
    views : list of ReportView
        Pictures in order; see :attr:`ReportView.page` for how they group into pages.
    settings : dict
        Enhancement name -> {parameter: value} used for the pictures.
    findings : list of (str, Finding)
        (image name, finding) pairs: ground truth and reader marks, with locations.
    impression : str
        The reader's free-text impression, printed as typed.
    warnings : list of str
        Things a reader must know (e.g. "mdb001.dcm: FOR PROCESSING image").
    app_version : str
        MammoView version that made the report.
    other_studies : list of (PatientInfo, StudyInfo)
        Further studies in the same report (one header row each).
    ai : AiReport or None
        The classifier cascade's predictions, explanations and model versions.
    readings : list of ReaderSection
        The reader's saved findings and assessment, one per study that has a reading
        (see :func:`mammoview.report.reading.attach_readings`).
    deidentified : bool
        Patient name, ID and birth date were replaced by study pseudonyms
        (:func:`mammoview.report.deidentify.deidentify_content`).
    """

    title: str = "MammoView report"
    generated: datetime = field(default_factory=lambda: datetime.now().astimezone())
    patient: PatientInfo = field(default_factory=PatientInfo)
    study: StudyInfo = field(default_factory=StudyInfo)
    synthetic: bool = False
    views: list[ReportView] = field(default_factory=list)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[tuple[str, Finding]] = field(default_factory=list)
    impression: str = ""
    warnings: list[str] = field(default_factory=list)
    app_version: str = __version__
    other_studies: list[tuple[PatientInfo, StudyInfo]] = field(default_factory=list)
    ai: AiReport | None = None
    readings: list[ReaderSection] = field(default_factory=list)
    deidentified: bool = False

    @property
    def all_studies(self) -> list[tuple[PatientInfo, StudyInfo]]:
        """The header rows: the main study first, then the others."""
        return [(self.patient, self.study), *self.other_studies]

    def pages(self) -> list[tuple[str, list[ReportView]]]:
        """Views grouped into pages: runs of consecutive views with the same heading."""
        groups: list[tuple[str, list[ReportView]]] = []
        for view in self.views:
            if groups and groups[-1][0] == view.page:
                groups[-1][1].append(view)
            else:
                groups.append((view.page, [view]))
        return groups


def models_text(versions: dict[str, str], thresholds: dict[str, float] | None = None, *, sep: str = ", ") -> str:
    """ "classifier-stage1 0360e54e903d (threshold 0.632), ...": each model's version and the
    operating threshold its calls were made at, for the panel and the report.

    Examples
    --------
    >>> models_text({"classifier-stage1": "abc"}, {"classifier-stage1": 0.6316})
    'classifier-stage1 abc (threshold 0.632)'
    """
    thresholds = thresholds or {}
    parts = []
    for task, version in sorted(versions.items()):
        t = thresholds.get(task)
        parts.append(f"{task} {version}" + (f" (threshold {t:.3f})" if t is not None else ""))
    return sep.join(parts) or "-"
