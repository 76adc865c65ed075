"""The four-view screening hanging: RCC LCC on top, RMLO LMLO below, chest walls facing.

Right-breast images hang in the left column with their chest wall on the RIGHT edge
of their panel, left-breast images in the right column with it on the LEFT edge.
Whether an image needs mirroring is decided from its pixels
(:func:`mammoview.imaging.orientation.chest_wall_side`), never from its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from mammoview.core import Image
from mammoview.imaging.display import to_display
from mammoview.imaging.orientation import chest_wall_side
from mammoview.gui.viewer.pyramid import Pyramid

# (slot, grid row, grid column)
SLOTS = (("RCC", 0, 0), ("LCC", 0, 1), ("RMLO", 1, 0), ("LMLO", 1, 1))
# Orientation is judged on a copy about this many pixels on its long side.
_ORIENTATION_SIZE = 512


def slot_label(slot: str) -> str:
    """ "RMLO" -> "R MLO"."""
    return f"{slot[0]} {slot[1:]}"


def wanted_chest_wall(slot: str) -> str:
    """Edge of its panel the chest wall should face: right breast -> "right"."""
    return "right" if slot.startswith("R") else "left"


def image_chest_wall(image: Image, levels: Sequence[np.ndarray] = ()) -> str:
    """Chest-wall side of ``image`` as displayed (VOI, MONOCHROME1), on a reduced copy.

    ``levels`` are the pixels' prepared reductions (:func:`build_levels`), when known.
    """
    pyramid = Pyramid.from_levels(levels) if levels else Pyramid(image.pixels)
    factor = max(image.shape) / _ORIENTATION_SIZE
    small = pyramid.level_for(factor)
    return chest_wall_side(to_display(replace(image, pixels=small)))


def needs_flip(image, slot: str) -> bool:
    """True when ``image`` (an Image, or a PreparedImage with its side known) must be
    mirrored horizontally to hang in ``slot``."""
    side = getattr(image, "chest_wall", None)
    if side is None:
        side = image_chest_wall(getattr(image, "image", image))
    return side != wanted_chest_wall(slot)


def image_warnings(image: Image) -> list[str]:
    """What the slot's banner says (FOR PROCESSING, synthetic, reader warnings)."""
    warnings = list(image.warnings)
    if image.presentation_intent.upper() == "FOR PROCESSING" and not any(
        "PROCESSING" in w.upper() for w in warnings
    ):
        warnings.append("FOR PROCESSING image: not intended for diagnosis")
    if image.synthetic and not any("synthetic" in w.lower() for w in warnings):
        warnings.append("synthetic image")
    return warnings


# ------------------------------------------------------------------ reminder bands
#
# A finding marked on one view of a breast (CC or MLO) is shown on the other view of
# the same breast as a band where it should be looked for. The two projections share
# one anatomical measure: the distance from the nipple along the posterior nipple line
# (the line from the nipple to the chest wall). Readers use it to triangulate a lesion
# between CC and MLO ("3 cm from the nipple in both views"). Here the posterior nipple
# line is taken as the image's row direction (perpendicular to the chest-wall edge of
# the image), so the band is a strip parallel to the chest wall, across the breast, at
# the finding's distance from the nipple:
#
# * in millimetres when both images know their pixel spacing (same depth, same mm);
# * else as the same fraction of the breast's depth (nipple to chest wall);
# * its half-width is the finding's half size, at least REMINDER_MIN_MM (or 3 % of the
#   depth without spacing): CC and MLO distances agree to about a centimetre.
#
# It is a reminder of where to look, not a registration: on an MLO the true posterior
# nipple line runs to the (oblique) pectoral edge, which this ignores.

REMINDER_MIN_MM = 5.0
REMINDER_MIN_FRACTION = 0.03
# Long side of the copy the breast is outlined on (segment_breast's own work size).
_AXIS_SIZE = 256


@dataclass(frozen=True)
class BreastAxis:
    """Where the breast lies in an image, in original pixel coordinates (as stored).

    ``chest_col`` is the column of the chest-wall edge of the breast, ``nipple_col``
    the breast's furthest column from it (the nipple, or the skin line's apex);
    ``top`` and ``bottom`` the breast's first and last rows.
    """

    chest_wall: str
    chest_col: float
    nipple_col: float
    top: float
    bottom: float

    @property
    def depth(self) -> float:
        return abs(self.nipple_col - self.chest_col)

    def towards_chest(self) -> float:
        """+1 when the chest wall has the larger columns, else -1."""
        return 1.0 if self.chest_wall == "right" else -1.0


def breast_axis(image: Image, chest_wall: str, levels: Sequence[np.ndarray] = ()) -> BreastAxis | None:
    """The breast's extent in ``image`` (see :class:`BreastAxis`), None when no breast is found.

    Pure NumPy/SciPy on a reduced copy (a few milliseconds); the window runs it on a
    worker. ``levels`` are the image's prepared reductions when known.
    """
    from mammoview.segmentation.breast import segment_breast

    pyramid = Pyramid.from_levels(levels) if levels else Pyramid(image.pixels)
    small = pyramid.level_for(max(image.shape) / _AXIS_SIZE)
    mask = segment_breast(to_display(replace(image, pixels=small)), chest_wall_side=chest_wall)
    if not mask.any():
        return None
    rows, cols = image.shape
    sy, sx = rows / mask.shape[0], cols / mask.shape[1]
    used_cols = np.flatnonzero(mask.any(axis=0))
    used_rows = np.flatnonzero(mask.any(axis=1))
    first, last = float(used_cols[0] * sx), float((used_cols[-1] + 1) * sx)
    chest, nipple = (first, last) if chest_wall == "left" else (last, first)
    return BreastAxis(chest_wall, chest, nipple, float(used_rows[0] * sy), float((used_rows[-1] + 1) * sy))


def reminder_columns(
    col: float,
    half_size: float,
    source: BreastAxis,
    source_spacing: tuple[float, float] | None,
    target: BreastAxis,
    target_spacing: tuple[float, float] | None,
) -> tuple[float, float, float] | None:
    """Columns ``(left, right, distance)`` of the reminder band on the other view.

    ``col`` is the finding's centre column on the source image and ``half_size`` its
    half size along the rows' direction, in source pixels. ``distance`` is the
    finding's distance from the nipple: millimetres when both spacings are known,
    else a fraction of the breast depth. None when either breast has no depth.
    """
    if source.depth <= 0 or target.depth <= 0:
        return None
    # Distance from the nipple towards the chest wall (clipped into the breast).
    along = (col - source.nipple_col) * source.towards_chest()
    along = min(max(along, 0.0), source.depth)
    if source_spacing is not None and target_spacing is not None:
        distance = along * source_spacing[1]
        centre = distance / target_spacing[1]
        half = max(half_size * source_spacing[1], REMINDER_MIN_MM) / target_spacing[1]
    else:
        distance = along / source.depth
        centre = distance * target.depth
        half = max(half_size / source.depth, REMINDER_MIN_FRACTION) * target.depth
    centre = min(centre, target.depth)
    near = target.nipple_col + target.towards_chest() * (centre - half)
    far = target.nipple_col + target.towards_chest() * (centre + half)
    return min(near, far), max(near, far), distance
