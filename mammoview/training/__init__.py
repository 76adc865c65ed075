"""Training: one engine for every model MammoView ships or lets a user build.

``engine.train(task, config)`` is a generator of :class:`~mammoview.core.Progress`
events (``partial`` is a :class:`~mammoview.training.engine.TrainEvent`) consumed by
the command line, the GUI and the tests. Submodules import torch; this package's
``__init__`` does not.
"""
