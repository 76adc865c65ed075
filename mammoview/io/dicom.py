"""DICOM mammograms: header (for discovery) and pixels (for display).

The reader does the first step of the DICOM grayscale pipeline, the Modality LUT
(PS3.3 C.11.1: Rescale Slope/Intercept or a Modality LUT Sequence), and collects the
VOI transforms the file offers (PS3.3 C.11.2: Window Center/Width with the VOI LUT
Function, and VOI LUT Sequence items) as :class:`~mammoview.core.Voi` values. The VOI
itself and the MONOCHROME1 inversion (PS3.3 C.7.6.3.1.2) are applied later, by
:mod:`mammoview.imaging.display`, so the viewer can change the window without
re-reading the file.

What is refused, always with a one-line reason (:class:`ImageReadError`, or
:class:`UnsupportedFileError` for readable files that are not mammograms):
empty files, files that are not DICOM, DICOMDIRs, structured reports (dose reports
included), images of other body parts (CT, MR, ...), colour images, headers with no
pixel data, truncated or undecodable pixel data, and frames over
:data:`mammoview.io.limits.MAX_PIXELS`.

Multi-frame images (e.g. breast tomosynthesis) open on their first frame, with a
warning in :attr:`Image.warnings`; only that frame is decoded.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder
from pydicom.uid import UID

from mammoview.core.errors import ImageReadError, UnsupportedFileError
from mammoview.core.image import Image, ImageRef, PatientInfo, StudyInfo, Voi
from mammoview.io.dicom_view import resolve_laterality_view
from mammoview.io.limits import check_pixel_count

FOR_PROCESSING_WARNING = (
    "FOR PROCESSING image: raw detector data, not intended for viewing; contrast will look flat"
)

# PS3.4 B.5 storage SOP classes made for breast imaging; their images are accepted
# whatever Modality says.
MAMMOGRAPHY_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.1.2": "Digital Mammography X-Ray Image - For Presentation",
    "1.2.840.10008.5.1.4.1.1.1.2.1": "Digital Mammography X-Ray Image - For Processing",
    "1.2.840.10008.5.1.4.1.1.13.1.3": "Breast Tomosynthesis Image",
    "1.2.840.10008.5.1.4.1.1.13.1.4": "Breast Projection X-Ray Image - For Presentation",
    "1.2.840.10008.5.1.4.1.1.13.1.5": "Breast Projection X-Ray Image - For Processing",
}
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
RDSR_SOP_CLASSES = {"1.2.840.10008.5.1.4.1.1.88.67", "1.2.840.10008.5.1.4.1.1.88.76"}
SR_SOP_PREFIX = "1.2.840.10008.5.1.4.1.1.88."

# Short names users recognise, for error messages; the rest come from pydicom's UID names.
_TRANSFER_SYNTAX_NAMES = {
    "1.2.840.10008.1.2": "Implicit VR Little Endian",
    "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
    "1.2.840.10008.1.2.2": "Explicit VR Big Endian",
    "1.2.840.10008.1.2.4.50": "JPEG Baseline (8-bit)",
    "1.2.840.10008.1.2.4.51": "JPEG Extended (12-bit)",
    "1.2.840.10008.1.2.4.57": "JPEG Lossless",
    "1.2.840.10008.1.2.4.70": "JPEG Lossless (SV1)",
    "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
    "1.2.840.10008.1.2.4.81": "JPEG-LS Near-Lossless",
    "1.2.840.10008.1.2.4.90": "JPEG 2000 Lossless",
    "1.2.840.10008.1.2.4.91": "JPEG 2000",
    "1.2.840.10008.1.2.4.201": "HTJ2K Lossless",
    "1.2.840.10008.1.2.4.203": "HTJ2K",
    "1.2.840.10008.1.2.5": "RLE Lossless",
}
_PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


# --------------------------------------------------------------------------- header


def is_dicom(path: str | Path) -> bool:
    """Cheap check: a "DICM" preamble, or a header without preamble that parses.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    bool
        False for unreadable files; never raises.
    """
    try:
        with open(path, "rb") as fp:
            head = fp.read(132)
        if len(head) == 132 and head[128:132] == b"DICM":
            return True
        # Files without the 128-byte preamble start with group 0002 or 0008
        # (little endian); only those are worth a forced parse.
        if head[:2] not in (b"\x02\x00", b"\x08\x00"):
            return False
        _read_forced_header(path)
        return True
    except (OSError, ImageReadError):
        return False


def read_dicom_header(path: str | Path, *, require_mammogram: bool = True) -> ImageRef:
    """Read the header only (``stop_before_pixels``) and describe the image.

    Parameters
    ----------
    path : str or Path
    require_mammogram : bool
        When True (the default) images of other body parts are refused. Modality MG is
        accepted, and any modality when Body Part Examined is BREAST or the SOP class
        is a mammography one (the NEMA WG04 mammogram is tagged RG).

    Returns
    -------
    ImageRef
        ``kind="dicom"``, ``uid`` the SOP Instance UID (else ``"file:" + absolute path``),
        ``study_uid`` the Study Instance UID (else the folder path).

    Raises
    ------
    ImageReadError
        The file is empty, not DICOM, damaged, has no pixel data or is too large.
    UnsupportedFileError
        DICOMDIR, structured report, colour image or not a mammogram.
    """
    ds, has_pixels = _read_header_dataset(path)
    _check_dataset(path, ds, has_pixels=has_pixels, require_mammogram=require_mammogram)
    return _make_ref(path, ds)


def read_dicom(
    path: str | Path, ref: ImageRef | None = None, *, require_mammogram: bool = True
) -> Image:
    """Decode the first frame, apply the Modality LUT and collect the VOIs.

    The pipeline stops after the Modality LUT (PS3.3 C.11.1); VOI (C.11.2) and the
    MONOCHROME1 inversion belong to :mod:`mammoview.imaging.display`.

    Parameters
    ----------
    path : str or Path
    ref : ImageRef, optional
        The header description from discovery; read again when not given.
    require_mammogram : bool
        See :func:`read_dicom_header`.

    Returns
    -------
    Image
        ``pixels`` 2-D (rows, cols), uint8/uint16/int16/int32 when the modality LUT keeps
        integers, else float32. ``voi`` lists the windows first (one per Window Center
        value), then the VOI LUT Sequence items.

    Raises
    ------
    ImageReadError, UnsupportedFileError
        As :func:`read_dicom_header`, plus truncated or undecodable pixel data.
    """
    header, has_pixels = _read_header_dataset(path)
    _check_dataset(path, header, has_pixels=has_pixels, require_mammogram=require_mammogram)
    if ref is None:
        ref = _make_ref(path, header)
    ds = _read_full_dataset(path, header)
    stored = _decode_first_frame(path, ds)
    pixels = apply_modality_lut(stored, ds)

    image_warnings: list[str] = []
    intent = str(ds.get("PresentationIntentType", "") or "").strip().upper()
    if intent == "FOR PROCESSING":
        image_warnings.append(FOR_PROCESSING_WARNING)
    frames = _number_of_frames(ds)
    if frames > 1:
        image_warnings.append(f"multi-frame image ({frames} frames): showing frame 1 only")
    vois, voi_warnings = read_vois(ds)
    image_warnings.extend(voi_warnings)
    spacing, spacing_source = read_pixel_spacing(ds)

    return Image(
        pixels=pixels,
        ref=ref,
        photometric=str(ds.PhotometricInterpretation).strip().upper(),
        voi=vois,
        pixel_spacing_mm=spacing,
        spacing_source=spacing_source,
        bits_stored=int(ds.get("BitsStored") or ds.get("BitsAllocated") or 16),
        presentation_intent=intent,
        warnings=tuple(image_warnings),
    )


def _read_forced_header(path: str | Path) -> tuple[Dataset, bool]:
    """Parse a file without preamble; refuse it unless it yields an image header.

    Returns the header and whether pixel data follows it (see :func:`_read_header_dataset`).
    """
    try:
        with open(path, "rb") as fp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(fp, force=True, stop_before_pixels=True)
            has_pixels = fp.tell() < os.fstat(fp.fileno()).st_size
        usable = "SOPClassUID" in ds and ("Rows" in ds or "Modality" in ds)
    except Exception:  # any parse failure means the same thing here
        usable = False
    if not usable:
        raise ImageReadError(
            path, "not a DICOM file: no 'DICM' preamble and no readable DICOM header"
        )
    return ds, has_pixels


def _read_header_dataset(path: str | Path) -> tuple[Dataset, bool]:
    """The header (no pixels) and whether a pixel data element follows it."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ImageReadError(path, f"cannot open the file: {exc.strerror or exc}") from None
    if size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    try:
        with open(path, "rb") as fp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(fp, stop_before_pixels=True)
            # pydicom stops in front of the pixel data element; reaching the end of
            # the file instead means there is none (a header-only file).
            stopped_at = fp.tell()
    except InvalidDicomError:
        return _read_forced_header(path)
    except OSError as exc:
        raise ImageReadError(path, f"cannot read the file: {exc.strerror or exc}") from None
    except Exception as exc:  # pydicom raises many types on damaged headers
        raise ImageReadError(path, f"damaged DICOM header ({_one_line(exc)})") from None
    ts = _transfer_syntax(ds)
    deflated = ts == "1.2.840.10008.1.2.1.99"  # fp positions refer to the inflated stream
    has_pixels = deflated or stopped_at < size
    return ds, has_pixels


