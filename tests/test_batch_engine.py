"""model.classifier.batch_engine: ONNX Runtime for large batches, same answers as PyTorch, PyTorch as the fallback."""
import logging
import sys

import numpy as np
import pytest
import torch

from model import create_model, load_classifier
from model.classifier.batch_engine import OnnxBatchEngine, try_batch_engine
from model.classifier.inference import BATCH_ENGINE_FROM

from .conftest import synthetic_mri


def network_with_fitted_batchnorm() -> torch.nn.Module:
    """A ResNet18 whose BatchNorm statistics are far from the defaults, so folding them matters."""
    torch.manual_seed(0)
    model = create_model("resnet18", 4).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model


def test_engine_gives_pytorchs_logits():
    model = network_with_fitted_batchnorm()
    batch = torch.randn(5, 3, 32, 32)
    engine = OnnxBatchEngine.export(model, 32)
    with torch.inference_mode():
        expected = model(batch)
    got = engine(batch)
    assert got.shape == (5, 4)
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_large_batches_go_through_the_engine_with_the_same_probabilities(tiny_checkpoint):
    images = [synthetic_mri(i % 4, seed=i) for i in range(BATCH_ENGINE_FROM + 1)]
    fast, plain = load_classifier(tiny_checkpoint), load_classifier(tiny_checkpoint, batch_engine=False)
    got, expected = fast.predict_proba(images), plain.predict_proba(images)
    assert isinstance(fast.batch_engine, OnnxBatchEngine)
    assert plain.batch_engine is None
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_small_batches_stay_in_pytorch(tiny_checkpoint):
    clf = load_classifier(tiny_checkpoint)
    clf.predict_proba([synthetic_mri(0, seed=1), synthetic_mri(1, seed=2)])
    assert clf.batch_engine is None


def test_without_onnxruntime_batches_stay_in_pytorch(tiny_checkpoint, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with caplog.at_level(logging.WARNING, logger="model.classifier.batch_engine"):
        assert try_batch_engine(network_with_fitted_batchnorm(), 32) is None
    assert "stay in PyTorch" in caplog.text
    clf = load_classifier(tiny_checkpoint)
    probs = clf.predict_proba([synthetic_mri(i % 4, seed=i) for i in range(BATCH_ENGINE_FROM)])
    assert clf.batch_engine is None
    assert probs.shape == (BATCH_ENGINE_FROM, 4) and np.allclose(probs.sum(1), 1.0, atol=1e-5)


@pytest.mark.parametrize("batch", [BATCH_ENGINE_FROM, 33])
def test_engine_takes_any_batch_size(batch):
    engine = OnnxBatchEngine.export(network_with_fitted_batchnorm(), 32)
    assert engine(torch.randn(batch, 3, 32, 32)).shape == (batch, 4)
