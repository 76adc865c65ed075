"""Classification: the two-stage ResNet cascade (normal vs abnormal, then benign vs malignant).

``cascade.Cascade.load()`` gives the active models; ``classify_image`` scores one image by a
sliding window of patches (``patches``, ``preprocess``, ``inference``); ``scoring`` holds the
metrics the model cards report. Submodules import torch; this ``__init__`` does not.
Research use only, not for diagnosis.
"""
