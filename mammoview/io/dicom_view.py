"""Laterality and mammographic view from DICOM header values.

Pure functions on plain values (strings, code tuples), so each rule is tested on its
own. :func:`resolve_laterality_view` applies them in order of trust:

- view: View Code Sequence (0054,0220) (PS3.16 CID 4014 "View for Mammography", in the
  old SNOMED-RT ``R-xxxxx`` codes or the SNOMED CT ids that replaced them), then View
  Position (0018,5101), then free text.
- laterality: Image Laterality (0020,0062), then Laterality (0020,0060), then the row
  direction of Patient Orientation (0020,0020), then free text.
- free text: Series Description, Protocol Name (e.g. "R CC", "LMLO", "RIGHT_MLO").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# PS3.16 CID 4014. Keys are SNOMED-RT (schemes SRT / SNM3) and SNOMED CT (SCT) code values;
# they never collide, so one table serves both schemes. The pairs follow pydicom's
# SRT <-> SCT mapping table (note R-10228 is latero-medial and R-10230 latero-medial oblique).
VIEW_CODES: dict[str, str] = {
    "R-10242": "CC", "399162004": "CC",  # cranio-caudal
    "R-10226": "MLO", "399368009": "MLO",  # medio-lateral oblique
    "R-10224": "ML", "399260004": "ML",  # medio-lateral
    "R-10228": "LM", "399352003": "LM",  # latero-medial
    "R-10230": "LMO", "399099002": "LMO",  # latero-medial oblique
    "R-1024A": "XCCL", "399192008": "XCCL",  # cranio-caudal exaggerated laterally
    "R-1024B": "XCCM", "399101009": "XCCM",  # cranio-caudal exaggerated medially
    "R-10244": "FB", "399196006": "FB",  # caudo-cranial (from below)
    "R-102D0": "SIO", "399188001": "SIO",  # superolateral to inferomedial oblique
    "R-40AAA": "ISO", "441555000": "ISO",  # inferomedial to superolateral oblique
    "G-8310": "SPECIMEN", "127457009": "SPECIMEN",  # tissue specimen from breast
}

# Code Meaning text, for codes missing from the table (private or newer schemes).
_VIEW_MEANINGS: dict[str, str] = {
    "cranio-caudal": "CC",
    "craniocaudal": "CC",
    "medio-lateral oblique": "MLO",
    "mediolateral oblique": "MLO",
    "medio-lateral": "ML",
    "medial-lateral": "ML",
    "mediolateral": "ML",
    "latero-medial": "LM",
    "lateromedial": "LM",
    "latero-medial oblique": "LMO",
    "cranio-caudal exaggerated laterally": "XCCL",
    "cranio-caudal exaggerated medially": "XCCM",
    "caudo-cranial": "FB",
    "superolateral to inferomedial oblique": "SIO",
    "inferomedial to superolateral oblique": "ISO",
}

# View Position (0018,5101) values and text tokens that name a mammographic view. Longer
# names first, so "XCCL" is not read as "CC" and "LMO" not as "LM".
_VIEW_WORDS: dict[str, str] = {
    "XCCL": "XCCL",
    "XCCM": "XCCM",
    "MLO": "MLO",
    "LMO": "LMO",
    "SIO": "SIO",
    "ISO": "ISO",
    "CC": "CC",
    "ML": "ML",
    "LM": "LM",
    "FB": "FB",
    "AT": "AT",
    "CCID": "CC",  # "cranio-caudal, implant displaced" (Eklund) on several vendors
    "MLOID": "MLO",
}

_LATERALITY_WORDS = {"R": "R", "L": "L", "RIGHT": "R", "LEFT": "L"}

_VIEW_ALTERNATION = "|".join(sorted(_VIEW_WORDS, key=len, reverse=True))
# "R CC", "LMLO", "RIGHT_MLO", "L-XCCL"; the laterality and the view as separate tokens.
_TEXT_SLOT = re.compile(
    rf"(?<![A-Z0-9])(RIGHT|LEFT|R|L)[\s_\-.]*({_VIEW_ALTERNATION})(?![A-Z0-9])"
)
_TEXT_VIEW = re.compile(rf"(?<![A-Z0-9])({_VIEW_ALTERNATION})(?![A-Z0-9])")
_TEXT_LATERALITY = re.compile(r"(?<![A-Z0-9])(RIGHT|LEFT|R|L)(?![A-Z0-9])")


def view_from_codes(codes: Iterable[tuple[str, str]]) -> str | None:
    """The view named by View Code Sequence items.

    Parameters
    ----------
    codes : iterable of (code value, code meaning)
        One pair per sequence item; either part may be empty.

    Returns
    -------
    str or None
        A normalised view ("CC", "MLO", ...), or None when no item names a known view.

    Examples
    --------
    >>> view_from_codes([("R-10226", "medio-lateral oblique")])
    'MLO'
    >>> view_from_codes([("399162004", "")])
    'CC'
    """
    for value, meaning in codes:
        view = VIEW_CODES.get((value or "").strip().upper())
        if view:
            return view
        view = _VIEW_MEANINGS.get((meaning or "").strip().lower())
        if view:
            return view
    return None


def view_from_position(value: str | None) -> str | None:
    """Normalise View Position (0018,5101) to a view, or None when it names none.

    Examples
    --------
    >>> view_from_position("MLO"), view_from_position("FLATFIELD")
    ('MLO', None)
    """
    word = (value or "").strip().upper()
    return _VIEW_WORDS.get(word)


def laterality_from_value(value: str | None) -> str | None:
    """"L" or "R" from Image Laterality / Laterality; None for "B", "U" or empty.

    Examples
    --------
    >>> laterality_from_value("l"), laterality_from_value("B")
    ('L', None)
    """
    return _LATERALITY_WORDS.get((value or "").strip().upper())


def laterality_from_orientation(orientation: Sequence[str] | str | None) -> str | None:
    """Laterality from Patient Orientation (0020,0020), when the image is stored upright.

    PS3.3 C.7.6.1.1.1: the first value is the direction of the rows (left to right).
    Mammograms are stored with the chest wall on one side and the nipple on the other,
    so the rows point anterior ("A") for a left breast and posterior ("P") for a right
    one (e.g. LCC "A\\R", RMLO "P\\L"). Any other row direction (a rotated image) says
    nothing about the side.

    Examples
    --------
    >>> laterality_from_orientation(["A", "FR"]), laterality_from_orientation(["P", "L"])
    ('L', 'R')
    >>> laterality_from_orientation(["R", "P"]) is None
    True
    """
    if orientation is None or isinstance(orientation, str):
        return None
    values = [str(v).strip().upper() for v in orientation]
    if len(values) != 2 or not values[0]:
        return None
    return {"A": "L", "P": "R"}.get(values[0][0])


def parse_view_text(text: str | None) -> tuple[str | None, str | None]:
    """Laterality and view from free text such as "R CC", "LMLO" or "RIGHT_MLO".

    A laterality is only taken from the text together with a view ("R CC") or as a
    word of its own ("Left breast"); single letters inside words never count.

    Returns
    -------
    (laterality, view) : tuple of str or None

    Examples
    --------
    >>> parse_view_text("LMLO")
    ('L', 'MLO')
    >>> parse_view_text("Mass-Test_P_00116_RIGHT_MLO_2")
    ('R', 'MLO')
    >>> parse_view_text("Flat Field Tomo")
    (None, None)
    """
    upper = (text or "").upper()
    if not upper.strip():
        return None, None
    match = _TEXT_SLOT.search(upper)
    if match:
        return _LATERALITY_WORDS[match.group(1)], _VIEW_WORDS[match.group(2)]
    view_match = _TEXT_VIEW.search(upper)
    lat_match = _TEXT_LATERALITY.search(upper)
    view = _VIEW_WORDS[view_match.group(1)] if view_match else None
    laterality = _LATERALITY_WORDS[lat_match.group(1)] if lat_match else None
    return laterality, view


def resolve_laterality_view(
    *,
    view_codes: Iterable[tuple[str, str]] = (),
    view_position: str | None = None,
    image_laterality: str | None = None,
    laterality: str | None = None,
    patient_orientation: Sequence[str] | str | None = None,
    texts: Iterable[str | None] = (),
) -> tuple[str | None, str | None]:
    """Laterality and view from all header sources, most trusted first.

    Patient Orientation holding a view name instead of two directions (CBIS-DDSM files
    store "MLO" there) is read as a view, after View Position.

    Returns
    -------
    (laterality, view) : tuple of str or None

    Examples
    --------
    >>> resolve_laterality_view(view_position="FLATFIELD",
    ...                         view_codes=[("R-10242", "cranio-caudal")], laterality="R")
    ('R', 'CC')
    """
    texts = list(texts)
    view = view_from_codes(view_codes) or view_from_position(view_position)
    if view is None and isinstance(patient_orientation, str):
        view = view_from_position(patient_orientation)
    side = (
        laterality_from_value(image_laterality)
        or laterality_from_value(laterality)
        or laterality_from_orientation(patient_orientation)
    )
    for text in texts:
        if side and view:
            break
        text_side, text_view = parse_view_text(text)
        side = side or text_side
        view = view or text_view
    return side, view
