"""The four-view screening hanging: RCC LCC on top, RMLO LMLO below, chest walls facing.

Right-breast images hang in the left column with their chest wall on the RIGHT edge
of their panel, left-breast images in the right column with it on the LEFT edge.
Whether an image needs mirroring is decided from its pixels
(:func:`mammoview.imaging.orientation.chest_wall_side`), never from its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

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
