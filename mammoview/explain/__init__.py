"""Explanations of classifier predictions: LIME on breast superpixels and Grad-CAM.

LIME is model-agnostic (any batch ``predict`` function) and needs no torch::

    from mammoview.explain import explain_lime, iter_lime, LimeResult

Grad-CAM needs torch; import it from its module (this package's ``__init__`` does not,
so importing ``mammoview.explain`` stays cheap on the application's start-up path, and the
function ``gradcam`` is not shadowed by the submodule of the same name)::

    from mammoview.explain.gradcam import gradcam, gradcam_for_image, map_heatmap
"""

from mammoview.explain.lime import LimeResult, explain_lime, iter_lime
from mammoview.explain.superpixels import Superpixels, compute_superpixels

__all__ = ["LimeResult", "Superpixels", "compute_superpixels", "explain_lime", "iter_lime"]
