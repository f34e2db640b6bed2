"""The PyTorch engine: the network in fp32, or its trunk as a bf16 copy on CPUs that compute in bf16.

Of the four ways the trunk could run on a CPU (``docs/speed.md``, 2026-12-02), two are kept:

- ``torch-fp32``: the reference;
- ``torch-bf16``: a bf16 copy of the trunk, BatchNorm folded in first, only on CPUs with AVX-512 bf16
  or AMX, where it ran the ResNet50 at 66.3 images/s against the ONNX graph's 36.7 (batch 32) and kept
  every Kaggle Testing answer.

ONNX Runtime running the trunk alone gave the whole graph's speed (34.8 images/s; the graph is the
``onnx-graph`` engine), and its int8 copy changed at least one answer on every network and machine
measured, so both were dropped.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checkpoint import CheckpointError, load_checkpoint, split_guard_tensors
from ..factory import SPLITTABLE, cam_target_layer, create_model, final_linear, split_at_cam_layer, to_channels_last
from ..guard import PenultimateFeatures
from ..preprocess import PreprocessSpec, uint8_to_float
from . import NetworkOutputs

__all__ = ["PRECISIONS", "Bf16Trunk", "TorchEngine"]

PRECISIONS = ("fp32", "bf16")


class Bf16Trunk(nn.Module):
    """A bf16 copy of the trunk, each BatchNorm folded into its convolution first (half the fp32 weights'
    memory); its output back in fp32 for the head.

    A copy rather than autocast: autocast casts every weight to bf16 again on every call, which cost
    about a third of the time at batch 1 on the 2-core AMD EPYC. Folded first: a BatchNorm computed in
    bf16 rounds once more, and the unfolded copy changed one of the 44 calibration answers, the folded
    one none (measured 2026-12-02).
    """

    def __init__(self, trunk: nn.Module):
        super().__init__()
        from torch.fx.experimental.optimization import fuse

        try:
            folded = fuse(copy.deepcopy(trunk).eval())  # torch.fx: conv + BatchNorm → one conv (eval only)
        except Exception:  # noqa: BLE001 - a trunk torch.fx cannot trace keeps its BatchNorms
            folded = copy.deepcopy(trunk).eval()
        self.trunk = folded.to(torch.bfloat16).to(memory_format=torch.channels_last).eval()
        for parameter in self.trunk.parameters():
            parameter.requires_grad_(False)  # a copy for inference: no gradient flows through it

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.trunk(batch.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)).float()


class TorchEngine:
    """A PyTorch network (eval mode, channels_last) as an engine; :attr:`model` is the fp32 network itself,
    which the heat maps on earlier blocks and the evaluation commands use."""

    def __init__(self, model: nn.Module, arch: str, spec: PreprocessSpec, precision: str = "fp32"):
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; choose from {list(PRECISIONS)}")
        self.model = to_channels_last(model).eval()
        self.arch, self.spec = arch, spec
        self.name = f"torch-{precision}"
        self.linear_head = arch in SPLITTABLE
        self.network: nn.Module = self.model
        self._block = cam_target_layer(self.model, arch)  # whose output is the activations
        if precision == "bf16":
            trunk, head = split_at_cam_layer(self.model, arch)  # the head's modules are the model's own
            self.network = nn.Sequential(Bf16Trunk(trunk), head)
            self._block = self.network[0]

    @classmethod
    def from_checkpoint(cls, path: str | Path, precision: str = "fp32") -> tuple["TorchEngine", dict, dict]:
        """The engine of a checkpoint, its metadata and its guard tensors."""
        tensors, meta = load_checkpoint(path, channels_last=True)
        try:
            spec = PreprocessSpec.from_dict(meta["preprocess"])
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{Path(path).name}: {err}") from err
        weights, guard = split_guard_tensors(tensors)
        with torch.device("meta"):  # no random init to throw away: faster, and ~100 MB lower peak
            model = create_model(meta["arch"], len(meta["classes"]))
        model.load_state_dict(weights, assign=True)
        return cls(model, meta["arch"], spec, precision), meta, guard

    def __call__(self, squares: np.ndarray) -> NetworkOutputs:
        return self.run_batch(self.network_input(squares))

    def network_input(self, squares: np.ndarray) -> torch.Tensor:
        """Stage 2 of the preprocessing: uint8 squares ``(N, S, S)`` → the network's input batch."""
        return self.spec.normalise(uint8_to_float(squares)).contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def run_batch(self, batch: torch.Tensor) -> NetworkOutputs:
        """The outputs of a network-ready batch ``(N, C, H, W)`` (an augmented one, say)."""
        kept = {}
        handle = self._block.register_forward_hook(lambda _m, _i, output: kept.update(activations=output))
        try:
            with PenultimateFeatures(self.model) as features:
                logits = self.network(batch.contiguous(memory_format=torch.channels_last))
        finally:
            handle.remove()
        return NetworkOutputs(kept["activations"].float().numpy(), features.features.numpy(), logits.float().numpy())

    def head(self) -> tuple[np.ndarray, np.ndarray]:
        linear = final_linear(self.model)
        return (linear.weight.detach().float().numpy(), linear.bias.detach().float().numpy())
