"""Brain-tumour MRI classifier: training, evaluation and inference.

Public API::

    from model import load_classifier, load_image, load_scan
    clf = load_classifier()                  # bundled ResNet50
    image = load_image(upload)               # JPEG/PNG/..., DICOM or NIfTI: the middle slice
    scan = load_scan(upload)                 # every slice: scan.axes, scan.slice(axis, index)
    probs = clf.predict_proba([image])       # (N, C) in clf.classes order
    explanation = clf.explain(image)         # probabilities + Grad-CAM map
"""
import os as _os
import sys as _sys

# triton compiles GPU kernels; torchvision imports it (through torch._dynamo) even on a machine
# with no NVIDIA device, where it only costs memory: 76 MiB of the app's 1 GB budget
# (benchmarks/app_startup.py). Effective only when this package is imported before torch.
if not _os.path.exists("/dev/nvidiactl"):
    _sys.modules.setdefault("triton", None)

from .checkpoint import CheckpointError, load_checkpoint, read_metadata, save_checkpoint
from .factory import PretrainedWeightsUnavailable, available_models, create_model
from .gradcam import GradCamExplainer, overlay_heatmap
from .imageio import ImageLoadError
from .inference import (DEFAULT_CHECKPOINT, DISPLAY_NAMES, Classifier, Explanation, bundled_checkpoints,
                        load_classifier)
from .preprocess import PreprocessSpec
from .scan import Scan, load_image, load_scan

__all__ = [
    "CheckpointError", "Classifier", "DEFAULT_CHECKPOINT", "DISPLAY_NAMES", "Explanation",
    "GradCamExplainer", "ImageLoadError", "PreprocessSpec", "PretrainedWeightsUnavailable", "Scan",
    "available_models", "bundled_checkpoints", "classification_metrics", "create_model",
    "load_checkpoint", "load_classifier", "load_image", "load_scan", "overlay_heatmap", "read_metadata",
    "save_checkpoint",
]


def __getattr__(name: str):
    # classification_metrics imports scikit-learn and scipy.stats (~1 s): only when asked for,
    # so the app, which never computes metrics, starts without them.
    if name == "classification_metrics":
        from .metrics import classification_metrics

        return classification_metrics
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
