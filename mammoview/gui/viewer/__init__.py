"""The image viewer: linked panels, the four-view hanging, window/level, overlays.

``ViewerArea`` is the widget the main window embeds; ``ViewContent`` is what one
panel shows; :mod:`mammoview.gui.viewer.prepare` makes it drawable off the UI thread.

The Qt classes load on first use, so the pure-NumPy modules of this package
(``content``, ``pyramid``, ``prepare``, ``hanging``) import without Qt, e.g. in a
decoding process.
"""

from __future__ import annotations

from mammoview.gui.viewer.content import ViewContent

__all__ = ["ViewContent", "ViewerArea"]


def __getattr__(name: str):
    if name == "ViewerArea":
        from mammoview.gui.viewer.area import ViewerArea

        return ViewerArea
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
