"""Write a checkpoint's ONNX graph (``model.classifier.engines.graph``): export, then point its weights into the checkpoint.

    python -m model graph                       # every bundled checkpoint
    python -m model graph --checkpoint X.safetensors

``python -m model release`` writes the graph last, after calibration, the guard and the stored metrics
have rewritten the checkpoint; a checkpoint changed any other way needs this command again (the app
falls back to PyTorch until then, and ``tests/test_graph.py`` fails for a bundled one).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ...paths import bundled_checkpoints, graph_file
from ...results import atomic_write
from ..checkpoint import read_raw_header
from ..factory import split_at_cam_layer
from .graph import FINGERPRINT_KEY, HEAD_KEYS, OUTPUTS, checkpoint_fingerprint

if TYPE_CHECKING:
    import onnx

    from ..classifier import Classifier
    from ..preprocess import PreprocessSpec

__all__ = ["export_graph", "main", "write_graph"]

OPSET = 18  # the first with Resize's antialias, which the preprocessing's torch resize uses


class _GraphNetwork(nn.Module):
    """Stage 2 of the preprocessing (after the resize, which ONNX writes by hand) and the split network."""

    def __init__(self, spec: PreprocessSpec, trunk: nn.Module, pool: nn.Module, linear: nn.Linear):
        super().__init__()
        self.spec, self.trunk, self.pool, self.linear = spec, trunk, pool, linear

    def forward(self, resized: torch.Tensor):
        activations = self.trunk(self.spec.normalise(resized))
        features = self.pool(activations)
        return activations, features, self.linear(features)


def _pool_and_linear(head: nn.Sequential) -> tuple[nn.Module, nn.Linear]:
    """The head as (pool and flatten, final linear layer); dropout, a no-op at inference, is dropped.

    Raises:
        ValueError: the head does more, so a PyTorch head of one linear layer would not match it.
    """
    pool, *rest = [m for m in head.modules() if not isinstance(m, (nn.Sequential, nn.Dropout, nn.Flatten))]
    if not isinstance(pool, nn.AdaptiveAvgPool2d) or len(rest) != 1 or not isinstance(rest[0], nn.Linear):
        raise ValueError(f"the head {head} is not pooling and one linear layer")
    return nn.Sequential(pool, nn.Flatten(1)), rest[0]


def _export_network(classifier: Classifier, path: Path) -> tuple[onnx.ModelProto, list[str]]:
    """Export stage 2 and the network to ``path``; the model, and the checkpoint keys of the linear layer."""
    import onnx

    trunk, head = split_at_cam_layer(classifier.model, classifier.arch)
    pool, linear = _pool_and_linear(head)
    names = {id(p): n for n, p in classifier.model.named_parameters()}
    side = classifier.spec.input_size
    example = torch.rand(2, 1, side, side)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice, tracer warnings
        torch.onnx.export(_GraphNetwork(classifier.spec, trunk, pool, linear).eval(), (example,), str(path),
                          dynamo=False, opset_version=OPSET, do_constant_folding=False,  # keep the checkpoint's tensors
                          input_names=["resized"], output_names=list(OUTPUTS),
                          dynamic_axes={name: {0: "batch"} for name in ("resized", *OUTPUTS)})
    return onnx.load(str(path)), [names[id(linear.weight)], names[id(linear.bias)]]


def _prepend_resize(model: onnx.ModelProto, spec: PreprocessSpec) -> None:
    """Make the graph's input the stage-1 square (``stage_size``) and resize it as ``spec.normalise`` does
    (bilinear, antialiased, half-pixel centres: what torch's ``interpolate(..., antialias=True)`` computes)."""
    from onnx import TensorProto, helper

    graph = model.graph
    graph.input.remove(graph.input[0])
    graph.input.append(helper.make_tensor_value_info("squares", TensorProto.FLOAT,
                                                     ["batch", 1, spec.stage_size, spec.stage_size]))
    if spec.stage_size == spec.input_size:
        graph.node.insert(0, helper.make_node("Identity", ["squares"], ["resized"]))
        return
    scale = spec.input_size / spec.stage_size
    graph.initializer.append(helper.make_tensor("resize_scales", TensorProto.FLOAT, [4], [1, 1, scale, scale]))
    graph.node.insert(0, helper.make_node("Resize", ["squares", "", "resize_scales"], ["resized"], mode="linear",
                                          antialias=1, exclude_outside=1,  # torch renormalises at the border
                                          coordinate_transformation_mode="half_pixel"))


def _checkpoint_tensors(checkpoint: Path) -> dict[str, tuple[int, int]]:
    """``sha256(bytes) + dtype`` → (offset in the file, length) of every tensor of a safetensors file."""
    with open(checkpoint, "rb") as f:
        raw = read_raw_header(f)
        data = f.read()
    header, start = json.loads(raw), 8 + len(raw)  # tensor offsets count from the end of the header
    found = {}
    for key, entry in header.items():
        if key != "__metadata__":
            begin, end = entry["data_offsets"]
            found.setdefault(hashlib.sha256(data[begin:end]).hexdigest() + entry["dtype"], (start + begin, end - begin))
    return found


def _weights_from_checkpoint(model: onnx.ModelProto, checkpoint: Path) -> None:
    """Replace each weight of the graph by a reference to the same fp16 bytes in ``checkpoint``, cast to fp32.

    A weight is matched by its bytes (the exporter renames parameters); the checkpoint's fp16 values
    widen to fp32 exactly, so they narrow back to the same bytes.

    Raises:
        ValueError: a weight is not in the checkpoint (the classifier was not loaded from it).
    """
    from onnx import TensorProto, helper, numpy_helper

    stored = _checkpoint_tensors(checkpoint)
    graph, kept, casts = model.graph, [], []
    for weight in graph.initializer:
        array = numpy_helper.to_array(weight)
        if array.dtype != np.float32 or weight.name == "resize_scales":
            kept.append(weight)
            continue
        found = stored.get(hashlib.sha256(array.astype(np.float16).tobytes()).hexdigest() + "F16")
        if found is None:
            raise ValueError(f"the graph's {weight.name} is not a tensor of {checkpoint.name}")
        reference = TensorProto(name=weight.name + ".fp16", data_type=TensorProto.FLOAT16, dims=array.shape,
                                data_location=TensorProto.EXTERNAL)
        for key, value in (("location", checkpoint.name), ("offset", found[0]), ("length", found[1])):
            reference.external_data.add(key=key, value=str(value))
        kept.append(reference)
        casts.append(helper.make_node("Cast", [reference.name], [weight.name], to=TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for cast in reversed(casts):
        graph.node.insert(0, cast)


def export_graph(classifier: Classifier, checkpoint: str | Path) -> Path:
    """Write ``<checkpoint>.onnx`` for ``classifier`` (loaded from ``checkpoint``, in PyTorch fp32); its path.

    Raises:
        ValueError: the network does not split at its CAM block, or its head is more than pooling and one
            linear layer (dropout aside), or its weights are not the checkpoint's.
    """
    import onnx

    checkpoint = Path(checkpoint)
    path = graph_file(checkpoint)
    exported = path.with_name(f".{path.name}.export")
    try:
        model, head_keys = _export_network(classifier, exported)
    finally:
        exported.unlink(missing_ok=True)
    _prepend_resize(model, classifier.spec)
    _weights_from_checkpoint(model, checkpoint)
    for key, value in ((FINGERPRINT_KEY, checkpoint_fingerprint(checkpoint)), (HEAD_KEYS, json.dumps(head_keys))):
        model.metadata_props.add(key=key, value=value)

    def save_checked(tmp: str) -> None:
        onnx.save(model, tmp)
        onnx.checker.check_model(tmp)  # by path: it reads the external weights beside it

    atomic_write(path, save_checked)
    return path


def write_graph(checkpoint: str | Path) -> Path:
    """Load ``checkpoint`` in PyTorch fp32 and write its graph; the graph's path."""
    from ..classifier import load_classifier

    return export_graph(load_classifier(checkpoint), checkpoint)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="append", type=Path,
                        help="a .safetensors checkpoint (repeatable); default: every bundled one")
    for checkpoint in parser.parse_args(argv).checkpoint or bundled_checkpoints():
        path = write_graph(checkpoint)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB, weights read from {checkpoint.name})")


if __name__ == "__main__":
    main()
