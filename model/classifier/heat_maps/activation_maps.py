"""The default heat map and its overlay from NumPy and OpenCV alone: no torch, no pytorch-grad-cam import.

Every network here ends in global average pooling and one linear layer, so on the last block the
gradient of class ``c``'s logit with respect to channel ``k`` at any position is ``W[c, k] / (h * w)``.
Grad-CAM's channel weights (the gradients averaged over positions) are therefore the head's weights
over ``h * w``, and its map is the class activation map (Zhou et al. 2016): the head's row for the class
times the block's activations. pytorch-grad-cam's ``GradCAM`` gives the same map to float precision
(tested against it on the bundled ResNet50); every other method still goes through pytorch-grad-cam.

Importing pytorch-grad-cam, even ``pytorch_grad_cam.utils.image``, imports its whole package and torch
(about 4 s on a cold server), so its two small image helpers are restated here, step for step.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["class_activation_maps", "overlay_heatmap"]


def _scale(cams: np.ndarray, size: int | None = None) -> np.ndarray:
    """pytorch-grad-cam's ``scale_cam_image``: each map to [0, 1], then (given ``size``) resized to a
    ``size`` square with OpenCV's bilinear filter."""
    import cv2  # OpenCV: 0.2 s, and only with the first map

    out = []
    for cam in cams:
        cam = cam - np.min(cam)
        cam = cam / (1e-7 + np.max(cam))
        out.append(cam if size is None else cv2.resize(np.float32(cam), (size, size)))
    return np.float32(out)


def class_activation_maps(activations: np.ndarray, head_weight: np.ndarray, class_index: int | np.ndarray,
                          size: int) -> np.ndarray:
    """Grad-CAM on the last block, computed as the class activation map.

    Args:
        activations: the last block's output ``(N, K, h, w)``.
        head_weight: the final linear layer's weight ``(C, K)``.
        class_index: the class to explain, for every image or one per image.
        size: side of the square maps returned (the network's input size).

    Returns:
        ``(N, size, size)`` float32 maps in [0, 1], as pytorch-grad-cam's ``GradCAM`` draws them.
    """
    activations = np.asarray(activations, dtype=np.float32)
    n, _, h, w = activations.shape
    rows = np.asarray(head_weight, dtype=np.float32)[np.broadcast_to(np.asarray(class_index), (n,))]
    channel_weights = rows / (h * w)  # the gradient of the logit, averaged over the h * w positions
    cams = np.maximum(np.einsum("nk,nkhw->nhw", channel_weights, activations), 0)
    # pytorch-grad-cam scales each layer's map, then the mean over layers again (one layer here)
    return np.nan_to_num(_scale(_scale(cams, size)))


def overlay_heatmap(image: Image.Image | np.ndarray, heat: np.ndarray, opacity: float = 0.5) -> Image.Image:
    """Colour the heat map (jet) over a grey copy of ``image``: pytorch-grad-cam's ``show_cam_on_image``.

    Args:
        image: the original picture, any mode, or its uint8 grey pixels.
        heat: ``(H, W)`` map in [0, 1], the size of ``image``.
        opacity: 0 shows only the image, 1 only the heat map.
    """
    import cv2

    from ..preprocess import to_grey_uint8  # local: keeps this module importable alone

    grey = (image if isinstance(image, np.ndarray) else to_grey_uint8(image)).astype(np.float32) / 255.0
    rgb = np.repeat(grey[..., None], 3, axis=2)
    opacity = float(np.clip(opacity, 0.0, 1.0))
    colours = cv2.applyColorMap(np.uint8(255 * np.clip(heat, 0, 1)), cv2.COLORMAP_JET)
    colours = np.float32(cv2.cvtColor(colours, cv2.COLOR_BGR2RGB)) / 255
    mixed = opacity * colours + (1.0 - opacity) * rgb
    return Image.fromarray(np.uint8(255 * (mixed / np.max(mixed))))
