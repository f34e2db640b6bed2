"""The upload path does each thing once: decode, answer, load a network (pages under AppTest)."""
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from .test_app import TIMEOUT, diagnose

REPO = Path(__file__).resolve().parent.parent


def counting(monkeypatch, target: str):
    """Replace ``module.name`` (or ``Class.method``) by a wrapper that records each call."""
    import importlib

    module_name, _, attr = target.rpartition(".")
    try:
        owner = importlib.import_module(module_name)
    except ModuleNotFoundError:
        parent, _, cls = module_name.rpartition(".")
        owner = getattr(importlib.import_module(parent), cls)
    original = getattr(owner, attr)
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, attr, wrapper)
    return calls


def test_one_network_per_checkpoint_serves_every_page(monkeypatch):
    """Diagnose names no checkpoint, the comparison page names each file: one ResNet50 all the same."""
    st.cache_resource.clear()
    loads = counting(monkeypatch, "model.classifier.inference.Classifier.from_checkpoint")
    diagnose()
    monkeypatch.delenv("BRAIN_MRI_COMPARISON_DIR", raising=False)
    at = AppTest.from_file("../pages/model_comparison.py", default_timeout=TIMEOUT).run()
    assert not at.exception
    loaded = [Path(args[0]).resolve() for args in loads]
    assert len(loaded) == len(set(loaded)), loaded
    assert (REPO / "model/weights/resnet50.safetensors").resolve() in loaded
