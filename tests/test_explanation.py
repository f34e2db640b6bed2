"""model.classifier.explanation, and what Classifier.explain hands it: each upload's grey pixels and
head mask once, the heat map kept at crop size, the pictures drawn at display size."""
import pickle

import numpy as np
import pytest
from PIL import Image

from model.classifier import guard, preprocess
from model.classifier.explanation import DISPLAY_SIDE, Explanation

from .conftest import synthetic_mri


def big_scan(side: int = 2400) -> Image.Image:
    return synthetic_mri(0, seed=4, size=256).resize((side, side * 4 // 5), Image.BILINEAR)


def counting(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or original(*a, **k))
    return calls


def test_one_upload_is_turned_grey_and_its_head_found_once(bundled, samples, monkeypatch):
    """Answer, input check, shown picture and overlay share one grey conversion and one head mask
    of the whole picture (the head-shape check finds the head again on its own crop)."""
    image = Image.open(samples[0].path)
    greys = counting(monkeypatch, preprocess, "to_grey_uint8")
    masks = counting(monkeypatch, preprocess, "head_mask")
    crop_masks = counting(monkeypatch, guard, "head_mask")
    explanation = bundled.explain(image)
    explanation.preview_image(), explanation.overlay(opacity=0.4)
    assert (len(greys), len(masks), len(crop_masks)) == (1, 1, 1)


def test_the_quick_answer_and_the_map_added_later_equal_one_full_explanation(bundled, samples):
    image = Image.open(samples[1].path)
    full = bundled.explain(image)
    quick = bundled.explain(image, heatmap=False)
    later = quick.with_heat_map(*bundled.heat_map(image, quick.class_index))
    assert np.allclose(later.crop_map, full.crop_map, atol=1e-5) and later.box == full.box
    assert np.array_equal(later.probabilities, quick.probabilities) and later.problem == quick.problem


def test_a_large_upload_keeps_a_small_map_and_is_drawn_at_display_size(bundled):
    image = big_scan()
    explanation = bundled.explain(image)
    size = bundled.spec.input_size
    assert explanation.crop_map.shape == (size, size)
    assert len(pickle.dumps(explanation)) < 2 * 2**20  # the page caches it: not 23 MB of float32 map
    shown, overlay = explanation.preview_image(), explanation.overlay(opacity=0.5)
    assert max(shown.size) == DISPLAY_SIDE and overlay.size == shown.size
    assert explanation.heatmap.shape == image.size[::-1]  # the full-size map is still there when asked for


def test_the_display_size_overlay_matches_the_full_size_one(bundled):
    image = big_scan(1600)
    explanation = bundled.explain(image)
    full = np.asarray(explanation.overlay(image, opacity=1.0).resize(explanation.preview_image().size, Image.BILINEAR),
                      np.float32)
    small = np.asarray(explanation.overlay(opacity=1.0), np.float32)
    assert np.abs(full - small).mean() < 6  # of 255: resampling, nothing more


def test_a_sixteen_bit_upload_is_shown_with_the_contrast_the_network_sees(tiny_checkpoint):
    from model import load_classifier

    values = (np.asarray(synthetic_mri(0, seed=2, size=96), np.uint16) * 16).astype(np.uint16)  # 0..4080
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    white = lambda pixels: float((np.asarray(pixels) == 255).mean())  # noqa: E731
    assert white(image.convert("RGB")) > 0.3  # what showing it as RGB did: the whole head clipped to white
    shown = load_classifier(tiny_checkpoint).explain(image, heatmap=False).preview_image()
    assert white(shown) < 0.02 and np.asarray(shown).std() > 20


def test_an_explanation_without_a_box_covers_the_whole_picture():
    heat = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    explanation = Explanation(np.array([0.7, 0.1, 0.1, 0.1]), 0, heat)
    assert explanation.heatmap is heat
    assert explanation.overlay(Image.new("L", (40, 40), 90)).size == (40, 40)
    with pytest.raises(ValueError, match="preview"):
        explanation.preview_image()
