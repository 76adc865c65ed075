"""What one viewer panel shows: an array plus its title, caption and state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ViewContent:
    """The content of one panel.

    Parameters
    ----------
    array : ndarray, shape (rows, cols)
        2-D pixels: float32 in [0, 1] if ``normalized`` else the original's units.
        A super-resolved array (an integer multiple of the original's shape) is
        drawn over the same scene rectangle as the original.
    label : str
        Panel title, e.g. ``"Wavelet (db4, 4 levels, gain 2)"``.
    caption : str
        One line under the image, e.g. ``"PSNR 31.2 dB  SSIM 0.91"``.
    normalized : bool
        ``[0, 1]`` arrays are mapped onto the original's value range so one
        window/level fits every panel.
    pending : bool
        Still computing: the panel keeps its old content (or the original) dimmed
        and shows "computing...".
    """

    array: np.ndarray
    label: str
    caption: str = ""
    normalized: bool = True
    pending: bool = False
