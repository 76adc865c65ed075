"""Segmentations of a mammogram: the breast region and the pectoral muscle.

Classical methods (Otsu thresholding, morphology, a Hough-style line search), no
learning and no torch: they run in a few tens of milliseconds on a 1024-pixel image.
"""

from mammoview.segmentation.breast import segment_breast
from mammoview.segmentation.pectoral import segment_pectoral

__all__ = ["segment_breast", "segment_pectoral"]
