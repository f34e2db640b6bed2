"""Grad-CAM for the ONNX-graph classifier: pytorch-grad-cam differentiates a PyTorch copy of the head.

On the last block a gradient heat map needs only d(score)/d(activations) there, and after that block
the network is pooling and one linear layer. So the graph computes the activations, and the explainer
runs on a split network (activations already computed, then the PyTorch head), the same split the
PyTorch classifier's backends use (``model.classifier.gradcam.heat_map_explainer``): the map is the one
the PyTorch classifier draws (tested), and torch is loaded only when a map is asked for.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .checkpoint import read_arrays
from .gradcam import GradCamExplainer
from .heat_map_methods import HeatMapMethod, draws_from_graph

__all__ = ["ComputedActivations", "GraphHeatMaps"]


class ComputedActivations(nn.Module):
    """Stands in for the trunk: returns the activations the graph computed. Its input tensor only tells
    pytorch-grad-cam how large to draw the map."""

    def __init__(self):
        super().__init__()
        self.activations: np.ndarray | None = None

    def forward(self, placeholder: torch.Tensor) -> torch.Tensor:
        if self.activations is None or len(self.activations) != len(placeholder):
            raise RuntimeError("set the activations of this batch first")
        return torch.from_numpy(self.activations)


class GraphHeatMaps:
    """Heat maps from last-block activations ``(N, K, h, w)``, through the checkpoint's final linear layer."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, input_size: int):
        linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.asarray(weight, np.float32)))
            linear.bias.copy_(torch.from_numpy(np.asarray(bias, np.float32)))
        self.split = nn.Sequential(ComputedActivations(), nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear)).eval()
        self.input_size = input_size

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, head_keys: Sequence[str], input_size: int) -> "GraphHeatMaps":
        weight, bias = (read_arrays(checkpoint, keys=head_keys)[key] for key in head_keys)
        return cls(weight, bias, input_size)

    def __call__(self, activations: np.ndarray, class_index: int | None, method: HeatMapMethod) -> np.ndarray:
        """Maps ``(N, input_size, input_size)`` in [0, 1], the size the PyTorch classifier draws them at.

        Raises:
            ValueError: ``method`` is not one :func:`draws_from_graph` accepts.
        """
        if not draws_from_graph(method):
            raise ValueError(f"{method.name} is not drawn from the last block's gradients")
        self.split[0].activations = np.ascontiguousarray(activations, dtype=np.float32)
        placeholder = torch.zeros(len(activations), 1, self.input_size, self.input_size)
        try:
            with GradCamExplainer(self.split, self.split[0], cam_class=method.cam_class) as explain:
                heat, _ = explain(placeholder, class_index)
        finally:
            self.split[0].activations = None
        return heat
