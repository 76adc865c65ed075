"""Non-DICOM images: PGM (MIAS), PNG, TIFF, JPEG, BMP.

PGM/PPM/PBM are parsed here (binary P5/P6 and ASCII P2/P3, comment lines anywhere in
the header, maxval above 255 meaning 16-bit big-endian samples), because MIAS ships
as PGM and its files must open exactly. Everything else goes through Pillow, which
reads the header lazily: :func:`read_raster_header` never decodes pixels.

Decisions
---------
* Pixels are kept as stored: row 0 is the first row in the file, nothing is flipped
  (an EXIF orientation tag is ignored, with a warning).
* 8-bit images give ``uint8``, 9..16-bit images ``uint16``; 32-bit integer images that
  fit in 16 bits give ``uint16``; float TIFFs stay ``float32``.
* A colour (RGB, palette, CMYK) file is accepted only when it is really grey: in at
  least 99.5 % of its pixels the channels differ by at most 8 of 255 levels (JPEG
  chroma noise and a small coloured burnt-in label pass). It is then converted to grey
  with a warning. Anything else is refused: "colour image, not a mammogram".
* An image over :data:`mammoview.io.limits.MAX_PIXELS` pixels is refused from its
  header, before any decoding, so a corrupt or hostile size cannot exhaust memory.
* Files named ``mdbNNN.*`` are mini-MIAS: 0.2 mm pixels, laterality from the patient
  pair, view MLO, patient "MIAS patient k", and the findings and ground truth of an
  ``Info.txt`` found beside the file or in a parent folder (:mod:`mammoview.io.mias`).
* A ``full_mammogram*`` file in a CBIS-DDSM sample case folder gets its case's patient,
  laterality, view, findings and ground truth from the ``labels.csv``/``bboxes.csv`` one
  folder up (:mod:`mammoview.io.cbis`); all images of one patient form one study.
* Any other file whose name gives the side and view (``A_0002_1.RIGHT_MLO.png``,
  ``LCC.tif``) gets them from its name, and the files of a folder with the same name
  before that token form one study (:mod:`mammoview.io.names`); the rest of a folder is
  one study.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from mammoview.core.errors import ImageReadError, UnsupportedFileError
from mammoview.core.image import Image, ImageRef, PatientInfo, StudyInfo
from mammoview.io import cbis, limits, mias, names

# The same limit as the DICOM reader (see mammoview.io.limits). Pillow refuses files
# over about 179 megapixels on its own (its decompression-bomb check); that is reported
# with the same "image too large" reason.
MAX_PIXELS = limits.MAX_PIXELS

RASTER_EXTENSIONS = frozenset(
    {".pgm", ".pnm", ".ppm", ".pbm", ".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp"}
)

# Grey test for colour files: a pixel is "grey" when its channels differ by at most
# this many levels (8-bit scale) ...
_GREY_TOLERANCE = 8
# ... and the file is grey when at least this fraction of its pixels are.
_GREY_FRACTION = 0.995

_PNM_MAGICS = {b"P1", b"P2", b"P3", b"P4", b"P5", b"P6"}
_WHITESPACE = b" \t\r\n\v\f"


def is_raster_path(path: str | os.PathLike[str]) -> bool:
    """True when the file name has an extension this module reads."""
    return Path(path).suffix.lower() in RASTER_EXTENSIONS


# ----------------------------------------------------------------------------- public API


def read_raster_header(path: str | os.PathLike[str]) -> ImageRef:
    """Describe a raster image from its header alone (no pixel decoding).

    Parameters
    ----------
    path : str or os.PathLike
        A PGM/PPM, PNG, TIFF, JPEG or BMP file.

    Returns
    -------
    ImageRef
        ``kind="raster"``, with size, and for MIAS files laterality, view, patient,
        findings and ground truth.

    Raises
    ------
    ImageReadError
        Empty, unreadable, truncated header, not an image, or too large.
    UnsupportedFileError
        A 1-bit (black and white) image.
    """
    path = Path(path)
    limits.check_nonempty_file(path)
    if _is_pnm(path):
        header = _read_pnm_header(path)
        rows, cols = header.rows, header.cols
    else:
        with _open_pillow(path) as im:
            _check_pillow_mode(path, im)
            cols, rows = im.size
    _check_size(path, rows, cols)
    return _make_ref(path, rows, cols)


def read_raster(path: str | os.PathLike[str], ref: ImageRef | None = None) -> Image:
    """Decode a raster image into a 2-D ``uint8``/``uint16`` (or ``float32``) :class:`Image`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    ref : ImageRef, optional
        The header discovery made for this file; built here when omitted. Its size is
        corrected if the file changed since.

    Raises
    ------
    ImageReadError
        With a one-line reason (empty, truncated, not an image, too large, colour).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tiny.pgm"
    >>> _ = p.write_bytes(b"P5\\n# a comment\\n3 2\\n255\\n" + bytes(range(6)))
    >>> img = read_raster(p)
    >>> img.pixels.tolist(), img.pixels.dtype.name
    ([[0, 1, 2], [3, 4, 5]], 'uint8')
    """
    path = Path(path)
    limits.check_nonempty_file(path)
    if _is_pnm(path):
        pixels, bits, notes = _read_pnm_pixels(path)
    else:
        pixels, bits, notes = _read_pillow_pixels(path)
    rows, cols = pixels.shape
    if ref is None:
        ref = _make_ref(path, rows, cols)
    elif (ref.rows, ref.cols) != (rows, cols):
        ref = _make_ref(path, rows, cols, base=ref)
    number = mias.mias_number(path)
    spacing = (mias.MIAS_SPACING_MM, mias.MIAS_SPACING_MM) if number is not None else None
    return Image(
        pixels=pixels,
        ref=ref,
        photometric="MONOCHROME2",
        pixel_spacing_mm=spacing,
        spacing_source=mias.MIAS_SPACING_SOURCE if number is not None else "",
        bits_stored=bits,
        warnings=tuple(notes),
    )


# ----------------------------------------------------------------------------- references


def _make_ref(path: Path, rows: int, cols: int, base: ImageRef | None = None) -> ImageRef:
    absolute = os.path.abspath(path)
    if base is not None:
        return replace(base, rows=rows, cols=cols)
    number = mias.mias_number(path)
    if number is not None:
        return _mias_ref(path, absolute, number, rows, cols)
    case = cbis.lookup_case(path)
    if case is not None:
        return _cbis_ref(absolute, case, rows, cols)
    folder = os.path.dirname(absolute)
    named = names.view_from_name(path.stem)
    if named is None:
        return ImageRef(path=absolute, kind="raster", uid=f"file:{absolute}", study_uid=f"folder:{folder}",
                        rows=rows, cols=cols)
    # One study per examination name within a folder (names.py says why).
    study_uid = f"name:{os.path.join(folder, named.examination)}" if named.examination else f"folder:{folder}"
    return ImageRef(path=absolute, kind="raster", uid=f"file:{absolute}", study_uid=study_uid,
                    laterality=named.laterality,  # type: ignore[arg-type]
                    view=named.view, patient=PatientInfo(id=named.examination), rows=rows, cols=cols)


def _mias_ref(path: Path, absolute: str, number: int, rows: int, cols: int) -> ImageRef:
    patient = mias.mias_patient(number)
    entry = mias.lookup_entry(path)
    return _dataset_ref(absolute, rows, cols, study_uid=f"mias-patient-{patient}", description="mini-MIAS",
                        patient_id=f"MIAS patient {patient}", laterality=mias.mias_laterality(number), view="MLO",
                        findings=entry.findings(rows) if entry else (),
                        ground_truth=entry.ground_truth if entry else None)


def _cbis_ref(absolute: str, case: cbis.CbisCase, rows: int, cols: int) -> ImageRef:
    # One study per patient: a patient's CC and MLO case folders hang together, as the
    # views of one DDSM examination do.
    return _dataset_ref(absolute, rows, cols, study_uid=f"cbis-ddsm-patient-{case.patient_id}",
                        description="CBIS-DDSM", patient_id=case.patient_id, laterality=case.laterality,
                        view=case.view, findings=case.findings(rows, cols), ground_truth=case.ground_truth)


def _dataset_ref(absolute: str, rows: int, cols: int, *, study_uid: str, description: str, patient_id: str,
                 laterality: str | None, view: str, findings: tuple, ground_truth: str | None) -> ImageRef:
    """A mammogram of a public dataset whose files say who and what (no DICOM header)."""
    return ImageRef(
        path=absolute,
        kind="raster",
        uid=f"file:{absolute}",
        study_uid=study_uid,
        laterality=laterality,  # type: ignore[arg-type]
        view=view,
        patient=PatientInfo(id=patient_id),
        study=StudyInfo(uid=study_uid, description=description),
        modality="MG",
        rows=rows,
        cols=cols,
        findings=findings,
        ground_truth=ground_truth,
    )


# ----------------------------------------------------------------------------- checks


def _check_size(path: Path, rows: int, cols: int) -> None:
    limits.check_pixel_count(path, rows, cols)


# ----------------------------------------------------------------------------- PNM (PGM)


class _PnmHeader:
    __slots__ = ("magic", "cols", "rows", "maxval", "data_offset")

    def __init__(self, magic: bytes, cols: int, rows: int, maxval: int, data_offset: int):
        self.magic, self.cols, self.rows = magic, cols, rows
        self.maxval, self.data_offset = maxval, data_offset

    @property
    def channels(self) -> int:
        return 3 if self.magic in (b"P3", b"P6") else 1

    @property
    def binary(self) -> bool:
        return self.magic in (b"P4", b"P5", b"P6")


def _is_pnm(path: Path) -> bool:
    """Netpbm files are recognised by their magic number, whatever their extension."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(3)
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None
    return len(head) == 3 and head[:2] in _PNM_MAGICS and head[2:3] in (
        b" ", b"\t", b"\r", b"\n", b"#")


