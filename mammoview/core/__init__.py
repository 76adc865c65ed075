"""Plain data shared by every layer: images, studies, findings, progress, errors.

Nothing here does I/O, imports Qt or imports torch.
"""

from mammoview.core.errors import ImageReadError, MammoViewError
from mammoview.core.image import (
    Finding,
    Image,
    ImageRef,
    PatientInfo,
    StudyInfo,
    Voi,
)
from mammoview.core.progress import Cancelled, CancelToken, Progress
from mammoview.core.study import Study

__all__ = [
    "Cancelled",
    "CancelToken",
    "Finding",
    "Image",
    "ImageReadError",
    "ImageRef",
    "MammoViewError",
    "PatientInfo",
    "Progress",
    "Study",
    "StudyInfo",
    "Voi",
]
