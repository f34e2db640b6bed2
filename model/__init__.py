"""Brain-tumour MRI classifier: training, evaluation and inference.

Public API::

    from model import load_classifier, load_image, load_scan
    clf = load_classifier()                  # bundled ResNet50
    image = load_image(upload)               # JPEG/PNG/..., DICOM or NIfTI: the middle slice
    scan = load_scan(upload)                 # every slice: scan.axes, scan.slice(axis, index)
    probs = clf.predict_proba([image])       # (N, C) in clf.classes order
    explanation = clf.explain(image)         # probabilities + Grad-CAM map

The rooms, each importing only from those above it: ``names``, ``paths``, ``figures`` <
``uploads`` (bytes → Scan) < ``classifier`` (image → answer) < ``data`` (image folders) <
``training``, ``evaluation`` (measures) < ``fitting`` (fits and chooses what ships), ``comparison`` <
``views`` (what the pages show, no Streamlit).
Commands: ``python -m model --help``.
"""
import importlib as _importlib
import os as _os
import sys as _sys

# triton compiles GPU kernels; torchvision imports it (through torch._dynamo) even on a machine
# with no NVIDIA device, where it only costs memory: 76 MiB of the app's 1 GB budget
# (benchmarks/app_startup.py). Effective only when this package is imported before torch.
if not _os.path.exists("/dev/nvidiactl"):
    _sys.modules.setdefault("triton", None)

#: Public name → the module that defines it. Loaded on first use, so that importing a light room
#: (``model.views.catalog`` for the Data & evaluation page) does not pull in torch's image stack,
#: SciPy or scikit-learn.
_API = {
    "CheckpointError": "model.classifier.checkpoint", "load_checkpoint": "model.classifier.checkpoint",
    "read_metadata": "model.classifier.checkpoint", "save_checkpoint": "model.classifier.checkpoint",
    "PretrainedWeightsUnavailable": "model.classifier.factory", "available_models": "model.classifier.factory",
    "create_model": "model.classifier.factory",
    "GradCamExplainer": "model.classifier.heat_maps.gradcam", "overlay_heatmap": "model.classifier.heat_maps.activation_maps",
    "Classifier": "model.classifier.classifier", "Explanation": "model.classifier.explanation",
    "bundled_checkpoints": "model.paths", "load_classifier": "model.classifier.classifier",
    "load_app_classifier": "model.classifier.app_classifier",
    "PreprocessSpec": "model.classifier.preprocess",
    "classification_metrics": "model.evaluation.metrics",
    "DISPLAY_NAMES": "model.names", "DEFAULT_CHECKPOINT": "model.paths",
    "ImageLoadError": "model.uploads.limits", "Scan": "model.uploads.scan",
    "load_image": "model.uploads.load", "load_scan": "model.uploads.load",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(_API[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
