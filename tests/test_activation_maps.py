"""model.classifier.heat_maps.activation_maps: the default Grad-CAM from activations in NumPy, and the overlay,
equal pytorch-grad-cam's on the bundled ResNet50, and neither imports torch."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from model.classifier.heat_maps.activation_maps import class_activation_maps, overlay_heatmap
from model.classifier.factory import cam_target_layer, split_at_cam_layer
from model.classifier.heat_maps.gradcam import GradCamExplainer
from model.paths import REPO_ROOT


@pytest.fixture(scope="module")
def bundled_batch(bundled, samples):
    """The bundled samples as the network's input, the last block's activations and the head's weight."""
    squares = bundled.spec.squares([Image.open(s.path) for s in samples])
    batch = bundled.spec.normalise(torch.from_numpy(squares).float()[:, None] / 255.0)
    trunk, head = split_at_cam_layer(bundled.model, bundled.arch)
    with torch.no_grad():
        activations = trunk(batch).float().numpy()
    return batch, activations, head[-1].weight.detach().float().numpy()


@pytest.mark.parametrize("class_index", [None, 0, 3])
def test_equals_pytorch_grad_cam_on_the_bundled_resnet50(bundled, bundled_batch, class_index):
    batch, activations, weight = bundled_batch
    with GradCamExplainer(bundled.model, cam_target_layer(bundled.model, bundled.arch), short_backward=False) as explain:
        expected, logits = explain(batch, class_index)
    target = logits.argmax(1).numpy() if class_index is None else class_index
    ours = class_activation_maps(activations, weight, target, bundled.spec.input_size)
    assert ours.shape == expected.shape == (len(batch), bundled.spec.input_size, bundled.spec.input_size)
    assert np.abs(ours - expected).max() <= 1e-5
    assert ours.min() >= 0 and ours.max() <= 1 + 1e-6


def test_a_map_is_the_head_row_times_the_activations():
    activations = np.zeros((1, 2, 2, 2), np.float32)
    activations[0, 0, 0, 1] = 1.0  # channel 0 lights the top right, channel 1 the bottom left
    activations[0, 1, 1, 0] = 1.0
    weight = np.array([[1.0, -1.0], [-1.0, 1.0]], np.float32)
    np.testing.assert_allclose(class_activation_maps(activations, weight, 0, 2)[0], [[0, 1], [0, 0]], atol=1e-6)
    np.testing.assert_allclose(class_activation_maps(activations, weight, 1, 2)[0], [[0, 0], [1, 0]], atol=1e-6)
    # a class with no evidence anywhere gives a blank map, not NaN
    assert np.all(class_activation_maps(activations, np.zeros((1, 2), np.float32), 0, 4) == 0)


def test_overlay_equals_show_cam_on_image():
    from pytorch_grad_cam.utils.image import show_cam_on_image

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (24, 30), dtype=np.uint8)
    heat = rng.random((24, 30)).astype(np.float32)
    rgb = np.repeat((grey.astype(np.float32) / 255.0)[..., None], 3, axis=2)
    for opacity in (0.0, 0.45, 1.0):
        expected = show_cam_on_image(rgb, heat, use_rgb=True, image_weight=1.0 - opacity)
        np.testing.assert_array_equal(np.asarray(overlay_heatmap(grey, heat, opacity)), expected)


def test_the_default_map_needs_no_torch():
    code = ("import sys, numpy as np\n"
            "from model.classifier.heat_maps.activation_maps import class_activation_maps, overlay_heatmap\n"
            "heat = class_activation_maps(np.ones((1, 3, 5, 5)), np.ones((4, 3)), 1, 160)[0]\n"
            "overlay_heatmap(np.zeros((160, 160), np.uint8), heat)\n"
            "print('torch' in sys.modules, 'pytorch_grad_cam' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
