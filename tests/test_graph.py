"""model.classifier.engines.graph: the checkpoint's ONNX graph opens only for the bytes it was made from."""
import shutil
import sys

import numpy as np
import pytest
import torch

from model import load_classifier, read_metadata, save_checkpoint
from model.classifier.checkpoint import load_checkpoint
from model.classifier.engines.graph import ClassifierGraph, checkpoint_fingerprint
from model.classifier.engines.graph_export import export_graph
from model.paths import bundled_checkpoints
from model.paths import graph_file


@pytest.fixture(scope="module")
def tiny_with_graph(tiny_checkpoint, tmp_path_factory):
    """A copy of the tiny checkpoint with its graph beside it."""
    path = tmp_path_factory.mktemp("graph") / "tiny.safetensors"
    shutil.copy(tiny_checkpoint, path)
    export_graph(load_classifier(path), path)
    return path


def test_every_bundled_checkpoint_has_a_current_graph():
    """A re-released checkpoint needs `python -m model graph` run again; the app would fall back to torch."""
    for checkpoint in bundled_checkpoints():
        assert ClassifierGraph.open(checkpoint) is not None, f"{graph_file(checkpoint).name} is missing or stale"


def test_graph_gives_squares_activations_features_and_logits(tiny_with_graph):
    graph = ClassifierGraph.open(tiny_with_graph)
    squares = np.random.default_rng(0).integers(0, 256, (3, 40, 40), dtype=np.uint8)
    out = graph(squares)
    assert out.activations.shape[0] == out.features.shape[0] == out.logits.shape[0] == 3
    assert out.logits.shape[1] == 4 and out.features.shape[1] == out.activations.shape[1]
    # the features are the pooled activations
    np.testing.assert_allclose(out.features, out.activations.mean(axis=(2, 3)), atol=1e-5)


def test_fingerprint_follows_the_checkpoint_header(tiny_with_graph, tmp_path):
    tensors, meta = load_checkpoint(tiny_with_graph)
    other = tmp_path / "tiny.safetensors"
    save_checkpoint(other, tensors, {**meta, "data_fingerprint": "another"})
    assert checkpoint_fingerprint(other) != checkpoint_fingerprint(tiny_with_graph)
    shutil.copy(tiny_with_graph, tmp_path / "copy.safetensors")
    assert checkpoint_fingerprint(tmp_path / "copy.safetensors") == checkpoint_fingerprint(tiny_with_graph)


def test_a_graph_for_other_checkpoint_bytes_is_refused(tiny_with_graph, tmp_path):
    """Re-saving the checkpoint moves its tensors; a graph pointing at the old offsets must not run."""
    tensors, meta = load_checkpoint(tiny_with_graph)
    moved = tmp_path / "tiny.safetensors"
    save_checkpoint(moved, tensors, {**meta, "metrics": {"accuracy": 0.5}})
    shutil.copy(graph_file(tiny_with_graph), graph_file(moved))
    assert read_metadata(moved)["metrics"] == {"accuracy": 0.5}
    assert ClassifierGraph.open(moved) is None


def test_no_graph_or_no_onnxruntime_means_none(tiny_checkpoint, tiny_with_graph, monkeypatch):
    assert not graph_file(tiny_checkpoint).exists() and ClassifierGraph.open(tiny_checkpoint) is None
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    assert ClassifierGraph.open(tiny_with_graph) is None


def test_a_graph_whose_weights_are_gone_or_damaged_is_refused(tiny_with_graph, tmp_path):
    """A smaller checkpoint under the same name (the graph's offsets run past its end), or a damaged graph."""
    small = tmp_path / "tiny.safetensors"
    save_checkpoint(small, {"fc.weight": torch.zeros(4, 8)}, read_metadata(tiny_with_graph))
    shutil.copy(graph_file(tiny_with_graph), graph_file(small))
    assert ClassifierGraph.open(small) is None
    shutil.copy(tiny_with_graph, small)
    graph_file(small).write_bytes(graph_file(tiny_with_graph).read_bytes()[:500])
    assert ClassifierGraph.open(small) is None
