"""Pure NumPy building blocks: the display pipeline, resampling, image metrics."""
