"""A classifier's backends at run time: measured once per machine, cached, forced by env, never in the way."""
from __future__ import annotations

import json
import logging
import time

import numpy as np
import pytest
import torch

from model import create_model, load_classifier, save_checkpoint
from model.classifier import backend_runtime
from model.classifier.backend_choice import BackendChoice, machine_key, write_choice
from model.classifier.backend_runtime import BACKEND_ENV
from model.classifier.backends import CANDIDATES, REFERENCE, OnnxTrunk
from model.classifier.guard import fit_guard
from model.classifier.inference import BATCH_FROM
from model.classifier.preprocess import PreprocessSpec
from model.paths import BACKEND_CACHE_ENV

from .conftest import CLASSES, synthetic_mri


@pytest.fixture(scope="module")
def images():
    return [synthetic_mri(i % 4, 500 + i) for i in range(BATCH_FROM + 2)]


@pytest.fixture
def cache(monkeypatch, tmp_path):
    """A fresh per-machine cache folder for this test, and for the child process that measures."""
    folder = tmp_path / "backend-cache"
    monkeypatch.setattr(backend_runtime, "BACKEND_CACHE_DIR", folder)
    monkeypatch.setenv(BACKEND_CACHE_ENV, str(folder))
    return folder


def _wait_until_ready(backends, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while backends.state != "ready" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert backends.state == "ready"


def _no_child(*args, **kwargs):
    raise AssertionError("a child process was started to measure")


@pytest.fixture
def measuring(request, monkeypatch, cache):
    """No backend forced: the classifier measures them (``BRAIN_MRI_BACKEND`` unset, or ``auto``)."""
    if getattr(request, "param", "unset") == "unset":
        monkeypatch.delenv(BACKEND_ENV, raising=False)
    else:
        monkeypatch.setenv(BACKEND_ENV, "auto")
    return cache


@pytest.mark.parametrize("measuring", ["unset", "auto"], indirect=True)
def test_first_large_batch_measures_and_the_next_classifier_reads_the_cache(measuring, tiny_checkpoint, images):
    reference = load_classifier(tiny_checkpoint, backends=False)
    expected = reference.predict_proba(images)
    assert reference.backends.state == "off"

    clf = load_classifier(tiny_checkpoint)
    assert clf.backends.state == "pending"
    clf.predict_proba(images[:BATCH_FROM - 1])  # small batches do not measure
    assert clf.backends.state == "pending"
    got = clf.predict_proba(images)
    assert clf.backends.state == "ready"
    choice = clf.backends.choice
    assert not choice.from_cache
    path = measuring / machine_key(tiny_checkpoint) / "choice.json"
    written = json.loads(path.read_text())
    assert set(written["candidates"]) == set(CANDIDATES)
    assert {written["single"], written["batch"]} <= set(CANDIDATES)
    # no <checkpoint>.backends.json beside the tiny checkpoint: the rounding paths are refused, not measured
    for name in ("torch-bf16", "onnxruntime-int8"):
        assert written["candidates"][name]["refused"]
    for name in (REFERENCE, "onnxruntime-fp32"):
        row = written["candidates"][name]
        assert row["refused"] is None and row["same_answers"] == 1.0 and row["ms_batch_8"] > 0
    np.testing.assert_allclose(got, expected, atol=1e-4)

    again = load_classifier(tiny_checkpoint)
    again.backends.choose_now()
    assert again.backends.state == "ready" and again.backends.choice.from_cache
    assert (again.backends.choice.single, again.backends.choice.batch) == (choice.single, choice.batch)
    probs = again.predict_proba(images)
    if "onnxruntime-int8" in (choice.single, choice.batch):
        assert (probs.argmax(1) == expected.argmax(1)).all()
    else:
        np.testing.assert_allclose(probs, expected, atol=1e-4)


def test_a_checkpoint_with_other_weights_is_measured_again(measuring, tiny_checkpoint, tmp_path, images):
    load_classifier(tiny_checkpoint).backends.choose_now()
    torch.manual_seed(1)
    other = tmp_path / "other.safetensors"
    save_checkpoint(other, create_model("resnet18", len(CLASSES)).state_dict(),
                    {"arch": "resnet18", "classes": CLASSES, "preprocess": PreprocessSpec(32, 40).to_dict()})
    clf = load_classifier(other)
    clf.backends.choose_now()
    assert not clf.backends.choice.from_cache
    assert len(list(measuring.glob("*/choice.json"))) == 2


@pytest.mark.parametrize("name", ["onnxruntime-fp32", "onnxruntime-int8"])
def test_a_cached_choice_whose_onnx_file_is_gone_builds_it_again(name, measuring, tiny_checkpoint, images):
    workdir = measuring / machine_key(tiny_checkpoint)
    write_choice(workdir / "choice.json", BackendChoice(name, name))
    assert not list(workdir.glob("*.onnx"))
    expected = load_classifier(tiny_checkpoint, backends=False).predict_proba(images)
    clf = load_classifier(tiny_checkpoint)
    got = clf.predict_proba(images)
    assert clf.backends.choice.from_cache and clf.backends.choice.batch == name
    assert isinstance(clf.backends.batch_network[0], OnnxTrunk)
    assert (workdir / f"trunk-{name.rsplit('-', 1)[1]}.onnx").exists()  # int8: quantised on the samples again
    np.testing.assert_allclose(got, expected, atol=1e-4 if name.endswith("fp32") else 0.05)


def test_a_choice_made_in_the_background_ends_ready(measuring, tiny_checkpoint, images):
    clf = load_classifier(tiny_checkpoint)
    clf.backends.choose_in_background()  # measures in a child process, then reads what it wrote
    assert clf.backends.state in ("choosing", "ready")
    _wait_until_ready(clf.backends)
    choice = clf.backends.choice
    assert choice.from_cache and set(choice.candidates) == set(CANDIDATES)
    assert (measuring / machine_key(tiny_checkpoint) / "choice.json").exists()
    clf.backends.choose_in_background()  # made: nothing more starts
    clf.backends.choose_now()
    assert clf.backends.state == "ready" and clf.backends.choice is choice
    expected = load_classifier(tiny_checkpoint, backends=False).predict_proba(images)
    np.testing.assert_allclose(clf.predict_proba(images), expected, atol=1e-4)


def test_a_cached_choice_is_used_in_the_background_without_a_child(measuring, tiny_checkpoint, monkeypatch):
    write_choice(measuring / machine_key(tiny_checkpoint) / "choice.json",
                 BackendChoice("onnxruntime-fp32", REFERENCE))
    monkeypatch.setattr(backend_runtime.subprocess, "run", _no_child)
    clf = load_classifier(tiny_checkpoint)
    clf.backends.choose_in_background()
    _wait_until_ready(clf.backends)
    assert isinstance(clf.backends.split_network[0], OnnxTrunk) and clf.backends.batch_network is clf.model


def test_a_forced_backend_is_used_in_the_background_without_a_child(monkeypatch, cache, tiny_checkpoint):
    monkeypatch.setenv(BACKEND_ENV, "onnxruntime-fp32")
    monkeypatch.setattr(backend_runtime.subprocess, "run", _no_child)
    clf = load_classifier(tiny_checkpoint)
    clf.backends.choose_in_background()
    _wait_until_ready(clf.backends)
    assert clf.backends.choice.single == clf.backends.choice.batch == "onnxruntime-fp32"
    assert isinstance(clf.backends.batch_network[0], OnnxTrunk)


def test_a_broken_cache_leaves_pytorch_answering(monkeypatch, tmp_path, tiny_checkpoint, images, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setattr(backend_runtime, "BACKEND_CACHE_DIR", blocked)
    monkeypatch.setenv(BACKEND_CACHE_ENV, str(blocked))
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    expected = load_classifier(tiny_checkpoint, backends=False).predict_proba(images)
    clf = load_classifier(tiny_checkpoint)
    with caplog.at_level(logging.WARNING, logger=backend_runtime.__name__):
        got = clf.predict_proba(images)  # measures, cannot write: no exception
    assert clf.backends.state == "ready"
    assert clf.backends.batch_network is clf.model and clf.backends.single_network is clf.model
    assert any("PyTorch fp32 stays" in r.getMessage() for r in caplog.records)
    np.testing.assert_array_equal(got, expected)


def test_an_unknown_forced_backend_is_measured_instead(monkeypatch, cache, tiny_checkpoint, caplog):
    monkeypatch.setenv(BACKEND_ENV, "tensorrt-fp16")
    clf = load_classifier(tiny_checkpoint)
    with caplog.at_level(logging.WARNING, logger=backend_runtime.__name__):
        clf.backends.choose_now()
    assert any("tensorrt-fp16" in r.getMessage() for r in caplog.records)
    assert set(clf.backends.choice.candidates) == set(CANDIDATES)


def test_pytorch_fp32_forced_keeps_the_network_itself(monkeypatch, cache, tiny_checkpoint):
    monkeypatch.setenv(BACKEND_ENV, REFERENCE)
    clf = load_classifier(tiny_checkpoint)
    clf.backends.choose_now()
    assert clf.backends.state == "ready"
    assert clf.backends.batch_network is clf.model and clf.backends.split_network is None
    assert not cache.exists()  # nothing measured, nothing exported


# -- forced ONNX Runtime fp32: the same answers, heat maps and guard as PyTorch ------------------------------

@pytest.fixture(scope="module")
def map_checkpoint(tmp_path_factory):
    """An untrained ResNet18 at 96 px: a 3x3 Grad-CAM map (the 32 px tiny checkpoint's is 1x1, flat)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt96") / "map.safetensors"
    save_checkpoint(path, create_model("resnet18", len(CLASSES)).state_dict(),
                    {"arch": "resnet18", "classes": CLASSES, "preprocess": PreprocessSpec(96, 112).to_dict()})
    return path


@pytest.fixture
def onnx_pair(monkeypatch, cache, map_checkpoint):
    """The same checkpoint in PyTorch fp32 and forced onto ONNX Runtime fp32, sharing one fitted guard."""
    monkeypatch.setenv(BACKEND_ENV, "onnxruntime-fp32")
    reference = load_classifier(map_checkpoint, backends=False)
    onnx = load_classifier(map_checkpoint)
    onnx.backends.choose_now()
    assert onnx.backends.choice.single == onnx.backends.choice.batch == "onnxruntime-fp32"
    assert isinstance(onnx.backends.split_network[0], OnnxTrunk)
    fit = [synthetic_mri(i % 4, 900 + i, size=128) for i in range(12)]
    features = reference.features(fit)
    guard = fit_guard(features, np.arange(12) % 4, features, n_components=4)
    scores = np.sort(guard.score(features))
    guard.threshold = float((scores[5] + scores[6]) / 2)  # half accepted, none on the edge
    reference.guard = onnx.guard = guard
    return reference, onnx


def test_forced_onnx_gives_pytorchs_heat_map_and_guard(onnx_pair):
    reference, onnx = onnx_pair
    calls = []
    session = onnx.backends.split_network[0].session
    run = session.run
    onnx.backends.split_network[0].session = type("Spy", (), {"run": lambda self, *a: calls.append(1) or run(*a)})()
    for i in range(4):
        image = synthetic_mri(i, 700 + i, size=128)
        want, got = reference.explain(image), onnx.explain(image)
        assert got.crop_map.shape == want.crop_map.shape == (96, 96)
        assert want.crop_map.max() - want.crop_map.min() > 0.5  # a map with something in it
        np.testing.assert_allclose(got.crop_map, want.crop_map, atol=1e-4)
        np.testing.assert_allclose(got.probabilities, want.probabilities, atol=1e-4)
        assert got.class_index == want.class_index and got.problem == want.problem
    assert calls, "the heat maps were not drawn on ONNX Runtime's features"
    fit = [synthetic_mri(i % 4, 900 + i, size=128) for i in range(12)]
    np.testing.assert_allclose(onnx.features(fit), reference.features(fit), atol=1e-4)
    verdicts = reference.check_inputs(fit)
    assert onnx.check_inputs(fit) == verdicts and None in verdicts and len(set(verdicts)) == 2
    # the split network's parameters are the model's: the heat map gives their gradients back
    assert all(p.requires_grad for p in onnx.model.parameters())


def test_forced_onnx_fine_layer_maps_stay_on_the_network(onnx_pair):
    reference, onnx = onnx_pair
    image = synthetic_mri(0, 42, size=128)
    want, got = reference.explain(image, method="LayerCAM"), onnx.explain(image, method="LayerCAM")
    np.testing.assert_allclose(got.crop_map, want.crop_map, atol=1e-5)
