"""Breast side and view read from a raster file's name (``A_0002_1.RIGHT_MLO.png``, ``LCC.png``).

PNG, TIFF and JPEG files carry no DICOM header, yet exported mammograms and public datasets
nearly always name the view: DDSM (``A_0002_1.RIGHT_MLO``), CBIS-DDSM
(``Calc-Test_P_00038_LEFT_CC``), or a reader's own export (``patient7_LCC``, ``R-MLO``).
Without that, every image of a folder was one study labelled with the folder's name: a
folder of fifty patients was one study, and a folder holding one examination's four views
could not hang.

Rule: the last side + view token of the name (LEFT/RIGHT/L/R, then CC or MLO, joined
directly or by one separator, with a separator or the name's end on both sides) gives the
image's laterality and view; what comes before it is the examination's name, and files of
one folder with the same examination name form one study. A name that is only the token
(``RCC.png``) keeps the folder as the study. Anything else is left as it was: a folder is
one study.

The name is what the file says, not a fact about the pixels: the image's orientation is
still taken from the image itself (the chest wall side), as it is for DICOM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VIEW_TOKEN = re.compile(
    r"(?:^|[._\-\s])(?P<side>left|right|l|r)[._\-\s]?(?P<view>cc|mlo)(?=$|[._\-\s])",
    re.IGNORECASE,
)
_SIDES = {"left": "L", "l": "L", "right": "R", "r": "R"}
_SEPARATORS = "._- "


@dataclass(frozen=True)
class NamedView:
    """What a file name says: laterality ("L"/"R"), view ("CC"/"MLO") and examination."""

    laterality: str
    view: str
    examination: str  # the name before the token; "" when the name is only the token


def view_from_name(stem: str) -> NamedView | None:
    """The side and view a file's name (without extension) gives, else None.

    >>> view_from_name("A_0002_1.RIGHT_MLO")
    NamedView(laterality='R', view='MLO', examination='A_0002_1')
    >>> view_from_name("LCC")
    NamedView(laterality='L', view='CC', examination='')
    >>> view_from_name("patient7-r-mlo").examination
    'patient7'
    >>> view_from_name("scan_0042") is None, view_from_name("ORACC") is None
    (True, True)
    """
    matches = list(_VIEW_TOKEN.finditer(stem))
    if not matches:
        return None
    last = matches[-1]
    examination = stem[: last.start()].rstrip(_SEPARATORS)
    return NamedView(_SIDES[last.group("side").lower()], last.group("view").upper(), examination)
