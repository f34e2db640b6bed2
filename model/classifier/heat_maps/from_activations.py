"""Heat maps on the last block from activations an engine already computed: pytorch-grad-cam
differentiates a PyTorch copy of the head.

On the last block a gradient heat map needs only d(score)/d(activations) there, and after that block
the network is pooling and one linear layer. So any engine computes the activations, and the explainer
runs on a stand-in network (those activations, then the PyTorch head): the map is the one pytorch-grad-cam
draws on the whole network (tested), and torch is loaded only when such a map is asked for.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .gradcam import GradCamExplainer
from .methods import HeatMapMethod, draws_from_activations

__all__ = ["ActivationHeatMaps", "ComputedActivations"]


class ComputedActivations(nn.Module):
    """Stands in for the trunk: returns the activations the engine computed. Its input tensor only tells
    pytorch-grad-cam how large to draw the map."""

    def __init__(self):
        super().__init__()
        self.activations: np.ndarray | None = None

    def forward(self, placeholder: torch.Tensor) -> torch.Tensor:
        if self.activations is None or len(self.activations) != len(placeholder):
            raise RuntimeError("set the activations of this batch first")
        return torch.from_numpy(self.activations)


class ActivationHeatMaps:
    """Heat maps from last-block activations ``(N, K, h, w)``, through the checkpoint's final linear layer."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, input_size: int):
        linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.asarray(weight, np.float32)))
            linear.bias.copy_(torch.from_numpy(np.asarray(bias, np.float32)))
        self.split = nn.Sequential(ComputedActivations(), nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear)).eval()
        self.input_size = input_size

    def __call__(self, activations: np.ndarray, class_index: int | None, method: HeatMapMethod) -> np.ndarray:
        """Maps ``(N, input_size, input_size)`` in [0, 1], the network's input size.

        Raises:
            ValueError: ``method`` is not one :func:`draws_from_activations` accepts.
        """
        if not draws_from_activations(method):
            raise ValueError(f"{method.name} is not drawn from the last block's gradients")
        self.split[0].activations = np.ascontiguousarray(activations, dtype=np.float32)
        placeholder = torch.zeros(len(activations), 1, self.input_size, self.input_size)
        try:
            with GradCamExplainer(self.split, self.split[0], cam_class=method.cam_class) as explain:
                heat, _ = explain(placeholder, class_index)
        finally:
            self.split[0].activations = None
        return heat
