"""A loss that keeps the network's evidence inside the hand-drawn tumour outline (``--outline-weight``).

For a backbone whose last block feeds a global average pool and one linear layer, the class activation
map of the true class, ``w_c · A[:, y, x]``, is what Grad-CAM shows on that block (up to a scale), and
its mean over the grid is that class's logit. So the map the app draws can be trained directly:
a softmax over the grid's cells turns it into a distribution of evidence, and the loss is its
cross-entropy against the outline's share of each cell (Ross et al., 2017, "right for the right
reasons", in the form of a pointing target). Slices without an outline (normals, other sources) add
nothing.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..classifier.factory import cam_target_layer, final_linear

__all__ = ["LastBlockFeatures", "outline_loss"]


class LastBlockFeatures:
    """Keeps the last block's output of each forward pass while in a ``with`` block; the hook goes on exit."""

    def __init__(self, model: nn.Module, arch: str):
        self.layer = cam_target_layer(model, arch)
        self.head = final_linear(model)
        self.features: torch.Tensor | None = None
        self._handle = None

    def _keep(self, _module, _inputs, output) -> None:
        self.features = output

    def __enter__(self) -> "LastBlockFeatures":
        self._handle = self.layer.register_forward_hook(self._keep)
        return self

    def __exit__(self, *_exc) -> None:
        self._handle.remove()
        self.features = None


def outline_loss(features: torch.Tensor, head_weight: torch.Tensor, target: torch.Tensor, masks: torch.Tensor,
                 outlined: torch.Tensor) -> torch.Tensor:
    """Mean over the outlined slices of the cross-entropy between the outline's cells and the evidence map.

    Args:
        features: the last block's activations ``(N, C, h, w)``.
        head_weight: the final linear layer's weight ``(classes, C)``.
        target: the true class of each slice ``(N,)``.
        masks: the outlines on the network's input, ``(N, 1, H, W)`` in [0, 1].
        outlined: which slices have an outline ``(N,)``; a slice whose outline left the picture in
            augmentation counts as not outlined.
    Returns:
        A scalar; zero (with a gradient) when no slice is outlined.
    """
    share = F.adaptive_avg_pool2d(masks.float(), features.shape[-2:]).flatten(1)  # outline's share of each cell
    keep = outlined & (share.sum(1) > 1e-6)
    if not bool(keep.any()):
        return features.sum() * 0.0
    features, share, target = features[keep].float(), share[keep], target[keep]
    evidence = torch.einsum("nchw,nc->nhw", features, head_weight[target].float()).flatten(1)
    wanted = share / share.sum(1, keepdim=True)
    return -(wanted * F.log_softmax(evidence, dim=1)).sum(1).mean()