def _read_pnm_header(path: Path) -> _PnmHeader:
    """Parse magic, width, height and maxval; comments may sit between any tokens."""
    with open(path, "rb") as fh:
        # Headers are tiny; 64 KiB allows for generous comment blocks.
        data = fh.read(65536)
    magic = data[:2]
    if magic in (b"P1", b"P4"):
        raise UnsupportedFileError(path, "1-bit black-and-white PBM image, not a mammogram")
    pos = 2
    values: list[int] = []
    needed = 3
    while len(values) < needed:
        pos = _skip_space_and_comments(data, pos)
        start = pos
        while pos < len(data) and data[pos] not in _WHITESPACE and data[pos] != ord("#"):
            pos += 1
        token = data[start:pos]
        if not token:
            raise ImageReadError(path, "truncated PGM header (size or maxval missing)")
        if not token.isdigit():
            raise ImageReadError(path, f"malformed PGM header: {token[:20].decode('latin-1')!r} is not a number")
        values.append(int(token))
    if pos >= len(data):
        raise ImageReadError(path, "truncated PGM: no pixel data after the header")
    cols, rows, maxval = values
    if not 1 <= maxval <= 65535:
        raise ImageReadError(path, f"malformed PGM header: maxval {maxval} outside 1..65535")
    # Exactly one whitespace character separates maxval from binary pixel data.
    return _PnmHeader(magic, cols, rows, maxval, pos + 1)


