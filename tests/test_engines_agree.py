"""The classifier on the checkpoint's ONNX graph gives the same answers, maps and refusals as on PyTorch."""
import numpy as np
import pytest
from PIL import Image

from model import load_classifier
from model.paths import DEFAULT_CHECKPOINT

from .conftest import synthetic_mri


@pytest.fixture(scope="module")
def graph_classifier():
    return load_classifier(DEFAULT_CHECKPOINT, engine="onnx-graph")


@pytest.fixture(scope="module")
def pictures(samples):
    """The bundled samples, one resized and recoloured, and two pictures that are no brain MRI."""
    found = [Image.open(s.path) for s in samples]
    return found + [found[0].convert("RGB").resize((300, 210)), Image.new("RGB", (96, 96), (200, 30, 30)),
                    synthetic_mri(1, 5)]


def test_same_answers_and_refusals_as_pytorch(graph_classifier, bundled, pictures):
    np.testing.assert_allclose(graph_classifier.predict_proba(pictures), bundled.predict_proba(pictures), atol=1e-4)
    assert graph_classifier.check_inputs(pictures) == bundled.check_inputs(pictures)
    probs, problems = graph_classifier.predict_and_check(pictures, batch_size=3)
    np.testing.assert_allclose(probs, bundled.predict_proba(pictures), atol=1e-4)
    assert problems == bundled.check_inputs(pictures) and any(problems) and not all(problems)
    assert graph_classifier.predict_proba([]).shape == (0, 4) and graph_classifier.predict_and_check([])[1] == []


@pytest.mark.parametrize("method", ["Grad-CAM", "LayerCAM"])
def test_same_explanation_and_heat_map_as_pytorch(graph_classifier, bundled, pictures, method):
    """Grad-CAM from each engine's activations; LayerCAM by one PyTorch pass."""
    for image in pictures[:2] + pictures[4:5]:
        ours, theirs = graph_classifier.explain(image, method=method), bundled.explain(image, method=method)
        np.testing.assert_allclose(ours.probabilities, theirs.probabilities, atol=1e-4)
        assert ours.class_index == theirs.class_index and ours.problem == theirs.problem and ours.box == theirs.box
        assert ours.heatmap.shape == image.size[::-1]
        np.testing.assert_allclose(ours.heatmap, theirs.heatmap, atol=2e-3)
        assert ours.sequence.sequence == theirs.sequence.sequence
    heat, box = graph_classifier.heat_map(pictures[1], 2, method)
    expected, expected_box = bundled.heat_map(pictures[1], 2, method)
    assert box == expected_box and np.abs(heat - expected).max() < 2e-3


def test_answer_without_map_then_map_equals_one_explain(graph_classifier, samples):
    image = Image.open(samples[2].path)
    quick = graph_classifier.explain(image, heatmap=False)
    assert quick.heatmap is None
    full = quick.with_heat_map(*graph_classifier.heat_map(image, quick.class_index))
    np.testing.assert_array_equal(full.heatmap, graph_classifier.explain(image).heatmap)


def test_answer_first_then_the_map_it_lacked(graph_classifier, samples, monkeypatch):
    """Cold (pytorch-grad-cam not loaded): the default map comes with the answer, LayerCAM after it."""
    monkeypatch.setattr("model.classifier.heat_maps.methods.cam_library_loaded", lambda: False)
    monkeypatch.setattr("model.classifier.heat_maps.methods.load_cam_library_in_background", lambda: None)
    image = Image.open(samples[0].path)
    grad_cam = graph_classifier.answer_first(image, "Grad-CAM")
    assert grad_cam.crop_map is not None and graph_classifier.with_map(image, grad_cam, "Grad-CAM") is grad_cam
    bare = graph_classifier.answer_first(image, "LayerCAM")
    assert bare.crop_map is None and bare.class_index == grad_cam.class_index
    layer_cam = graph_classifier.with_map(image, bare, "LayerCAM")
    np.testing.assert_allclose(layer_cam.heatmap, graph_classifier.explain(image, method="LayerCAM").heatmap, atol=1e-5)
