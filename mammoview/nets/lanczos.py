"""Lanczos resampling on an arbitrary sampling grid, in torch (differentiable).

:func:`torch.nn.functional.grid_sample` offers nearest, bilinear and bicubic kernels;
the spatial transformer of the SRGAN/STN paper samples with Lanczos as well. This module
is that sampler: for every output pixel, the source position given by the grid (the same
``(N, H_out, W_out, 2)`` grid in ``[-1, 1]`` that ``grid_sample`` takes, x then y) is
interpolated from the ``2a x 2a`` neighbouring input pixels with the separable Lanczos
kernel ``L(t) = sinc(t) sinc(t / a)`` for ``|t| < a`` (``a = 3``: Lanczos-3), i.e. the
weight of input pixel ``(r, c)`` is ``L(y - r) L(x - c)``. The taps are gathered from the
input with :func:`torch.gather`, so gradients flow to the input *and* to the grid (and
from there to the affine matrix that made it).

Conventions, as ``grid_sample``: ``align_corners=False`` means -1 and 1 are the outer
edges of the corner pixels (pixel centres at ``(i + 0.5) * 2 / W - 1``); ``True`` means
they are the corner pixels' centres. Each axis' weights are normalised to sum to 1 (the
Lanczos kernel is not exactly a partition of unity off the integer positions); then
``padding_mode="zeros"`` counts taps outside the image as 0 and ``"border"`` repeats the
edge pixel. Pillow's ``Image.resize(..., LANCZOS)`` instead drops and re-normalises the
taps outside the image, so the two agree exactly away from the border (up to ``a`` pixels)
when enlarging; when reducing, Pillow also widens the kernel (anti-aliasing), which a
point-sampling transformer does not do.

Examples
--------
>>> import torch
>>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
>>> grid = torch.nn.functional.affine_grid(torch.eye(2, 3)[None], (1, 1, 4, 4), align_corners=False)
>>> torch.allclose(grid_sample_lanczos(x, grid), x, atol=1e-4)
True
"""

from __future__ import annotations

import torch

LANCZOS_A = 3
PADDING_MODES = ("zeros", "border")


def lanczos_kernel(t: torch.Tensor, a: int = LANCZOS_A) -> torch.Tensor:
    """``sinc(t) sinc(t / a)`` where ``|t| < a``, else 0 (``sinc(t) = sin(pi t) / (pi t)``)."""
    return torch.where(t.abs() < a, torch.sinc(t) * torch.sinc(t / a), torch.zeros_like(t))


def _source_coords(g: torch.Tensor, size: int, align_corners: bool) -> torch.Tensor:
    """Normalised grid coordinates -> input pixel coordinates (0 = first pixel's centre)."""
    if align_corners:
        return (g + 1) * (size - 1) / 2
    return ((g + 1) * size - 1) / 2


def _axis_taps(pos: torch.Tensor, size: int, a: int, padding_mode: str):
    """Indices (clamped into the image), normalised weights (zero where a tap is outside
    the image and padding is zeros) of the ``2a`` taps around each position: (..., 2a)."""
    offsets = torch.arange(-a + 1, a + 1, device=pos.device, dtype=pos.dtype)
    # floor() carries no gradient; the weights, through ``pos - idx``, do.
    idx = torch.floor(pos).detach()[..., None] + offsets
    w = lanczos_kernel(pos[..., None] - idx, a)
    w = w / w.sum(dim=-1, keepdim=True)
    inside = (idx >= 0) & (idx <= size - 1)
    if padding_mode == "zeros":
        w = w * inside.to(w.dtype)
    return idx.clamp(0, size - 1).long(), w


def grid_sample_lanczos(
    x: torch.Tensor,
    grid: torch.Tensor,
    *,
    a: int = LANCZOS_A,
    padding_mode: str = "zeros",
    align_corners: bool = False,
) -> torch.Tensor:
    """Sample ``x`` at ``grid`` with a Lanczos-``a`` kernel (``grid_sample``'s contract).

    Parameters
    ----------
    x : (N, C, H, W) float tensor.
    grid : (N, H_out, W_out, 2) source positions in ``[-1, 1]``, x (column) first.
    a : kernel half-width in pixels (3: Lanczos-3, 6 x 6 taps per output pixel).
    padding_mode : "zeros" (outside the image is 0) or "border" (edge pixels repeated).
    align_corners : as for :func:`torch.nn.functional.grid_sample`.

    Returns
    -------
    (N, C, H_out, W_out) tensor of ``x``'s dtype; not clipped (Lanczos overshoots at edges).
    """
    if x.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != x.shape[0]:
        raise ValueError(f"expected x (N, C, H, W) and grid (N, H_out, W_out, 2), got {tuple(x.shape)} "
                         f"and {tuple(grid.shape)}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}")
    if a < 1:
        raise ValueError(f"the Lanczos order must be >= 1, got {a}")
    n, c, h, w = x.shape
    grid = grid.to(x.dtype)
    col, wx = _axis_taps(_source_coords(grid[..., 0], w, align_corners), w, a, padding_mode)
    row, wy = _axis_taps(_source_coords(grid[..., 1], h, align_corners), h, a, padding_mode)
    # (N, Ho, Wo, 2a rows, 2a cols): flat index and weight of every tap.
    flat = row[..., :, None] * w + col[..., None, :]
    weight = wy[..., :, None] * wx[..., None, :]
    ho, wo, taps = flat.shape[1], flat.shape[2], flat.shape[3] * flat.shape[4]
    values = torch.gather(x.reshape(n, c, h * w), 2, flat.reshape(n, 1, -1).expand(n, c, -1))
    values = values.reshape(n, c, ho, wo, taps)
    return (values * weight.reshape(n, 1, ho, wo, taps)).sum(dim=-1)
