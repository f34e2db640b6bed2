"""model.catalog: what the pages say about a checkpoint."""
from pathlib import Path

import pytest

from model.catalog import ModelReport, model_report


def report(**metadata) -> ModelReport:
    base = {"arch": "resnet50", "classes": ["glioma"], "preprocess": {"input_size": 160}, "train_config": {}}
    return ModelReport(checkpoint=Path("x.safetensors"), metadata={**base, **metadata}, metrics=None, history=None)


@pytest.mark.parametrize("extra, words", [
    ({}, "ResNet50, trained from scratch at 160×160 px"),
    ({"train_config": {"init_from": "runs/a/best.safetensors"}}, "trained from scratch, the last stage at 160"),
    ({"train_config": {"init_from": "r"}, "soup_of": ["runs/a", "runs/b"]},
     "trained from scratch in stages, the weights of the last 2 averaged, at 160"),
    ({"trained_from_scratch": False}, "fine-tuned from ImageNet weights at 160"),
])
def test_provenance_says_how_the_weights_came_to_be(extra, words):
    assert words in report(**extra).provenance


def test_bundled_report_prefers_the_ood_file_and_names_its_origin():
    bundled = model_report()
    assert "trained from scratch" in bundled.provenance
    assert bundled.ood["ood_images"] >= 30 and bundled.metrics["n_images"] == 1311
