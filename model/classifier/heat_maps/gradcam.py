"""Heat maps (Grad-CAM, LayerCAM, …) through pytorch-grad-cam, wrapped so hooks never outlive their use."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .methods import HEAT_MAP_METHODS, LAYER_CHOICES, SLOW_CAM_BATCH, SLOW_CAM_CLASSES, HeatMapMethod, heat_map_method

# pytorch-grad-cam is imported where it is first used, not here: its package imports every CAM
# method it has, and with them scikit-learn, SciPy, pandas and matplotlib (1.5 s of the app's
# cold start). The Diagnose page shows its first prediction while that import runs.


def _start_graph_here(module: nn.Module, inputs, output: torch.Tensor) -> torch.Tensor:
    """Forward hook: make the target layer's output a fresh autograd leaf.

    Grad-CAM needs only d(score)/d(activations) at the target layer, so the
    backward pass can stop there instead of running through the whole network.
    The clone keeps in-place ops that follow (DenseNet's ReLU) legal.
    """
    return output.detach().requires_grad_(True).clone()


def cam_target_layers(model: nn.Module, arch: str, layers: str = "last") -> list[nn.Module]:
    """The blocks of ``model`` (architecture ``arch``) that ``layers`` (:data:`LAYER_CHOICES`) names,
    nearest the input first."""
    from ..factory import cam_target_layer  # local: keeps this module importable alone

    if layers not in LAYER_CHOICES:
        raise ValueError(f"unknown target layers {layers!r}; choose from {list(LAYER_CHOICES)}")
    fine, last = cam_target_layer(model, arch, fine=True), cam_target_layer(model, arch)
    return {"last": [last], "fine": [fine], "both": [fine, last]}[layers]


class GradCamExplainer:
    """Context manager: hooks are attached on enter and released on exit.

    Inside the block the network's parameters are frozen and the autograd
    graph starts at ``target_layer`` (the first, nearest the input, of several;
    the later ones stay in the graph): the layers before it run as in
    inference and the backward pass covers only the layers after it (for the
    last block, just the head), so a heat map costs little more than a prediction. The maps are the same as with a full
    backward pass (tested). Parameters get their ``requires_grad`` back on exit.

    Example:
        with GradCamExplainer(model, layer) as explain:
            heat, logits = explain(batch, class_index=2)
    """

    def __init__(self, model: nn.Module, target_layer: nn.Module | Sequence[nn.Module], short_backward: bool = True,
                 cam_class: str = "GradCAM", cam_batch_size: int = SLOW_CAM_BATCH):
        self.model = model
        # several layers: pytorch-grad-cam averages their maps; the graph is cut at the first
        self.target_layers = [target_layer] if isinstance(target_layer, nn.Module) else list(target_layer)
        self.short_backward = short_backward
        self.cam_class = cam_class  # a pytorch-grad-cam method that takes target layers (GradCAM, LayerCAM, …)
        self.cam_batch_size = cam_batch_size  # perturbed copies per forward pass, for SLOW_CAM_CLASSES
        self._cam: Any = None  # the pytorch-grad-cam method, inside the block
        self._cut = None
        self._frozen: list[nn.Parameter] = []

    def __enter__(self) -> "GradCamExplainer":
        if self.short_backward:
            self._frozen = [p for p in self.model.parameters() if p.requires_grad]
            for p in self._frozen:
                p.requires_grad_(False)
            # registered before the CAM method's own hooks, so theirs see the leaf
            self._cut = self.target_layers[0].register_forward_hook(_start_graph_here)
        import pytorch_grad_cam

        method = getattr(pytorch_grad_cam, self.cam_class)
        if self.cam_class == "AblationCAM":  # a fresh ablation layer: the library's default one is shared state
            self._cam = method(model=self.model, target_layers=self.target_layers, batch_size=self.cam_batch_size,
                               ablation_layer=pytorch_grad_cam.AblationLayer())
        else:
            self._cam = method(model=self.model, target_layers=self.target_layers)
            self._cam.batch_size = self.cam_batch_size  # read by ScoreCAM only
        return self

    def __exit__(self, *exc) -> None:
        if self._cam is not None:
            self._cam.__exit__(*exc)  # removes the forward/backward hooks
            self._cam = None
        if self._cut is not None:
            self._cut.remove()
            self._cut = None
        for p in self._frozen:
            p.requires_grad_(True)
        self._frozen = []

    def __call__(self, batch: torch.Tensor,
                 class_index: int | Sequence[int] | None = None) -> tuple[np.ndarray, torch.Tensor]:
        """Heat maps ``(N, H, W)`` in [0, 1] at the batch's size, and the logits.

        Args:
            batch: network-ready input.
            class_index: class to explain, for the whole batch or one per image;
                ``None`` explains each image's top class.
        """
        if self._cam is None:
            raise RuntimeError("use GradCamExplainer inside a 'with' block")
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        if class_index is None:
            targets = None
        else:
            per_image = [class_index] * len(batch) if np.ndim(class_index) == 0 else list(class_index)
            targets = [ClassifierOutputTarget(int(c)) for c in per_image]
        # ScoreCAM masks the input with every channel of every image at once: one image at a time
        step = 1 if self.cam_class in SLOW_CAM_CLASSES else max(len(batch), 1)
        heats, logits = [], []
        for start in range(0, len(batch), step):
            part = None if targets is None else targets[start:start + step]
            heats.append(self._cam(input_tensor=batch[start:start + step], targets=part))
            logits.append(self._cam.outputs.detach())
        heat = heats[0] if len(heats) == 1 else np.concatenate(heats)
        return np.nan_to_num(heat.astype(np.float32)), logits[0] if len(logits) == 1 else torch.cat(logits)


def heat_map_explainer(model: nn.Module, arch: str, method: str | HeatMapMethod = HEAT_MAP_METHODS[0].name) -> GradCamExplainer:
    """The explainer that draws ``method`` (a name from :data:`HEAT_MAP_METHODS`, or any
    :class:`HeatMapMethod`) on ``model``, a network of architecture ``arch``, at the blocks that method uses."""
    chosen = method if isinstance(method, HeatMapMethod) else heat_map_method(method)
    return GradCamExplainer(model, cam_target_layers(model, arch, chosen.layers), cam_class=chosen.cam_class)
