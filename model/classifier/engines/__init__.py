"""Engines: what runs a classifier's network. Stage-1 squares in; last-block activations, pooled features
and logits out, as NumPy arrays.

- :class:`~model.classifier.engines.torch_engine.TorchEngine`: PyTorch, fp32, or a bf16 copy of the
  trunk on CPUs with native bf16 (``docs/speed.md``);
- :class:`~model.classifier.engines.graph.ClassifierGraph`: the checkpoint's ONNX graph in ONNX Runtime,
  with no torch (the app's engine).

:class:`model.classifier.classifier.Classifier` turns either's outputs into answers, the input check,
the sequence estimate and every heat map. This file imports neither engine (one needs torch).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["ENGINES", "Engine", "NetworkOutputs"]

#: The engines by name: ``load_classifier(path, engine=...)`` and ``python -m model backends`` use these.
ENGINES = ("torch-fp32", "torch-bf16", "onnx-graph")


@dataclass(frozen=True)
class NetworkOutputs:
    """One batch through a network: activations ``(N, K, h, w)``, features ``(N, D)``, logits ``(N, C)``."""

    activations: np.ndarray
    features: np.ndarray
    logits: np.ndarray


class Engine(Protocol):
    """The small interface every engine offers."""

    #: one of :data:`ENGINES`
    name: str
    #: the network ends in global average pooling and one linear layer, so Grad-CAM on its last block is
    #: the class activation map, and any map on that block can be drawn from the activations
    linear_head: bool

    def __call__(self, squares: np.ndarray) -> NetworkOutputs:
        """``squares``: uint8 ``(N, S, S)`` from :meth:`PreprocessSpec.squares`."""

    def head(self) -> tuple[np.ndarray, np.ndarray]:
        """The final linear layer's weight ``(C, K)`` and bias ``(C,)``, float32."""
