from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from model import GradCamExplainer, create_model, overlay_heatmap
from model.factory import cam_target_layer


def all_hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.modules())


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v2", "densenet121"])
def test_short_backward_gives_the_same_map_as_a_full_backward(arch):
    torch.manual_seed(0)
    model = create_model(arch, 4).eval()
    batch = torch.randn(2, 3, 64, 64)
    layer = cam_target_layer(model, arch)
    with GradCamExplainer(model, layer, short_backward=False) as explain:
        full, full_logits = explain(batch, class_index=1)
    with GradCamExplainer(model, layer) as explain:
        short, short_logits = explain(batch, class_index=1)
    assert full.shape == short.shape == (2, 64, 64)
    assert full.max() > 0
    np.testing.assert_allclose(short, full, atol=1e-4)
    torch.testing.assert_close(short_logits, full_logits)


def test_explainer_restores_parameters_and_removes_hooks():
    model = create_model("resnet18", 4).eval()
    model.fc.weight.requires_grad_(False)  # a caller's own frozen parameter stays frozen
    before = [p.requires_grad for p in model.parameters()]
    hooks = all_hooks(model)
    with GradCamExplainer(model, cam_target_layer(model, "resnet18")) as explain:
        explain(torch.randn(1, 3, 64, 64))
        assert not any(p.requires_grad for p in model.parameters())
    assert [p.requires_grad for p in model.parameters()] == before
    assert all_hooks(model) == hooks


def test_explainer_outside_its_block_refuses():
    model = create_model("resnet18", 4).eval()
    explainer = GradCamExplainer(model, cam_target_layer(model, "resnet18"))
    with pytest.raises(RuntimeError, match="with"):
        explainer(torch.randn(1, 3, 64, 64))


def test_concurrent_explanations_match_sequential_ones(tiny_checkpoint, samples):
    from model import load_classifier

    clf = load_classifier(tiny_checkpoint)
    images = [Image.open(s.path) for s in samples] * 2
    alone = [clf.explain(im).heatmap for im in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda im: clf.explain(im).heatmap, images))
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_overlay_is_rgb_at_image_size():
    image = Image.new("L", (50, 40), 128)
    heat = np.zeros((40, 50), np.float32)
    heat[10:20, 10:20] = 1
    out = overlay_heatmap(image, heat, opacity=0.7)
    assert out.mode == "RGB" and out.size == (50, 40)
    assert np.asarray(out)[15, 15, 0] > np.asarray(out)[35, 45, 0]
