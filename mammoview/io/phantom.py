"""Synthetic mammography phantom: demo studies that contain no patient data.

The app's demo mode, the tests and the benchmarks need full four-view studies without
shipping patient images. A phantom view is built from:

* a breast outline: a semi-ellipse against the chest wall (CC); for MLO the ellipse is
  sheared so the nipple points slightly down and the breast runs up the chest wall to
  the axilla, with a bright **pectoral muscle** triangle in the upper chest-wall corner;
* thickness fall-off towards the skin (a compressed breast is thinner at its edge) and
  a thin brighter **skin line**;
* parenchymal texture: filtered noise at two scales, thresholded softly into
  fibroglandular islands that are **denser near the chest wall**;
* optional Cooper's-ligament-like streaks converging on the nipple;
* lesions: a circumscribed mass (smooth, sharp margin), a spiculated mass (irregular
  core with radiating spicules) and a calcification cluster (tiny bright dots);
* quantum-like noise.

Orientation (decided here, and the same as mini-MIAS and the usual storage of
processed mammograms): pixels are stored as the view is hung, row 0 at the top;
a **right** breast has its chest wall on the image's **right** edge (nipple pointing
left) and a **left** breast has its chest wall on the **left** edge. The viewer's
hanging protocol mirrors as it needs to.

Pixels are ``uint16`` with 12 bits stored (0..4095), MONOCHROME2 (dense is bright).
Everything is deterministic: the same slot, size, seed and lesions give the same array.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage

from mammoview.core.errors import ImageReadError
from mammoview.core.image import Finding, Image, ImageRef, PatientInfo, StudyInfo, Voi
from mammoview.core.study import GROUND_TRUTH_RANK, SLOT_ORDER, Study

PHANTOM_WARNING = "synthetic image (demo phantom), not patient data"
PHANTOM_ROWS = 1600
PHANTOM_COLS = 1200
# The phantom's field of view is 24 cm tall, whatever its pixel size.
FIELD_OF_VIEW_MM = 240.0
BITS_STORED = 12
MAX_VALUE = (1 << BITS_STORED) - 1

# Grey levels (12-bit scale) of the tissue classes.
_AIR = 60.0
_FAT = 1150.0
_GLAND = 1250.0  # added on top of fat where tissue is fully fibroglandular
_PECTORAL = 2450.0
_SKIN = 260.0
_NOISE = 22.0

_PATH_RE = re.compile(r"^phantom://(\d+)/([A-Z]+)$")


@dataclass(frozen=True)
class PhantomLesion:
    """A lesion placed in breast coordinates.

    ``depth`` runs from 0 at the chest wall to 1 at the nipple; ``offset`` from -1 (top
    of the image) to 1 (bottom), scaled to the breast's height at that depth.
    ``kind`` is "CIRC" (circumscribed mass), "SPIC" (spiculated mass) or "CALC"
    (calcification cluster; ``radius_mm`` is the cluster's radius).
    """

    kind: str
    depth: float
    offset: float
    radius_mm: float
    severity: str = "benign"


@dataclass(frozen=True)
class _Geometry:
    rows: int
    cols: int
    chest_col: float  # column of the chest wall
    direction: int  # +1: nipple towards increasing columns (left breast)
    centre_row: float
    semi_rows: float  # half-height of the breast at the chest wall
    semi_depth: float  # chest wall to nipple, in pixels
    shear: float  # MLO: nipple lower than the centre by shear * semi_rows
    mlo: bool


def _geometry(slot: str, rows: int, cols: int) -> _Geometry:
    side, view = _split_slot(slot)
    direction = 1 if side == "L" else -1
    chest_col = 0.0 if side == "L" else float(cols - 1)
    if view == "CC":
        return _Geometry(rows, cols, chest_col, direction, 0.5 * rows, 0.40 * rows, 0.70 * cols, 0.0, False)
    return _Geometry(rows, cols, chest_col, direction, 0.5 * rows, 0.50 * rows, 0.68 * cols, 0.30, True)


def _split_slot(slot: str) -> tuple[str, str]:
    if slot not in SLOT_ORDER:
        raise ValueError(f"phantom slot must be one of {', '.join(SLOT_ORDER)}, not {slot!r}")
    return slot[0], slot[1:]


def lesion_position(slot: str, rows: int, cols: int, lesion: PhantomLesion) -> tuple[float, float, float]:
    """(row, col, radius in pixels) of ``lesion`` in a view of that slot and size."""
    geo = _geometry(slot, rows, cols)
    x = float(np.clip(lesion.depth, 0.0, 0.95))
    y_local = float(np.clip(lesion.offset, -1.0, 1.0)) * math.sqrt(1.0 - x * x) * 0.75
    y = y_local + geo.shear * x
    row = geo.centre_row + y * geo.semi_rows
    col = geo.chest_col + geo.direction * x * geo.semi_depth
    return row, col, lesion.radius_mm / _spacing_mm(rows)


def _spacing_mm(rows: int) -> float:
    return FIELD_OF_VIEW_MM / rows


# ----------------------------------------------------------------------------- generator


def make_phantom(
    slot: str,
    *,
    rows: int = PHANTOM_ROWS,
    cols: int = PHANTOM_COLS,
    seed: int = 0,
    lesions: tuple[PhantomLesion, ...] | list[PhantomLesion] = (),
    ligaments: bool = True,
) -> np.ndarray:
    """Synthesise one mammographic view.

    Parameters
    ----------
    slot : {"RCC", "LCC", "RMLO", "LMLO"}
        Breast and view; sets the chest-wall side (right breast: image right) and,
        for MLO, the pectoral muscle.
    rows, cols : int
        Image size; anatomy scales with it (the field of view is 24 cm tall).
    seed : int
        Seed of the texture, noise and lesion shapes.
    lesions : sequence of PhantomLesion
        Lesions to draw (see :func:`lesion_position` for where they land).
    ligaments : bool
        Draw Cooper's-ligament-like streaks.

    Returns
    -------
    numpy.ndarray
        ``uint16`` (rows, cols), values 0..4095 (12 bits stored), MONOCHROME2.

    Examples
    --------
    >>> img = make_phantom("LCC", rows=200, cols=150, seed=1)
    >>> img.shape, img.dtype.name, int(img.max()) <= 4095
    ((200, 150), 'uint16', True)
    >>> bool(img[:, :20].mean() > img[:, -20:].mean())  # left breast: chest wall on the left
    True
    """
    if rows < 32 or cols < 32:
        raise ValueError("a phantom needs at least 32 x 32 pixels")
    geo = _geometry(slot, rows, cols)
    rng = np.random.default_rng(seed)

    # Work on a coarse grid for the smooth fields (texture, density envelope), then
    # upsample: the fields are smooth, and this keeps a 1600 x 1200 view near 0.1 s.
    step = max(1, min(rows, cols) // 300)
    coarse_shape = (-(-rows // step), -(-cols // step))
    x_c, y_c, r_c = _breast_coords(geo, coarse_shape, step)
    density_c = _density(rng, geo, x_c, y_c, r_c, step)
    if ligaments:
        density_c += _ligaments(rng, geo, coarse_shape, step, r_c)
    density = _upsample(density_c, rows, cols)

    x, y, r = _breast_coords(geo, (rows, cols), 1)
    inside = r < 1.0
    # Compressed thickness: flat in the middle, falling over the outer ~15% to the skin.
    thickness = np.sqrt(np.clip((1.0 - r) / 0.15, 0.0, 1.0), dtype=np.float32)
    tissue = (_FAT + _GLAND * density) * thickness
    # Skin line: a thin brighter band just inside the outline (about 1.5 mm thick).
    skin_px = max(1.0, 1.5 / _spacing_mm(rows))
    dist_px = (1.0 - r) * min(geo.semi_rows, geo.semi_depth)
    skin = _SKIN * np.exp(-((dist_px / skin_px) ** 2), dtype=np.float32)
    image = np.where(inside, tissue + skin, np.float32(_AIR)).astype(np.float32)
    if geo.mlo:
        _add_pectoral(image, geo, x, y, inside)
    for index, lesion in enumerate(lesions):
        _add_lesion(image, slot, geo, lesion, np.random.default_rng([seed, index, 7919]))
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(_NOISE)
    np.clip(image, 0, MAX_VALUE, out=image)
    return np.rint(image).astype(np.uint16)


def _breast_coords(geo: _Geometry, shape: tuple[int, int], step: int) -> tuple[np.ndarray, ...]:
    """Normalised depth x (0 chest wall .. 1 nipple), height y and elliptic radius r."""
    row = (np.arange(shape[0], dtype=np.float32) * step)[:, None]
    col = (np.arange(shape[1], dtype=np.float32) * step)[None, :]
    x = (col - geo.chest_col) * (geo.direction / geo.semi_depth)
    y = (row - geo.centre_row) / geo.semi_rows
    y_local = y - geo.shear * x  # MLO: shear so the nipple sits lower than the axilla
    x_pos = np.maximum(x, 0.0)
    r = np.sqrt(x_pos * x_pos + y_local * y_local)
    # Behind the chest wall is outside the breast (only happens for odd sizes).
    r = np.where(x < -0.5 / geo.semi_depth, np.float32(2.0), r)
    return np.broadcast_to(x, shape), np.broadcast_to(y_local, shape), r.astype(np.float32)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma, mode="reflect")
    return field / (field.std() + 1e-6)


def _density(rng, geo, x, y, r, step) -> np.ndarray:
    """Fibroglandular fraction in [0, 1]: islands of texture, denser near the chest wall."""
    scale = 1.0 / (step * _spacing_mm(geo.rows))  # coarse pixels per mm
    shape = r.shape
    texture = 0.65 * _smooth_noise(rng, shape, 6.0 * scale) + 0.35 * _smooth_noise(rng, shape, 1.8 * scale)
    envelope = np.exp(-np.maximum(x, 0.0) / 0.55) * (1.0 - 0.45 * y * y)
    density = _soft_edge(-(texture + 2.2 * envelope - 1.5) * 2.2)
    # No glandular tissue right at the skin: subcutaneous fat.
    density *= np.clip((1.0 - r) / 0.12, 0.0, 1.0)
    return density.astype(np.float32)


def _ligaments(rng, geo, shape, step, r) -> np.ndarray:
    """Faint curvilinear streaks converging on the nipple (Cooper's ligaments)."""
    nipple_row = geo.centre_row + geo.shear * geo.semi_rows
    nipple_col = geo.chest_col + geo.direction * geo.semi_depth
    row = (np.arange(shape[0], dtype=np.float32) * step)[:, None] - nipple_row
    col = (np.arange(shape[1], dtype=np.float32) * step)[None, :] - nipple_col
    angle = np.arctan2(row, col * geo.direction)
    wobble = _smooth_noise(rng, shape, 20.0 / step)
    streaks = np.maximum(np.cos(angle * 36.0 + 1.2 * wobble), 0.0) ** 12
    fade = np.clip((1.0 - r) / 0.1, 0.0, 1.0) * np.clip(r / 0.3, 0.0, 1.0)
    return (0.12 * streaks * fade).astype(np.float32)


def _upsample(field: np.ndarray, rows: int, cols: int) -> np.ndarray:
    if field.shape == (rows, cols):
        return field
    # Pillow's bilinear resize of a float image is several times faster than ndimage.zoom.
    resized = PILImage.fromarray(np.ascontiguousarray(field, dtype=np.float32)).resize(
        (cols, rows), PILImage.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def _add_pectoral(image: np.ndarray, geo: _Geometry, x: np.ndarray, y: np.ndarray, inside: np.ndarray) -> None:
    """MLO pectoral muscle: a bright triangle in the upper chest-wall corner."""
    row = np.arange(geo.rows, dtype=np.float32)[:, None]
    top_depth = 0.42  # depth of the muscle's edge at row 0, as a fraction of semi_depth
    bottom_row = 0.62 * geo.rows
    edge = top_depth * (1.0 - row / bottom_row)  # muscle edge depth at each row
    margin = (edge - x) * geo.semi_depth  # pixels inside the muscle edge
    muscle = np.clip(margin / 6.0, 0.0, 1.0) * inside
    # The muscle is brighter at the chest wall, fading a little towards its edge.
    level = _PECTORAL * (1.0 - 0.25 * np.clip(x / top_depth, 0.0, 1.0))
    image += (level - image) * muscle.astype(np.float32)


def _add_lesion(image, slot, geo, lesion: PhantomLesion, rng: np.random.Generator) -> None:
    row0, col0, radius = lesion_position(slot, geo.rows, geo.cols, lesion)
    if lesion.kind == "CALC":
        _add_calcifications(image, row0, col0, radius, rng, geo)
        return
    extent = radius * (3.4 if lesion.kind == "SPIC" else 1.6)
    r0, r1 = max(0, int(row0 - extent)), min(geo.rows, int(row0 + extent) + 1)
    c0, c1 = max(0, int(col0 - extent)), min(geo.cols, int(col0 + extent) + 1)
    if r0 >= r1 or c0 >= c1:
        return
    dr = np.arange(r0, r1, dtype=np.float32)[:, None] - row0
    dc = np.arange(c0, c1, dtype=np.float32)[None, :] - col0
    rho = np.sqrt(dr * dr + dc * dc)
    theta = np.arctan2(dr, dc)
    if lesion.kind == "CIRC":
        # Oval with a sharp, smooth margin: benign-looking.
        tilt = rng.uniform(0, math.pi)
        stretch = 1.0 + 0.18 * np.cos(2 * (theta - tilt))
        shape = _soft_edge((rho / (radius * stretch) - 1.0) * radius / 1.5)
        amplitude = 560.0
    else:
        # Irregular core with an indistinct margin and radiating spicules: suspicious.
        harmonics = sum(
            rng.uniform(0.04, 0.12) * np.cos(k * theta + rng.uniform(0, 2 * math.pi)) for k in (3, 5, 7)
        )
        core = _soft_edge((rho / (radius * (1.0 + harmonics)) - 1.0) * radius / 5.0)
        spicules = np.zeros_like(rho)
        width = max(1.2, 0.07 * radius)
        for angle in rng.uniform(0, 2 * math.pi, size=int(rng.integers(12, 18))):
            length = radius * rng.uniform(1.8, 3.2)
            cos_a, sin_a = np.float32(math.cos(angle)), np.float32(math.sin(angle))
            along = dc * cos_a + dr * sin_a
            across = np.abs(dr * cos_a - dc * sin_a)
            taper = np.clip(1.0 - along / length, 0.0, 1.0) * (along > 0)
            spicules = np.maximum(spicules, np.exp(-((across / (width * (0.4 + taper))) ** 2)) * taper)
        shape = np.maximum(core, 0.55 * spicules)
        amplitude = 620.0
    image[r0:r1, c0:c1] += (amplitude * shape).astype(np.float32)


def _soft_edge(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(z)): 1 well inside (z << 0), 0 well outside; clipped against overflow."""
    return 1.0 / (1.0 + np.exp(np.clip(z, -60.0, 60.0)))


def _add_calcifications(image, row0, col0, radius, rng, geo: _Geometry) -> None:
    """A cluster of 10-16 tiny bright dots (0.2-0.5 mm) within ``radius`` pixels."""
    spacing = _spacing_mm(geo.rows)
    count = int(rng.integers(10, 17))
    for _ in range(count):
        dist = radius * math.sqrt(rng.uniform(0, 1))
        angle = rng.uniform(0, 2 * math.pi)
        rc, cc = row0 + dist * math.sin(angle), col0 + dist * math.cos(angle)
        sigma = max(0.6, rng.uniform(0.1, 0.25) / spacing)
        half = int(math.ceil(3 * sigma))
        r0, r1 = max(0, int(rc) - half), min(geo.rows, int(rc) + half + 2)
        c0, c1 = max(0, int(cc) - half), min(geo.cols, int(cc) + half + 2)
        if r0 >= r1 or c0 >= c1:
            continue
        dr = np.arange(r0, r1, dtype=np.float32)[:, None] - rc
        dc = np.arange(c0, c1, dtype=np.float32)[None, :] - cc
        blob = np.exp(-(dr * dr + dc * dc) / (2 * sigma * sigma))
        image[r0:r1, c0:c1] += (rng.uniform(900, 1500) * blob).astype(np.float32)


# ----------------------------------------------------------------------------- demo studies


@dataclass(frozen=True)
class _DemoStudy:
    number: int
    seed: int
    date: str
    description: str
    lesions: dict[str, tuple[PhantomLesion, ...]]


_DEMOS: tuple[_DemoStudy, ...] = (
    _DemoStudy(
        number=1,
        seed=1101,
        date="20240312",
        description="Synthetic demo: benign-looking circumscribed mass, right breast",
        lesions={
            "RCC": (PhantomLesion("CIRC", 0.55, -0.30, 7.0, "benign"),),
            "RMLO": (PhantomLesion("CIRC", 0.55, -0.40, 7.0, "benign"),),
        },
    ),
    _DemoStudy(
        number=2,
        seed=2203,
        date="20240619",
        description="Synthetic demo: spiculated mass with calcifications, left breast",
        lesions={
            "LCC": (
                PhantomLesion("SPIC", 0.42, 0.25, 8.0, "malignant"),
                PhantomLesion("CALC", 0.64, 0.30, 5.0, "malignant"),
            ),
            "LMLO": (
                PhantomLesion("SPIC", 0.45, -0.10, 8.0, "malignant"),
                PhantomLesion("CALC", 0.66, 0.05, 5.0, "malignant"),
            ),
        },
    ),
)


def _demo(number: int) -> _DemoStudy:
    for demo in _DEMOS:
        if demo.number == number:
            return demo
    raise KeyError(number)


def _demo_ref(demo: _DemoStudy, slot: str) -> ImageRef:
    lesions = demo.lesions.get(slot, ())
    findings = []
    for lesion in lesions:
        row, col, radius = lesion_position(slot, PHANTOM_ROWS, PHANTOM_COLS, lesion)
        findings.append(
            Finding(kind=lesion.kind, severity=lesion.severity, row=row, col=col, radius=radius, source="phantom")
        )
    truth = max((les.severity for les in lesions), key=GROUND_TRUTH_RANK.__getitem__, default="normal")
    study_uid = f"phantom-study-{demo.number}"
    side, view = _split_slot(slot)
    return ImageRef(
        path=f"phantom://{demo.number}/{slot}",
        kind="phantom",
        uid=f"phantom-{demo.number}-{slot}",
        study_uid=study_uid,
        laterality=side,  # type: ignore[arg-type]
        view=view,
        patient=PatientInfo(name=f"SYNTHETIC DEMO {demo.number}", id=f"SYNTH-{demo.number:04d}"),
        study=StudyInfo(uid=study_uid, date=demo.date, description=demo.description, manufacturer="MammoView phantom"),
        modality="MG",
        rows=PHANTOM_ROWS,
        cols=PHANTOM_COLS,
        findings=tuple(findings),
        ground_truth=truth,
        synthetic=True,
    )


def demo_studies() -> list[Study]:
    """The synthetic demo studies (headers only; pixels come from :func:`render_phantom`).

    Returns
    -------
    list of Study
        Two four-view studies: 1 with a benign-looking circumscribed mass (right
        breast), 2 with a spiculated mass and a calcification cluster (left breast).
        Refs have ``kind="phantom"``, ``synthetic=True``, path ``phantom://<n>/<slot>``
        and findings at the true lesion positions (source "phantom").
    """
    studies = []
    for demo in _DEMOS:
        refs = [_demo_ref(demo, slot) for slot in SLOT_ORDER]
        study = Study(uid=refs[0].study_uid, images=refs, label=refs[0].patient.name)
        study.sort_images()
        studies.append(study)
    return studies


def render_phantom(ref: ImageRef) -> Image:
    """Deterministic pixels for a phantom ref from :func:`demo_studies`.

    Raises
    ------
    ImageReadError
        If ``ref.path`` is not a known ``phantom://<n>/<slot>``.
    """
    match = _PATH_RE.match(ref.path)
    if not match or match.group(2) not in SLOT_ORDER:
        raise ImageReadError(ref.path, "not a demo phantom address (phantom://<study>/<slot>)")
    try:
        demo = _demo(int(match.group(1)))
    except KeyError:
        raise ImageReadError(ref.path, f"no demo phantom study {match.group(1)}") from None
    slot = match.group(2)
    pixels = make_phantom(
        slot,
        rows=PHANTOM_ROWS,
        cols=PHANTOM_COLS,
        seed=demo.seed * 10 + SLOT_ORDER.index(slot),
        lesions=demo.lesions.get(slot, ()),
    )
    spacing = _spacing_mm(PHANTOM_ROWS)
    return Image(
        pixels=pixels,
        ref=ref,
        photometric="MONOCHROME2",
        voi=(Voi(center=1500.0, width=2800.0, explanation="PHANTOM"),),
        pixel_spacing_mm=(spacing, spacing),
        spacing_source="synthetic phantom",
        bits_stored=BITS_STORED,
        presentation_intent="FOR PRESENTATION",
        warnings=(PHANTOM_WARNING,),
    )
