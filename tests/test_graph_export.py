"""model.classifier.engines.graph_export: the graph computes what PyTorch computes, from the checkpoint's own bytes."""
import shutil

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from model import load_classifier
from model.classifier.factory import split_at_cam_layer
from model.classifier.engines.graph import ClassifierGraph
from model.classifier.engines.graph_export import _pool_and_linear, export_graph
from model.classifier.preprocess import uint8_to_float
from model.paths import graph_file


@pytest.fixture()
def tiny_copy(tiny_checkpoint, tmp_path):
    path = tmp_path / "tiny.safetensors"
    shutil.copy(tiny_checkpoint, path)
    return path


def test_graph_matches_pytorch_from_squares(tiny_copy):
    """Stage 2 (antialiased resize 40 → 32, z-score) and the network, against PyTorch fp32."""
    classifier = load_classifier(tiny_copy)
    export_graph(classifier, tiny_copy)
    squares = np.random.default_rng(1).integers(0, 256, (4, 40, 40), dtype=np.uint8)
    out = ClassifierGraph.open(tiny_copy)(squares)
    trunk, head = split_at_cam_layer(classifier.model, classifier.arch)
    with torch.no_grad():
        activations = trunk(classifier.spec.normalise(uint8_to_float(squares)))
        logits = head(activations)
    np.testing.assert_allclose(out.activations, activations.numpy(), atol=1e-4)
    np.testing.assert_allclose(out.logits, logits.numpy(), atol=1e-4)


def test_graph_holds_references_not_weights(tiny_copy):
    export_graph(load_classifier(tiny_copy), tiny_copy)
    path = graph_file(tiny_copy)
    assert path.stat().st_size < tiny_copy.stat().st_size / 20
    stored = onnx.load(str(path), load_external_data=False)
    external = [t for t in stored.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert external and all(t.external_data[0].value == tiny_copy.name for t in external)
    assert not list(tiny_copy.parent.glob(".*"))  # no temporary file left behind


def test_weights_that_are_not_the_checkpoints_are_refused(tiny_copy):
    classifier = load_classifier(tiny_copy)
    with torch.no_grad():
        next(classifier.model.parameters()).add_(1.0)
    with pytest.raises(ValueError, match="is not a tensor of"):
        export_graph(classifier, tiny_copy)
    assert not graph_file(tiny_copy).exists()


def test_a_head_of_more_than_one_linear_layer_is_refused():
    pool, linear = _pool_and_linear(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                                  nn.Sequential(nn.Dropout(0.2), nn.Linear(8, 4))))
    assert isinstance(linear, nn.Linear) and isinstance(pool[0], nn.AdaptiveAvgPool2d)
    with pytest.raises(ValueError, match="not pooling and one linear layer"):
        _pool_and_linear(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4)))
