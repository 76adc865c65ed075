"""Image enhancement as pure functions: wavelet, CLAHE, median + LCM, adaptive median, SR."""
