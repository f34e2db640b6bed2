"""model.classifier.heat_maps.from_activations: Grad-CAM from given activations equals Grad-CAM through the network."""
import numpy as np
import pytest
import torch

from model import load_classifier
from model.classifier.factory import cam_target_layer, split_at_cam_layer
from model.classifier.heat_maps.gradcam import GradCamExplainer
from model.classifier.heat_maps.from_activations import ComputedActivations, ActivationHeatMaps
from model.classifier.heat_maps.methods import HEAT_MAP_METHODS, HeatMapMethod, draws_from_activations, drawn_in_numpy, heat_map_method


def test_which_methods_are_drawn_from_activations():
    assert draws_from_activations(heat_map_method("Grad-CAM"))
    assert not draws_from_activations(heat_map_method("LayerCAM"))  # an earlier block
    assert not draws_from_activations(HeatMapMethod("Score", "ScoreCAM"))  # re-runs the network on masked inputs
    assert drawn_in_numpy(heat_map_method("Grad-CAM"))  # the class activation map, no torch
    assert not drawn_in_numpy(heat_map_method("LayerCAM")) and not drawn_in_numpy(HeatMapMethod("Hi", "HiResCAM"))
    with pytest.raises(ValueError, match="not drawn from the last block"):
        ActivationHeatMaps(np.zeros((4, 8)), np.zeros(4), 32)(np.zeros((1, 8, 2, 2)), 0, heat_map_method("LayerCAM"))


def test_computed_activations_refuse_a_batch_they_were_not_given():
    stand_in = ComputedActivations()
    with pytest.raises(RuntimeError, match="set the activations"):
        stand_in(torch.zeros(1, 1, 8, 8))
    stand_in.activations = np.ones((2, 3, 2, 2), np.float32)
    with pytest.raises(RuntimeError):
        stand_in(torch.zeros(1, 1, 8, 8))
    assert stand_in(torch.zeros(2, 1, 8, 8)).shape == (2, 3, 2, 2)


@pytest.mark.parametrize("method", [m for m in HEAT_MAP_METHODS if draws_from_activations(m)]
                         + [HeatMapMethod("HiResCAM", "HiResCAM"), HeatMapMethod("XGradCAM", "XGradCAM")])
def test_maps_from_activations_equal_maps_through_the_network(tiny_checkpoint, method):
    classifier = load_classifier(tiny_checkpoint)
    trunk, head = split_at_cam_layer(classifier.model, classifier.arch)
    batch = classifier.spec.normalise(torch.rand(3, 1, 40, 40))
    with torch.no_grad():
        activations = trunk(batch).numpy()
    maps = ActivationHeatMaps(*classifier.engine.head(), 32)(activations, [0, 2, 3], method)
    with GradCamExplainer(classifier.model, cam_target_layer(classifier.model, classifier.arch), cam_class=method.cam_class) as explain:
        expected, _ = explain(batch, [0, 2, 3])
    assert maps.shape == (3, 32, 32)
    np.testing.assert_allclose(maps, expected, atol=1e-4)