def _skip_space_and_comments(data: bytes, pos: int) -> int:
    while pos < len(data):
        byte = data[pos]
        if byte in _WHITESPACE:
            pos += 1
        elif byte == ord("#"):
            end = data.find(b"\n", pos)
            end_cr = data.find(b"\r", pos)
            ends = [e for e in (end, end_cr) if e >= 0]
            pos = min(ends) + 1 if ends else len(data)
        else:
            break
    return pos


def _read_pnm_pixels(path: Path) -> tuple[np.ndarray, int, list[str]]:
    header = _read_pnm_header(path)
    _check_size(path, header.rows, header.cols)
    count = header.rows * header.cols * header.channels
    wide = header.maxval > 255
    with open(path, "rb") as fh:
        fh.seek(header.data_offset)
        raw = fh.read()
    if header.binary:
        itemsize = 2 if wide else 1
        expected = count * itemsize
        if len(raw) < expected:
            raise ImageReadError(
                path, f"truncated PGM: {len(raw)} of {expected} bytes of pixel data present")
        dtype = np.dtype(">u2") if wide else np.dtype(np.uint8)
        flat = np.frombuffer(raw, dtype=dtype, count=count)
    else:
        # Plain (ASCII) format: tolerate comments in the body too, as some writers emit them.
        text = re.sub(rb"#[^\r\n]*", b" ", raw)
        try:
            flat = np.array(text.split()[:count], dtype=np.int64)
        except ValueError:
            raise ImageReadError(path, "malformed ASCII PGM: a pixel value is not a number") from None
        if flat.size < count:
            raise ImageReadError(path, f"truncated PGM: {flat.size} of {count} pixel values present")
    if flat.size and int(flat.max()) > header.maxval:
        raise ImageReadError(path, f"malformed PGM: pixel value {int(flat.max())} above maxval {header.maxval}")
    out_dtype = np.uint16 if wide else np.uint8
    bits = max(1, header.maxval.bit_length())
    notes: list[str] = []
    if header.channels == 3:
        rgb = flat.reshape(header.rows, header.cols, 3)
        scale = 255.0 / header.maxval
        pixels = _grey_from_rgb(path, rgb, scale).astype(out_dtype)
        notes.append("colour (PPM) file converted to greyscale: its channels are equal")
    else:
        pixels = flat.reshape(header.rows, header.cols).astype(out_dtype, copy=True)
    return pixels, bits, notes


