"""Grad-CAM through pytorch-grad-cam, wrapped so hooks never outlive their use."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import show_cam_on_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn


class GradCamExplainer:
    """Context manager: hooks are attached on enter and released on exit.

    Example:
        with GradCamExplainer(model, layer) as explain:
            heat, logits = explain(batch, class_index=2)
    """

    def __init__(self, model: nn.Module, target_layer: nn.Module):
        self.model = model
        self.target_layer = target_layer
        self._cam: GradCAM | None = None

    def __enter__(self) -> "GradCamExplainer":
        self._cam = GradCAM(model=self.model, target_layers=[self.target_layer])
        return self

    def __exit__(self, *exc) -> None:
        if self._cam is not None:
            self._cam.__exit__(*exc)  # removes the forward/backward hooks
            self._cam = None

    def __call__(self, batch: torch.Tensor, class_index: int | None = None) -> tuple[np.ndarray, torch.Tensor]:
        """Heat maps ``(N, H, W)`` in [0, 1] at the batch's size, and the logits.

        Args:
            batch: network-ready input.
            class_index: class to explain; ``None`` explains each image's top class.
        """
        if self._cam is None:
            raise RuntimeError("use GradCamExplainer inside a 'with' block")
        targets = None if class_index is None else [ClassifierOutputTarget(class_index)] * len(batch)
        heat = self._cam(input_tensor=batch, targets=targets)
        return np.nan_to_num(heat.astype(np.float32)), self._cam.outputs.detach()


def overlay_heatmap(image: Image.Image, heat: np.ndarray, opacity: float = 0.5) -> Image.Image:
    """Colour the heat map (jet) over a grey copy of ``image``.

    Args:
        image: the original picture, any mode.
        heat: ``(H, W)`` map in [0, 1], the size of ``image``.
        opacity: 0 shows only the image, 1 only the heat map.
    """
    from .preprocess import to_grey_uint8  # local: keeps this module importable alone

    grey = to_grey_uint8(image).astype(np.float32) / 255.0
    rgb = np.repeat(grey[..., None], 3, axis=2)
    opacity = float(np.clip(opacity, 0.0, 1.0))
    mixed = show_cam_on_image(rgb, np.clip(heat, 0, 1), use_rgb=True, image_weight=1.0 - opacity)
    return Image.fromarray(mixed)
