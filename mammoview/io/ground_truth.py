"""Ground-truth masks that come with an image: DDSM tissue masks, MIAS finding circles.

The DDSM tissue set (``ddsm-tissue/``) keeps each mammogram as ``images/ID.png`` with
its manual masks in sibling folders ``mask_breast/ID.png`` (the breast, pectoral muscle
included) and ``mask_pectoral/ID.png`` (0/255 PNGs of the same size). MIAS gives findings
as circles (centre and radius), which :func:`findings_mask` rasterises so a lesion
segmentation can be scored against them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mammoview.core.errors import ImageReadError

#: Ground-truth kind -> the sibling folder of ``images/`` that holds it.
TISSUE_FOLDERS = {"breast": "mask_breast", "pectoral": "mask_pectoral"}


def tissue_mask_paths(image_path: str | Path) -> dict[str, Path]:
    """The DDSM tissue masks of ``image_path`` that exist: {"breast": path, "pectoral": path}.

    Only files laid out as ``<root>/images/ID.png`` are looked up (cheap: two stats).

    Examples
    --------
    >>> tissue_mask_paths("/nowhere/images/A_0002_1.RIGHT_MLO.png")
    {}
    """
    path = Path(str(image_path))
    if path.parent.name != "images":
        return {}
    root = path.parent.parent
    found = {}
    for kind, folder in TISSUE_FOLDERS.items():
        candidate = root / folder / path.name
        if candidate.is_file():
            found[kind] = candidate
    return found


def read_mask(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A binary mask PNG (non-zero = inside) as a bool array, checked against ``shape``.

    Raises
    ------
    ImageReadError
        Unreadable file, or a size other than ``shape``.
    """
    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as im:
            mask = np.asarray(im.convert("L")) > 0
    except (OSError, ValueError) as exc:
        raise ImageReadError(path, f"cannot read the mask ({exc})") from None
    if shape is not None and mask.shape != tuple(shape):
        raise ImageReadError(path, f"mask is {mask.shape[0]} x {mask.shape[1]}, "
                                   f"the image {shape[0]} x {shape[1]}")
    return mask


def read_tissue_masks(image_path: str | Path, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The DDSM tissue masks of an image (see :func:`tissue_mask_paths`), read."""
    return {kind: read_mask(p, shape) for kind, p in tissue_mask_paths(image_path).items()}


def findings_mask(findings, shape: tuple[int, int], *, default_radius: float = 15.0) -> np.ndarray:
    """Rasterise located findings (centre row/col, radius) as filled discs.

    A pixel belongs to a disc when its centre lies within the radius (finding
    coordinates name pixel centres). Findings without a location are skipped.

    Examples
    --------
    >>> from mammoview.core import Finding
    >>> int(findings_mask([Finding("CIRC", row=5, col=5, radius=2)], (11, 11)).sum())
    13
    """
    mask = np.zeros(shape, bool)
    rows, cols = shape
    for f in findings:
        if getattr(f, "row", None) is None or getattr(f, "col", None) is None:
            continue
        r = float(f.radius or default_radius)
        r0, r1 = max(0, int(np.floor(f.row - r))), min(rows, int(np.ceil(f.row + r)) + 1)
        c0, c1 = max(0, int(np.floor(f.col - r))), min(cols, int(np.ceil(f.col + r)) + 1)
        if r0 >= r1 or c0 >= c1:
            continue
        rr, cc = np.ogrid[r0:r1, c0:c1]
        mask[r0:r1, c0:c1] |= (rr - f.row) ** 2 + (cc - f.col) ** 2 <= r * r
    return mask
