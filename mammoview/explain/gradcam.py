"""Grad-CAM heatmaps: the fast explanation (one forward and one backward pass).

Selvaraju et al., "Grad-CAM: Visual explanations from deep networks via gradient-based
localization", ICCV 2017: the gradients of the class score (before the softmax) with
respect to a convolutional layer's feature maps, averaged over space, weight those maps;
the ReLU of the weighted sum, upsampled to the input, is the heatmap.

The model is left as it was found: a forward hook on the target layer (and a gradient hook
on its output tensor) are removed before returning, parameters' ``requires_grad`` and
``.grad`` are untouched (the gradient is taken with :func:`torch.autograd.grad`, which
accumulates nothing), the caller's input tensor is not modified, and the model's
train/eval mode is restored (it runs in eval mode, so batch-norm statistics are not
updated by an explanation).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi

# Maps original-image pixel coordinates (rows, cols arrays) to input-tensor coordinates.
ToInput = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def gradcam(
    model: torch.nn.Module,
    input: torch.Tensor,  # noqa: A002 - the name the contract uses
    *,
    target_layer: torch.nn.Module | str,
    class_index: int,
) -> np.ndarray:
    """Grad-CAM heatmap of ``class_index`` at the input's size.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier returning (1, C) scores (logits). Not modified.
    input : torch.Tensor, shape (1, channels, rows, cols)
        The preprocessed input, on the model's device. Not modified.
    target_layer : torch.nn.Module or str
        The convolutional layer (or block) whose feature maps are weighted, or its dotted
        name in ``model.named_modules()`` (``"layer4"`` for torchvision ResNets,
        ``"layer4.1.conv2"``, ...).
    class_index : int
        The class whose score is explained.

    Returns
    -------
    ndarray of float32, shape (rows, cols)
        In [0, 1], 1 at the strongest evidence; all 0 when nothing in the layer supports
        the class (the ReLU removed everything).

    Raises
    ------
    ValueError
        Bad input shape, unknown layer name, a layer the forward pass never reached, or a
        class index out of range.
    """
    if input.ndim != 4 or input.shape[0] != 1:
        raise ValueError(f"expected an input of shape (1, C, H, W), got {tuple(input.shape)}")
    layer = resolve_layer(model, target_layer)
    captured: dict[str, torch.Tensor] = {}

    def keep_gradient(grad: torch.Tensor) -> None:
        captured["gradient"] = grad.detach()

    def keep_activation(_module, _inputs, output) -> None:
        if not isinstance(output, torch.Tensor):
            raise ValueError("the target layer must output a single tensor")
        # A copy: an in-place operation after the layer (ReLU(inplace=True)) would
        # otherwise change the activations we weight.
        captured["activation"] = output.detach().clone()
        if output.requires_grad:
            output.register_hook(keep_gradient)

    was_training = model.training
    x = input.detach().clone().requires_grad_(True)
    handle = layer.register_forward_hook(keep_activation)
    try:
        model.eval()
        with torch.enable_grad():
            scores = model(x)
            if scores.ndim != 2 or scores.shape[0] != 1:
                raise ValueError(f"the model must return (1, C) scores, got {tuple(scores.shape)}")
            if not 0 <= class_index < scores.shape[1]:
                raise ValueError(f"class index {class_index} is out of range for {scores.shape[1]} classes")
            if "activation" not in captured:
                raise ValueError("the target layer was not used by the forward pass")
            # Gradients reach the layer through the input that requires them; grad() with
            # respect to the input runs the tensor hook and leaves every .grad alone.
            torch.autograd.grad(scores[0, class_index], x, allow_unused=True)
    finally:
        handle.remove()
        model.train(was_training)
    if "gradient" not in captured:
        raise ValueError("no gradient reached the target layer (is it after the last use of the input?)")
    return cam_from(captured["activation"], captured["gradient"], tuple(input.shape[-2:]))


def cam_from(activation: torch.Tensor, gradient: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """ReLU(sum_k alpha_k A_k), alpha_k the spatial mean gradient; upsampled and scaled to [0, 1]."""
    act = activation.float()
    grad = gradient.float()
    if act.ndim == 3:  # (1, C, L) sequences: treat as a 1 x L map
        act, grad = act[:, :, None, :], grad[:, :, None, :]
    if act.ndim != 4:
        raise ValueError(f"the target layer's output must be a (1, C, h, w) feature map, got {tuple(act.shape)}")
    alpha = grad.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((alpha * act).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)[0, 0]
    peak = float(cam.max())
    if not np.isfinite(peak) or peak <= 0.0:
        return np.zeros(size, np.float32)
    return (cam / peak).clamp(0.0, 1.0).cpu().numpy().astype(np.float32)


def resolve_layer(model: torch.nn.Module, target_layer: torch.nn.Module | str) -> torch.nn.Module:
    """The module itself, or the one named by a dotted path; ValueError naming a bad name."""
    if isinstance(target_layer, torch.nn.Module):
        if not any(m is target_layer for m in model.modules()):
            raise ValueError(f"the target layer {type(target_layer).__name__} is not part of the model")
        return target_layer
    modules = dict(model.named_modules())
    if target_layer not in modules or target_layer == "":
        raise ValueError(f"the model has no layer named {target_layer!r}")
    return modules[target_layer]


def gradcam_for_image(
    model: torch.nn.Module,
    input: torch.Tensor,  # noqa: A002
    *,
    target_layer: torch.nn.Module | str,
    class_index: int,
    image_shape: tuple[int, int],
    crop_box: tuple[float, float, float, float] | None = None,
    to_input: ToInput | None = None,
) -> np.ndarray:
    """Grad-CAM heatmap brought back onto the original image.

    Parameters
    ----------
    model, input, target_layer, class_index
        As for :func:`gradcam`.
    image_shape : (rows, cols)
        The original image's shape.
    crop_box : (row0, col0, row1, col1), optional
        The region of the original image (end exclusive) that preprocessing cropped and
        resized to the input's size. The whole image when neither this nor ``to_input``
        is given.
    to_input : callable, optional
        ``to_input(rows, cols) -> (in_rows, in_cols)``: where an original pixel centre lies
        in input-tensor pixel coordinates, for any other preprocessing (flips, padding).

    Returns
    -------
    ndarray of float32, shape ``image_shape``
        In [0, 1]; 0 where the original pixel was not part of the input.
    """
    heat = gradcam(model, input, target_layer=target_layer, class_index=class_index)
    return map_heatmap(heat, image_shape, crop_box=crop_box, to_input=to_input)


def map_heatmap(
    heatmap: np.ndarray,
    image_shape: tuple[int, int],
    *,
    crop_box: tuple[float, float, float, float] | None = None,
    to_input: ToInput | None = None,
) -> np.ndarray:
    """Resample an input-sized heatmap onto the original image (see :func:`gradcam_for_image`).

    Examples
    --------
    >>> heat = np.zeros((4, 4), np.float32); heat[0, 0] = 1.0
    >>> out = map_heatmap(heat, (100, 100), crop_box=(10, 20, 50, 60))
    >>> float(out[12, 22]) > 0.5, float(out[5, 5]), float(out[80, 80])
    (True, 0.0, 0.0)
    """
    if crop_box is not None and to_input is not None:
        raise ValueError("give crop_box or to_input, not both")
    heat = np.asarray(heatmap, np.float32)
    rows, cols = int(image_shape[0]), int(image_shape[1])
    if to_input is None:
        r0, c0, r1, c1 = crop_box if crop_box is not None else (0, 0, rows, cols)
        if r1 <= r0 or c1 <= c0:
            raise ValueError(f"empty crop box {crop_box}")
        to_input = box_mapping((r0, c0, r1, c1), heat.shape)
    rr, cc = np.meshgrid(np.arange(rows, dtype=np.float64), np.arange(cols, dtype=np.float64), indexing="ij")
    in_r, in_c = to_input(rr, cc)
    in_r = np.asarray(in_r, np.float64)
    in_c = np.asarray(in_c, np.float64)
    # Pixel centres within half a pixel of the input's edge belong to it.
    inside = (in_r >= -0.5) & (in_r <= heat.shape[0] - 0.5) & (in_c >= -0.5) & (in_c <= heat.shape[1] - 0.5)
    sampled = ndi.map_coordinates(heat, [in_r, in_c], order=1, mode="nearest")
    return np.where(inside, np.clip(sampled, 0.0, 1.0), 0.0).astype(np.float32)


def box_mapping(box: tuple[float, float, float, float], input_shape: tuple[int, int]) -> ToInput:
    """Original -> input coordinates when ``box`` was cropped and resized to ``input_shape``."""
    r0, c0, r1, c1 = (float(v) for v in box)
    sr = input_shape[0] / (r1 - r0)
    sc = input_shape[1] / (c1 - c0)

    def to_input(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (rows - r0 + 0.5) * sr - 0.5, (cols - c0 + 0.5) * sc - 0.5

    return to_input
