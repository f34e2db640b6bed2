"""model.classifier.app_classifier: the app serves the graph where there is one, and answers without torch."""
from model import Classifier, GraphClassifier, load_app_classifier

from .conftest import python_output


def test_app_classifier_is_the_graph_for_bundled_checkpoints(tiny_checkpoint):
    served = load_app_classifier()
    assert isinstance(served, GraphClassifier)
    assert served.arch == "resnet50" and served.guard is not None
    assert isinstance(load_app_classifier(tiny_checkpoint), Classifier)  # no graph beside it


def test_first_answer_imports_no_torch(samples):
    """The app's cold start: a fresh process answers with NumPy and ONNX Runtime alone."""
    code = ("import sys; from PIL import Image; from model import load_app_classifier; "
            f"c = load_app_classifier(); e = c.explain(Image.open({str(samples[0].path)!r}), heatmap=False); "
            "print(type(c).__name__, e.class_index, sorted(m for m in ('torch', 'torchvision', 'pytorch_grad_cam') "
            "if m in sys.modules))")
    assert python_output(code).split() == ["GraphClassifier", str(["glioma", "meningioma", "notumor", "pituitary"].index(
        samples[0].label)), "[]"]


def test_without_onnxruntime_the_app_serves_pytorch(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    assert type(load_app_classifier()) is Classifier
