"""Torch networks and the model store: weights as safetensors beside a JSON model card.

Submodules import torch; this package's ``__init__`` does not, so importing
``mammoview.nets`` alone stays cheap. Import what you need explicitly::

    from mammoview.nets.store import load_model, find_model
    from mammoview.nets.unet import UNet
    from mammoview.nets.edsr import EDSR
    from mammoview.nets.device import choose_device
"""
