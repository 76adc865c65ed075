"""Readers and discovery: files on disk -> ImageRef (headers) -> Image (pixels)."""
