"""The image viewer: linked panels, the four-view hanging, window/level, overlays.

``ViewerArea`` is the widget the main window embeds; ``ViewContent`` is what one
panel shows.
"""

from mammoview.gui.viewer.area import ViewerArea
from mammoview.gui.viewer.content import ViewContent

__all__ = ["ViewContent", "ViewerArea"]
