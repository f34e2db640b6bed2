"""model.classifier.app_classifier: the app serves the graph where there is one, and answers without torch."""
from model import Classifier, load_app_classifier

from .conftest import python_output


def test_app_classifier_is_the_graph_for_bundled_checkpoints(tiny_checkpoint):
    served = load_app_classifier()
    assert isinstance(served, Classifier) and served.engine.name == "onnx-graph"
    assert served.arch == "resnet50" and served.guard is not None
    assert load_app_classifier(tiny_checkpoint).engine.name == "torch-fp32"  # no graph beside it


def test_first_answer_imports_no_torch(samples):
    """The app's cold start: a fresh process answers with NumPy and ONNX Runtime alone."""
    code = ("import sys; from PIL import Image; from model import load_app_classifier; "
            f"c = load_app_classifier(); e = c.explain(Image.open({str(samples[0].path)!r}), heatmap=False); "
            "print(c.engine.name, e.class_index, sorted(m for m in ('torch', 'torchvision', 'pytorch_grad_cam') "
            "if m in sys.modules))")
    assert python_output(code).split() == ["onnx-graph", str(["glioma", "meningioma", "notumor", "pituitary"].index(
        samples[0].label)), "[]"]


def test_without_onnxruntime_the_app_serves_pytorch(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    assert load_app_classifier().engine.name == "torch-fp32"


def test_a_classifier_opened_at_start_up_is_taken_over_not_opened_again(monkeypatch):
    from model.classifier import app_classifier

    opened = []
    monkeypatch.setattr(app_classifier, "_open", lambda path: opened.append(path) or object())
    app_classifier.start_opening()
    app_classifier.start_opening()  # a second start is a no-op
    first = load_app_classifier()
    assert len(opened) == 1 and load_app_classifier() is not first  # taken once; later calls open anew
    assert len(opened) == 2


def test_the_entry_point_serves_an_app_that_opens_the_classifier_at_start_up():
    """Imported (as `streamlit run` does where Streamlit has st.App) it builds the app and draws nothing;
    the app's start-up begins opening the bundled classifier."""
    code = ("import asyncio, importlib, streamlit as st\n"
            "from model.classifier import app_classifier\n"
            "entry = importlib.import_module('streamlit_app')\n"
            "print(isinstance(entry.app, st.App), hasattr(entry, 'navigation'))\n"
            "async def start():\n"
            "    async with entry.open_classifier_early(entry.app):\n"
            "        print(sorted(app_classifier._OPENING) == [str(app_classifier.DEFAULT_CHECKPOINT.resolve())])\n"
            "asyncio.run(start())\n"
            "print(app_classifier.load_app_classifier().engine.name)\n")
    assert python_output(code).split() == ["True", "False", "True", "onnx-graph"]