# ----------------------------------------------------------------------------- Pillow


def _open_pillow(path: Path) -> PILImage.Image:
    """Open lazily (header only), mapping Pillow's failures to one-line reasons."""
    try:
        with warnings.catch_warnings():
            # The size check is ours (MAX_PIXELS), made before any decoding.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            return PILImage.open(path)
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file (format not recognised)") from None
    except PILImage.DecompressionBombError:
        raise ImageReadError(path, "image too large: over 179 megapixels (refused before decoding)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f"corrupt image header ({_one_line(exc)})") from None


def _check_pillow_mode(path: Path, im: PILImage.Image) -> None:
    if im.mode == "1":
        raise UnsupportedFileError(path, "1-bit black-and-white image, not a mammogram")


def _read_pillow_pixels(path: Path) -> tuple[np.ndarray, int, list[str]]:
    notes: list[str] = []
    with _open_pillow(path) as im:
        _check_pillow_mode(path, im)
        cols, rows = im.size
        _check_size(path, rows, cols)
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            notes.append(f"multi-page file: showing page 1 of {frames}")
        orientation = _exif_orientation(im)
        if orientation not in (None, 1):
            notes.append("EXIF orientation tag ignored: pixels shown as stored")
        try:
            im.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageReadError(path, f"truncated or corrupt image data ({_one_line(exc)})") from None
        pixels, bits = _pixels_from_pillow(path, im, notes)
    return pixels, bits, notes


def _pixels_from_pillow(path: Path, im: PILImage.Image, notes: list[str]) -> tuple[np.ndarray, int]:
    mode = im.mode
    if mode == "L":
        return np.array(im, dtype=np.uint8), 8
    if mode.startswith("I;16"):
        # np.array honours the byte order of I;16B / I;16L and gives native uint16.
        return np.array(im).astype(np.uint16, copy=False), 16
    if mode == "I":
        data = np.array(im)
        lo, hi = int(data.min()), int(data.max())
        if lo >= 0 and hi <= 65535:
            return data.astype(np.uint16), 16
        raise ImageReadError(path, f"32-bit integer image with values {lo}..{hi} outside 0..65535")
    if mode == "F":
        return np.array(im, dtype=np.float32), 32
    if mode == "LA":
        alpha = np.array(im.getchannel("A"))
        if alpha.min() < 255:
            notes.append("transparency (alpha channel) ignored")
        return np.array(im.getchannel("L"), dtype=np.uint8), 8
    if mode in ("P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        rgba = im.convert("RGBA") if mode in ("P", "PA", "RGBA") else None
        if rgba is not None:
            alpha = np.array(rgba.getchannel("A"))
            if alpha.min() < 255:
                notes.append("transparency (alpha channel) ignored")
            rgb = np.array(rgba.convert("RGB"))
        else:
            rgb = np.array(im.convert("RGB"))
        grey = _grey_from_rgb(path, rgb, 1.0)
        label = "palette" if mode in ("P", "PA") else mode
        notes.append(f"{label} file converted to greyscale: its colour channels are equal")
        return grey.astype(np.uint8), 8
    raise UnsupportedFileError(path, f"unsupported pixel format {mode!r}")


def _grey_from_rgb(path: Path, rgb: np.ndarray, scale: float) -> np.ndarray:
    """The mean of the channels, if the image is grey (see module notes); else refuse."""
    r = rgb[..., 0].astype(np.int32)
    g = rgb[..., 1].astype(np.int32)
    b = rgb[..., 2].astype(np.int32)
    spread = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    grey_fraction = float(np.mean(spread * scale <= _GREY_TOLERANCE))
    if grey_fraction < _GREY_FRACTION:
        raise UnsupportedFileError(
            path, f"colour image, not a mammogram ({100 * (1 - grey_fraction):.1f}% of pixels coloured)")
    return (r + g + b + 1) // 3


def _exif_orientation(im: PILImage.Image) -> int | None:
    try:
        return im.getexif().get(0x0112)
    except Exception:  # a broken EXIF block must not stop the image from opening
        return None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__
