"""Build DICOM mammograms at test time from real pixels (MIAS), in several flavours.

Shared by the DICOM tests and the benchmarks: real full-size MG files in RLE, JPEG-LS,
JPEG lossless or MONOCHROME1 are not available, so these variants are written from the
same real MIAS image and must display the same as the plain MONOCHROME2 original.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    JPEG2000Lossless,
    JPEGLSLossless,
    ExplicitVRLittleEndian,
    RLELossless,
    generate_uid,
)

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
MG_FOR_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.2.1"
BITS_STORED = 12
MAX_VALUE = (1 << BITS_STORED) - 1
# The window every variant shows by default: a real-looking soft-tissue window on the
# 12-bit MIAS pixels (not the full range, so clipping on both ends is exercised).
WINDOW = (2200.0, 2600.0)

# View codes (PS3.16 CID 4014), old SNOMED-RT and SNOMED CT form.
VIEW_CODES = {
    "CC": ("R-10242", "SRT", "cranio-caudal"),
    "MLO": ("R-10226", "SRT", "medio-lateral oblique"),
}
VIEW_CODES_SCT = {
    "CC": ("399162004", "SCT", "cranio-caudal"),
    "MLO": ("399368009", "SCT", "medio-lateral oblique"),
}


def mias_12bit(mias_dir: Path, name: str = "mdb001.png") -> np.ndarray:
    """A real MIAS mammogram (8-bit PNG) spread over 12 bits, uint16 (1024, 1024)."""
    with PILImage.open(mias_dir / name) as img:
        p8 = np.asarray(img.convert("L"), dtype=np.uint32)
    return ((p8 * MAX_VALUE + 127) // 255).astype(np.uint16)


def mammo_dataset(
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    laterality: str | None = "R",
    view: str | None = "CC",
    view_codes: dict | None = None,
    intent: str = "FOR PRESENTATION",
    window: tuple[float, float] | list | None = WINDOW,
    voi_function: str | None = None,
    explanations: list[str] | None = None,
    pixel_spacing: tuple[float, float] | None = (0.2, 0.2),
    imager_spacing: tuple[float, float] | None = None,
    rescale: tuple[float, float] | None = None,
    frames: int = 1,
    modality: str = "MG",
    bits_stored: int = BITS_STORED,
    patient_name: str = "Test^Patient",
) -> Dataset:
    """A Digital Mammography X-Ray dataset holding ``pixels`` (uncompressed).

    ``pixels`` is (rows, cols) or, with ``frames > 1``, (frames, rows, cols); uint16.
    ``window`` may be one (center, width) pair or a list of pairs.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    sop_class = MG_FOR_PROCESSING if intent == "FOR PROCESSING" else MG_FOR_PRESENTATION
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.PatientName = patient_name
    ds.PatientID = "MIAS001"
    ds.PatientBirthDate = "19500101"
    ds.PatientSex = "F"
    ds.StudyDate = "20240102"
    ds.StudyDescription = "Screening mammography"
    ds.AccessionNumber = "ACC42"
    ds.InstitutionName = "Test Institution"
    ds.Manufacturer = "MammoView tests"
    ds.BodyPartExamined = "BREAST"
    ds.PresentationIntentType = intent
    if laterality:
        ds.ImageLaterality = laterality
    if view:
        ds.ViewPosition = view
        code, scheme, meaning = (view_codes or VIEW_CODES)[view]
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code, scheme, meaning
        ds.ViewCodeSequence = Sequence([item])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    if pixel_spacing:
        ds.PixelSpacing = [f"{v:g}" for v in pixel_spacing]
    if imager_spacing:
        ds.ImagerPixelSpacing = [f"{v:g}" for v in imager_spacing]
    if rescale:
        ds.RescaleSlope, ds.RescaleIntercept = (f"{v:g}" for v in rescale)
    if window:
        pairs = [window] if isinstance(window, tuple) else list(window)
        ds.WindowCenter = [f"{c:g}" for c, _ in pairs] if len(pairs) > 1 else f"{pairs[0][0]:g}"
        ds.WindowWidth = [f"{w:g}" for _, w in pairs] if len(pairs) > 1 else f"{pairs[0][1]:g}"
        if explanations:
            ds.WindowCenterWidthExplanation = explanations if len(explanations) > 1 else explanations[0]
    if voi_function:
        ds.VOILUTFunction = voi_function
    ds.PixelData = pixels.tobytes()
    return ds


def write_dicom(path: Path, ds: Dataset, transfer_syntax: str = ExplicitVRLittleEndian) -> Path:
    """Write ``ds`` to ``path``, compressing it first when a compressed syntax is asked."""
    if transfer_syntax != ExplicitVRLittleEndian:
        ds = _copy(ds)
        ds.compress(transfer_syntax, encoding_plugin="", generate_instance_uid=False)
    ds.save_as(path, enforce_file_format=True)
    return path


def _copy(ds: Dataset) -> Dataset:
    import copy

    return copy.deepcopy(ds)


COMPRESSED = {
    "j2k_lossless": JPEG2000Lossless,
    "rle": RLELossless,
    "jpegls_lossless": JPEGLSLossless,
}


def build_variants(folder: Path, pixels: np.ndarray) -> dict[str, Path]:
    """Write the display-equivalent variants of one image; name -> path.

    - ``original``: MONOCHROME2, uncompressed, LINEAR window :data:`WINDOW`;
    - ``j2k_lossless``, ``rle``, ``jpegls_lossless``: the same, compressed losslessly;
    - ``monochrome1``: stored values inverted (``MAX - p``) with the window mirrored
      (``C' = MAX - C + 1`` keeps the LINEAR ramp, PS3.3 C.11.2.1.2.1, the same after the
      MONOCHROME1 inversion);
    - ``for_processing``: the same pixels in a For Processing SOP instance.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = {"original": write_dicom(folder / "original.dcm", mammo_dataset(pixels))}
    for name, syntax in COMPRESSED.items():
        out[name] = write_dicom(folder / f"{name}.dcm", mammo_dataset(pixels), syntax)
    center, width = WINDOW
    mono1 = mammo_dataset(
        (MAX_VALUE - pixels).astype(np.uint16),
        photometric="MONOCHROME1",
        window=(MAX_VALUE - center + 1, width),
    )
    out["monochrome1"] = write_dicom(folder / "monochrome1.dcm", mono1)
    out["for_processing"] = write_dicom(
        folder / "for_processing.dcm", mammo_dataset(pixels, intent="FOR PROCESSING")
    )
    return out
