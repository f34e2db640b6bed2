from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from model import GradCamExplainer, create_model, overlay_heatmap
from model.classifier.factory import ARCHS, ArchInfo, cam_target_layer
from model.classifier.heat_maps.gradcam import cam_target_layers, heat_map_explainer
from model.classifier.heat_maps.methods import CAM_CLASSES, HEAT_MAP_METHODS, LAYER_CHOICES, HeatMapMethod, heat_map_method


def all_hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.modules())


@pytest.mark.parametrize("arch, method", [("resnet18", "Grad-CAM"), ("mobilenet_v2", "Grad-CAM"),
                                          ("densenet121", "Grad-CAM"), ("resnet18", "LayerCAM"),
                                          ("densenet121", "LayerCAM"), ("vgg16", "LayerCAM"),
                                          ("resnet18", "GradCAM:both"), ("mobilenet_v2", "HiResCAM:both"),
                                          ("resnet18", "GradCAMPlusPlus:fine")])
def test_short_backward_gives_the_same_map_as_a_full_backward(arch, method):
    torch.manual_seed(0)
    model = create_model(arch, 4).eval()
    batch = torch.randn(2, 3, 64, 64)
    chosen = HeatMapMethod(method, *method.split(":")) if ":" in method else heat_map_method(method)
    layer = cam_target_layers(model, arch, chosen.layers)  # with "both", the graph is cut at the fine block only
    with GradCamExplainer(model, layer, short_backward=False, cam_class=chosen.cam_class) as explain:
        full, full_logits = explain(batch, class_index=1)
    with GradCamExplainer(model, layer, cam_class=chosen.cam_class) as explain:
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


@pytest.mark.parametrize("per_image", [[0, 1], np.array([1, 0])])
def test_gradcam_takes_one_class_per_image(per_image):
    torch.manual_seed(0)
    model = create_model("resnet18", 4).eval()
    batch = torch.randn(2, 3, 64, 64)
    with GradCamExplainer(model, cam_target_layer(model, "resnet18")) as explain:
        together, _ = explain(batch, per_image)
        alone = [explain(batch[i:i + 1], int(c))[0][0] for i, c in enumerate(per_image)]
    np.testing.assert_allclose(together, np.stack(alone), atol=1e-5)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_the_fine_layer_gives_a_map_twice_as_fine_as_the_last_block(arch):
    model = create_model(arch, 4).eval()
    sides = {}
    for fine in (False, True):
        seen = []
        hook = cam_target_layer(model, arch, fine).register_forward_hook(lambda m, i, o: seen.append(o.shape[-1]))
        with torch.no_grad():
            model(torch.zeros(1, 3, 160, 160))
        hook.remove()
        sides[fine] = seen[-1]
    assert (sides[False], sides[True]) == (5, 10)


def test_heat_map_methods_are_named_once_and_unknown_names_are_refused():
    names = [m.name for m in HEAT_MAP_METHODS]
    assert names[0] == "Grad-CAM" and len(set(names)) == len(names)
    with pytest.raises(KeyError, match="choose from"):
        heat_map_method("Saliency")


class TinyNet(torch.nn.Module):
    """Blocks at stride 16 and 32 with a few channels: ScoreCAM and AblationCAM stay quick on it."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=8, padding=1), torch.nn.ReLU())
        self.fine = torch.nn.Sequential(torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.nn.ReLU(inplace=True))
        self.last = torch.nn.Sequential(torch.nn.Conv2d(6, 8, 3, stride=2, padding=1), torch.nn.ReLU(inplace=True))
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(self.last(self.fine(self.stem(x))).mean(dim=(2, 3)))


@pytest.mark.parametrize("layers", LAYER_CHOICES)
@pytest.mark.parametrize("cam_class", CAM_CLASSES)
def test_every_method_on_every_choice_of_blocks_draws_a_map_and_lets_go(cam_class, layers, monkeypatch):
    monkeypatch.setitem(ARCHS, "tiny", ArchInfo(TinyNet, "", "last", "fine", lambda m, n: None))
    torch.manual_seed(0)
    model = TinyNet().eval()
    hooks, batch = all_hooks(model), torch.randn(3, 3, 64, 64)
    with heat_map_explainer(model, "tiny", HeatMapMethod("candidate", cam_class, layers)) as explain:
        heat, logits = explain(batch, [1, 2, 0])
    assert heat.shape == (3, 64, 64) and logits.shape == (3, 4)
    torch.testing.assert_close(logits, model(batch))
    assert np.isfinite(heat).all() and heat.min() >= 0 and heat.max() <= 1 + 1e-6
    assert all_hooks(model) == hooks and all(p.requires_grad for p in model.parameters())
    # AblationCAM swaps the block it ablates for its own layer, and back
    assert isinstance(model.last, torch.nn.Sequential) and isinstance(model.fine, torch.nn.Sequential)


def test_both_reads_the_fine_block_then_the_last():
    model = create_model("resnet18", 4)
    assert cam_target_layers(model, "resnet18", "both") == [model.layer3, model.layer4]
    assert cam_target_layers(model, "resnet18", "fine") == [cam_target_layer(model, "resnet18", fine=True)]


def test_an_unknown_method_or_block_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown heat map method 'GradCAM3'.*HiResCAM"):
        HeatMapMethod("x", "GradCAM3")
    with pytest.raises(ValueError, match="unknown target layers 'first'.*'last', 'fine', 'both'"):
        HeatMapMethod("x", "GradCAM", "first")
    with pytest.raises(ValueError, match="choose from"):
        cam_target_layers(create_model("resnet18", 4), "resnet18", "middle")