def _check_dataset(
    path: str | Path, ds: Dataset, *, has_pixels: bool, require_mammogram: bool
) -> None:
    """Refuse what MammoView cannot show, most specific reason first."""
    media_class = str(getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", "") or "")
    sop_class = str(ds.get("SOPClassUID", "") or media_class)
    modality = str(ds.get("Modality", "") or "").strip().upper()
    if DICOMDIR_SOP_CLASS in (sop_class, media_class) or "DirectoryRecordSequence" in ds:
        raise UnsupportedFileError(
            path, "DICOMDIR (an index of a DICOM disc, not an image): the images it lists are read "
            "from their own files in its folder"
        )
    if sop_class in RDSR_SOP_CLASSES:
        raise UnsupportedFileError(path, "radiation dose structured report (RDSR), not an image")
    if sop_class.startswith(SR_SOP_PREFIX) or modality == "SR":
        raise UnsupportedFileError(path, "structured report (SR), not an image")
    if require_mammogram:
        body_part = str(ds.get("BodyPartExamined", "") or "").strip().upper()
        if modality != "MG" and body_part != "BREAST" and sop_class not in MAMMOGRAPHY_SOP_CLASSES:
            raise UnsupportedFileError(path, f"not a mammogram: Modality {modality or 'missing'}")
    if not has_pixels:
        raise ImageReadError(path, "no pixel data in the file (header only)")
    samples = int(ds.get("SamplesPerPixel") or 1)
    photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
    if samples != 1 or photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise UnsupportedFileError(
            path,
            f"colour image ({photometric or 'no photometric interpretation'}, "
            f"{samples} samples per pixel); only greyscale mammograms are shown",
        )
    rows, cols = ds.get("Rows"), ds.get("Columns")
    if not rows or not cols:
        raise ImageReadError(path, "no image size in the header (Rows/Columns missing)")
    check_pixel_count(path, int(rows), int(cols))


def _make_ref(path: str | Path, ds: Dataset) -> ImageRef:
    abspath = str(Path(path).resolve())
    view_codes = [
        (str(item.get("CodeValue", "") or ""), str(item.get("CodeMeaning", "") or ""))
        for item in (ds.get("ViewCodeSequence") or [])
    ]
    orientation = ds.get("PatientOrientation")
    if orientation is not None and not isinstance(orientation, str):
        orientation = [str(v) for v in orientation]
    laterality, view = resolve_laterality_view(
        view_codes=view_codes,
        view_position=_text(ds, "ViewPosition"),
        image_laterality=_text(ds, "ImageLaterality"),
        laterality=_text(ds, "Laterality"),
        patient_orientation=orientation,
        texts=(_text(ds, "SeriesDescription"), _text(ds, "ProtocolName")),
    )
    return ImageRef(
        path=str(path),
        kind="dicom",
        uid=_text(ds, "SOPInstanceUID") or f"file:{abspath}",
        study_uid=_text(ds, "StudyInstanceUID") or str(Path(abspath).parent),
        laterality=laterality,  # type: ignore[arg-type]
        view=view,
        patient=PatientInfo(
            name=_text(ds, "PatientName"),
            id=_text(ds, "PatientID"),
            birth_date=_text(ds, "PatientBirthDate"),
            sex=_text(ds, "PatientSex"),
        ),
        study=StudyInfo(
            uid=_text(ds, "StudyInstanceUID"),
            date=_text(ds, "StudyDate"),
            description=_text(ds, "StudyDescription"),
            accession=_text(ds, "AccessionNumber"),
            institution=_text(ds, "InstitutionName"),
            manufacturer=_text(ds, "Manufacturer"),
        ),
        modality=_text(ds, "Modality"),
        rows=int(ds.Rows) if ds.get("Rows") else None,
        cols=int(ds.Columns) if ds.get("Columns") else None,
    )


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip()


# --------------------------------------------------------------------------- pixels


def _read_full_dataset(path: str | Path, header: Dataset) -> Dataset:
    caught: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            ds = pydicom.dcmread(path, force=not _has_preamble(path))
        caught = [str(r.message) for r in records]
    except Exception as exc:
        raise ImageReadError(path, f"damaged pixel data ({_one_line(exc)})") from None
    if not any(tag in ds for tag in _PIXEL_TAGS):
        # pydicom gives back an empty dataset when encapsulated data runs off the end.
        ts_name = transfer_syntax_name(_transfer_syntax(header), header)
        detail = next((m for m in caught if "End of file" in m), "")
        reason = f"pixel data is truncated or damaged: the {ts_name} data ends early"
        if detail:
            reason += f" ({_one_line(detail.split(' found in file')[0])})"
        raise ImageReadError(path, reason)
    if "PixelData" not in ds:
        raise UnsupportedFileError(path, "floating-point pixel data is not supported")
    if not hasattr(ds, "file_meta") or "TransferSyntaxUID" not in ds.file_meta:
        # Headerless files: pydicom guessed the encoding while parsing.
        ds.file_meta = getattr(ds, "file_meta", None) or pydicom.dataset.FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = (
            pydicom.uid.ImplicitVRLittleEndian if ds.is_implicit_VR else pydicom.uid.ExplicitVRLittleEndian
        )
    return ds


def _has_preamble(path: str | Path) -> bool:
    with open(path, "rb") as fp:
        return fp.read(132)[128:132] == b"DICM"


def _transfer_syntax(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    return str(getattr(meta, "TransferSyntaxUID", "") or "") if meta is not None else ""


def transfer_syntax_name(uid: str, ds: Dataset | None = None) -> str:
    """A short human name for a transfer syntax UID ("JPEG 2000 Lossless", ...).

    Examples
    --------
    >>> transfer_syntax_name("1.2.840.10008.1.2.5")
    'RLE Lossless'
    """
    name = _TRANSFER_SYNTAX_NAMES.get(uid)
    if name:
        if uid == "1.2.840.10008.1.2.4.51" and ds is not None and int(ds.get("BitsStored") or 12) <= 8:
            return "JPEG Extended (8-bit)"
        return name
    if not uid:
        return "unknown transfer syntax"
    friendly = UID(uid).name
    return friendly if friendly and friendly != uid else "unknown transfer syntax"


def _number_of_frames(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def _decode_first_frame(path: str | Path, ds: Dataset) -> np.ndarray:
    """The first frame as stored values (before the modality LUT), 2-D."""
    ts = _transfer_syntax(ds)
    label = f"{transfer_syntax_name(ts, ds)} pixel data ({ts})"
    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        raise ImageReadError(path, f"cannot decode {label}: no decoder exists for it") from None
    if not decoder.is_available:
        raise ImageReadError(path, f"cannot decode {label}: no installed decoder supports it")
    if not UID(ts).is_compressed:
        _check_native_length(path, ds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr, _ = decoder.as_array(ds, index=0)
    except ValueError as exc:
        message = _one_line(exc)
        if "less than expected" in message or "truncated" in message.lower():
            raise ImageReadError(path, f"pixel data is truncated ({label})") from None
        raise ImageReadError(path, f"cannot decode {label}: {message}") from None
    except Exception as exc:  # decoder plugins raise RuntimeError, OSError, ...
        raise ImageReadError(path, f"cannot decode {label}: {_decoder_failure(exc)}") from None
    if arr.ndim != 2:
        raise ImageReadError(path, f"unexpected decoded shape {arr.shape} ({label})")
    return _mask_to_bits_stored(arr, ds)


def _check_native_length(path: str | Path, ds: Dataset) -> None:
    """Refuse uncompressed pixel data shorter than its header says (a truncated copy)."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    bits = int(ds.get("BitsAllocated") or 16)
    frames = _number_of_frames(ds)
    expected_bits = rows * cols * frames * bits
    expected = (expected_bits + 7) // 8
    actual = len(ds.PixelData)
    # One frame is enough for us, but a short last frame still marks a damaged file.
    if actual < expected:
        raise ImageReadError(
            path, f"pixel data is truncated: {actual} of {expected} bytes present"
        )


def _decoder_failure(exc: Exception) -> str:
    """One line out of pydicom's multi-line 'all plugins failed' message."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if len(lines) > 1 and "plugins" in lines[0]:
        reasons = "; ".join(_shorten(ln, 110) for ln in lines[1:])
        if "missing dependencies" in lines[0] or "no pixel data decoders" in lines[0]:
            return f"no installed decoder supports it ({reasons})"
        return f"no installed decoder could read it ({reasons})"
    return _shorten(_one_line(exc), 200)


def _mask_to_bits_stored(arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """Clear bits above Bits Stored (PS3.5 8.1.1), sign-extending signed data."""
    bits_stored = int(ds.get("BitsStored") or 0)
    bits = arr.dtype.itemsize * 8
    if arr.dtype.kind not in "ui" or not 0 < bits_stored < bits:
        return arr
    if arr.dtype.kind == "u":
        limit = (1 << bits_stored) - 1
        if int(arr.max()) <= limit:
            return arr
        return np.bitwise_and(arr, np.array(limit, dtype=arr.dtype))
    low, high = -(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1
    if low <= int(arr.min()) and int(arr.max()) <= high:
        return arr
    shift = bits - bits_stored
    unsigned = arr.view(arr.dtype.str.replace("i", "u"))
    return (np.left_shift(unsigned, shift).view(arr.dtype) >> shift).astype(arr.dtype)


# --------------------------------------------------------------------------- LUTs


def apply_modality_lut(stored: np.ndarray, ds: Dataset) -> np.ndarray:
    """Stored values to modality values (PS3.3 C.11.1).

    A Modality LUT Sequence (C.11.1.1) wins over Rescale Slope/Intercept (C.11.1.1.2,
    they are mutually exclusive in a valid file). Identity rescales return the input
    unchanged; integral slope and intercept keep an integer dtype wide enough for the
    result; anything else gives float32. Never modifies ``stored``.

    Parameters
    ----------
    stored : ndarray
        Decoded stored values.
    ds : pydicom Dataset
        The header with the modality LUT attributes.

    Returns
    -------
    ndarray
    """
    sequence = ds.get("ModalityLUTSequence")
    if sequence:
        lut, first, _bits = _lut_from_item(sequence[0], signed=int(ds.get("PixelRepresentation") or 0) == 1)
        index = np.clip(stored.astype(np.int64) - first, 0, len(lut) - 1)
        return lut[index]
    slope = float(ds.get("RescaleSlope") if ds.get("RescaleSlope") is not None else 1.0)
    intercept = float(ds.get("RescaleIntercept") if ds.get("RescaleIntercept") is not None else 0.0)
    if slope == 1.0 and intercept == 0.0:
        return stored
    if slope.is_integer() and intercept.is_integer() and stored.dtype.kind in "ui":
        info = np.iinfo(stored.dtype)
        ends = [info.min * slope + intercept, info.max * slope + intercept]
        dtype = np.result_type(np.min_scalar_type(int(min(ends))), np.min_scalar_type(int(max(ends))))
        out = stored.astype(dtype if dtype.kind in "ui" else np.int64)
        if slope != 1.0:
            out = out * out.dtype.type(slope)
        return out + out.dtype.type(intercept)
    return (stored.astype(np.float32) * np.float32(slope) + np.float32(intercept)).astype(np.float32)


def _lut_from_item(item: Dataset, *, signed: bool) -> tuple[np.ndarray, int, int]:
    """LUT data, first mapped value and bits per entry from an LUT item (PS3.3 C.11.1.1.1)."""
    entries, first, bits = (int(v) for v in item.LUTDescriptor)
    entries = entries or 65536  # "0" means 2^16 entries
    if signed and first > 32767:  # the first value is US or SS, as the pixel data
        first -= 65536
    raw = item.LUTData
    if isinstance(raw, (bytes, bytearray)):
        dtype = np.uint8 if bits <= 8 and len(raw) == entries else np.dtype("<u2")
        data = np.frombuffer(raw, dtype=dtype)
    else:  # US/SS: pydicom gives a list of ints, or one int for a 1-entry LUT
        data = np.asarray([raw] if isinstance(raw, int) else list(raw))
    data = data.astype(np.uint16 if bits > 8 else np.uint8)[:entries]
    return data, first, bits


def read_vois(ds: Dataset) -> tuple[tuple[Voi, ...], list[str]]:
    """The VOI transforms a header offers (PS3.3 C.11.2), and warnings for bad ones.

    Windows come first, one per Window Center/Width value pair, all with the file's VOI
    LUT Function (C.11.2.1.3: LINEAR when absent) and the matching Window Center & Width
    Explanation; then one LUT per VOI LUT Sequence item (C.11.2.1.1). Windows come first
    because a viewer can drag them; a LUT is fixed.

    Returns
    -------
    (vois, warnings) : tuple of Voi, list of str
    """
    found: list[Voi] = []
    problems: list[str] = []
    function = str(ds.get("VOILUTFunction", "") or "LINEAR").strip().upper()
    if function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        problems.append(f"unknown VOI LUT Function {function!r}: using LINEAR")
        function = "LINEAR"
    centers = _as_list(ds.get("WindowCenter"))
    widths = _as_list(ds.get("WindowWidth"))
    explanations = _as_list(ds.get("WindowCenterWidthExplanation"))
    for i, (center, width) in enumerate(zip(centers, widths)):
        try:
            c, w = float(center), float(width)
        except (TypeError, ValueError):
            problems.append(f"unreadable window {i + 1} ignored")
            continue
        minimum_ok = w >= 1 if function == "LINEAR" else w > 0
        if not (np.isfinite(c) and np.isfinite(w) and minimum_ok):
            problems.append(f"invalid window {i + 1} (C {c:g} / W {w:g}) ignored")
            continue
        name = str(explanations[i]).strip() if i < len(explanations) else ""
        found.append(Voi(center=c, width=w, function=function, explanation=name))
    signed = int(ds.get("PixelRepresentation") or 0) == 1
    for i, item in enumerate(ds.get("VOILUTSequence") or []):
        try:
            lut, first, bits = _lut_from_item(item, signed=signed)
        except Exception:  # a malformed item must not stop the image from opening
            problems.append(f"unreadable VOI LUT {i + 1} ignored")
            continue
        name = str(item.get("LUTExplanation", "") or "").strip()
        found.append(Voi(lut=lut, lut_first=first, lut_bits=bits, explanation=name))
    return tuple(found), problems


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def read_pixel_spacing(ds: Dataset) -> tuple[tuple[float, float] | None, str]:
    """(row, col) spacing in mm: Pixel Spacing, else Imager Pixel Spacing.

    PS3.3 10.7.1.3: both are "adjacent row spacing \\ adjacent column spacing". Pixel
    Spacing is calibrated to the patient (magnification corrected) where present;
    Imager Pixel Spacing is at the detector.

    Returns
    -------
    (spacing, source) : ((float, float) or None, str)
        ``source`` is the keyword used, or "" when neither is usable.
    """
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        values = _as_list(ds.get(keyword))
        if len(values) != 2:
            continue
        try:
            row, col = float(values[0]), float(values[1])
        except (TypeError, ValueError):
            continue
        if row > 0 and col > 0 and np.isfinite(row) and np.isfinite(col):
            return (row, col), keyword
    return None, ""


# --------------------------------------------------------------------------- text


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split())


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
