"""Checks on the full Kaggle dataset; run with `pytest -m slow` (needs ../shared/data)."""
from pathlib import Path

import pytest

from model.evaluate import evaluate

DATA = Path(__file__).resolve().parent.parent.parent / "shared/data/brain-tumor-mri"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (DATA / "Testing").is_dir(), reason=f"dataset not found at {DATA}")]


def test_bundled_resnet50_reaches_the_bar_on_kaggle_testing():
    metrics = evaluate(Path(__file__).resolve().parent.parent / "model/weights/resnet50.safetensors",
                       DATA / "Testing")
    assert metrics["n_images"] == 1311
    assert metrics["accuracy"] >= 0.99 and metrics["macro_f1"] >= 0.99, metrics
