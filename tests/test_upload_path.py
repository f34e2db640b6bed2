"""The upload path does each thing once: decode, answer, load a network (pages under AppTest)."""
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from .conftest import python_output
from .test_app import TIMEOUT, VERDICTS, diagnose

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


def test_an_upload_is_decoded_once_whatever_the_reruns(monkeypatch, sample_nifti_path):
    decodes = counting(monkeypatch, "model.uploads.load.read_bytes")
    at = diagnose()
    at.radio[0].set_value("Upload your own").run()
    at.file_uploader[0].upload(sample_nifti_path.name, sample_nifti_path.read_bytes(), "application/gzip").run()
    slider = next(s for s in at.slider if s.label == "Axial slice")
    slider.set_value(slider.value + 1).run()
    next(s for s in at.slider if s.label == "Heat-map opacity").set_value(0.8).run()
    at.toggle[-1].set_value(True).run()  # classify every axial slice
    assert not at.exception and at.subheader[0].value.startswith(VERDICTS)
    assert [args[1] for args in decodes].count(sample_nifti_path.name) == 1


def test_a_cold_server_answers_once_then_draws_only_the_map(monkeypatch, samples):
    """pytorch-grad-cam not loaded: the answer and its input check come from the first pass, and the
    second pass adds the heat map without classifying again."""
    monkeypatch.setattr("model.classifier.heat_maps.methods.cam_library_loaded", lambda: False)
    st.cache_data.clear()
    checks = counting(monkeypatch, "model.classifier.classifier.Classifier._problem")
    at = diagnose()
    at.radio[0].set_value("Upload your own").run()
    checks.clear()
    at.file_uploader[0].upload(samples[3].path.name, samples[3].path.read_bytes(), "image/jpeg").run()
    assert not at.exception and at.subheader[0].value.startswith(VERDICTS)
    assert any(img.caption.startswith("Grad-CAM for") for image in at.image for img in image.proto.imgs)
    assert len(checks) == 1


@pytest.mark.parametrize("method", ["Grad-CAM", "LayerCAM"])
def test_the_network_runs_once_per_upload_on_a_cold_server(monkeypatch, samples, method):
    """The default Grad-CAM is drawn from the answer's own pass (NumPy, no torch); LayerCAM, which reads
    an earlier block, gets the answer from the graph and one PyTorch pass for its map."""
    monkeypatch.setattr("model.classifier.heat_maps.methods.cam_library_loaded", lambda: False)
    st.cache_data.clear()
    graph_runs = counting(monkeypatch, "model.classifier.engines.graph.ClassifierGraph.__call__")
    pytorch_maps = counting(monkeypatch, "model.classifier.classifier.Classifier._pytorch_pass")
    at = diagnose()
    at.radio(key="heat_map_method").set_value(method).run()
    at.radio[0].set_value("Upload your own").run()
    graph_runs.clear(), pytorch_maps.clear()
    at.file_uploader[0].upload(samples[1].path.name, samples[1].path.read_bytes(), "image/jpeg").run()
    assert not at.exception and at.subheader[0].value.startswith(VERDICTS)
    assert any(img.caption.startswith(f"{method} for") for image in at.image for img in image.proto.imgs)
    assert (len(graph_runs), len(pytorch_maps)) == ((1, 0) if method == "Grad-CAM" else (1, 1))


def test_one_network_per_checkpoint_serves_every_page(monkeypatch):
    """Diagnose names no checkpoint, the comparison page names each file: one ResNet50 all the same."""
    st.cache_resource.clear()
    loads = counting(monkeypatch, "model.classifier.classifier.classifier_with_engine")
    diagnose()
    monkeypatch.delenv("BRAIN_MRI_COMPARISON_DIR", raising=False)
    at = AppTest.from_file("../pages/model_comparison.py", default_timeout=TIMEOUT).run()
    assert not at.exception
    loaded = [Path(args[0]).resolve() for args in loads]
    assert len(loaded) == len(set(loaded)), loaded
    assert (REPO / "model/weights/resnet50.safetensors").resolve() in loaded


def test_the_data_and_evaluation_page_needs_no_scientific_stack():
    """The page reads committed reports: it must not pull in scikit-learn, SciPy or imagehash."""
    code = ("import sys\nfrom streamlit.testing.v1 import AppTest\n"
            "at = AppTest.from_file('pages/data_evaluation.py', default_timeout=120).run()\n"
            "assert not at.exception, at.exception\n"
            "print(sorted(m for m in ('sklearn', 'scipy', 'imagehash') if m in sys.modules))\n")
    assert python_output(code).strip().splitlines()[-1] == "[]"


def test_every_page_and_the_default_map_are_served_without_torch():
    """torch and pytorch-grad-cam (~4 s and ~500 MiB on a cold server) load only for a map that needs them:
    Diagnose's answer with its Grad-CAM, and every other page, need neither."""
    code = ("import sys\nfrom streamlit.testing.v1 import AppTest\n"
            "for page in ('pages/diagnose.py', 'streamlit_app.py', 'pages/model_card.py', "
            "'pages/model_comparison.py', 'pages/data_evaluation.py'):\n"
            "    at = AppTest.from_file(page, default_timeout=240).run()\n"
            "    assert not at.exception, (page, at.exception)\n"
            "    if page == 'pages/diagnose.py':\n"
            "        assert any(i.caption.startswith('Grad-CAM for') for image in at.image for i in image.proto.imgs)\n"
            "print(sorted(m for m in ('torch', 'pytorch_grad_cam') if m in sys.modules))\n")
    assert python_output(code).strip().splitlines()[-1] == "[]"
