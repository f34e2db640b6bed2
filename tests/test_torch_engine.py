"""model.classifier.engines.torch_engine: PyTorch's outputs as an engine, in fp32 or with a bf16 trunk."""
import numpy as np
import pytest
import torch

from model import load_classifier
from model.classifier.engines.torch_engine import Bf16Trunk, TorchEngine
from model.classifier.factory import cam_target_layer, create_model, final_linear
from model.classifier.preprocess import PreprocessSpec

from .conftest import synthetic_mri


@pytest.fixture(scope="module")
def squares(tiny_checkpoint):
    spec = load_classifier(tiny_checkpoint).spec
    return np.stack([spec.to_square_grey(synthetic_mri(i % 4, 40 + i))[0] for i in range(5)])


def test_outputs_are_the_networks_own(tiny_checkpoint, squares):
    engine = load_classifier(tiny_checkpoint).engine
    assert engine.name == "torch-fp32" and engine.linear_head
    out = engine(squares)
    batch = engine.network_input(squares)
    kept = {}
    hooks = [cam_target_layer(engine.model, engine.arch).register_forward_hook(lambda m, i, o: kept.update(a=o)),
             final_linear(engine.model).register_forward_pre_hook(lambda m, i: kept.update(f=i[0]))]
    with torch.no_grad():
        logits = engine.model(batch)
    for hook in hooks:
        hook.remove()
    np.testing.assert_allclose(out.logits, logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(out.activations, kept["a"].numpy(), atol=1e-5)
    np.testing.assert_allclose(out.features, kept["f"].numpy(), atol=1e-5)
    np.testing.assert_allclose(out.features, out.activations.mean(axis=(2, 3)), atol=1e-5)  # pool, then the head
    weight, bias = engine.head()
    np.testing.assert_allclose(out.features @ weight.T + bias, out.logits, atol=1e-4)


def test_a_bf16_trunk_keeps_the_answers_and_leaves_the_network_alone(tiny_checkpoint, squares):
    fp32 = load_classifier(tiny_checkpoint).engine
    bf16 = load_classifier(tiny_checkpoint, engine="torch-bf16").engine
    assert bf16.name == "torch-bf16" and isinstance(bf16.network[0], Bf16Trunk)
    ours, theirs = bf16(squares), fp32(squares)
    assert ours.activations.dtype == np.float32 and ours.activations.shape == theirs.activations.shape
    np.testing.assert_allclose(ours.logits, theirs.logits, atol=0.1)
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())  # the fp32 network is kept as it was


def test_unknown_precisions_and_unsplittable_bf16_are_refused():
    model, spec = create_model("densenet121", 4), PreprocessSpec(input_size=32, stage_size=36)
    with pytest.raises(ValueError, match="unknown precision"):
        TorchEngine(model, "densenet121", spec, "fp16")
    with pytest.raises(ValueError, match="does not split"):
        TorchEngine(model, "densenet121", spec, "bf16")
    assert not TorchEngine(model, "densenet121", spec).linear_head  # its forward does more after the block
