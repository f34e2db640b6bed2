"""Brain-tumour MRI classifier: training, evaluation and inference.

Public API::

    from model import load_classifier, load_image, load_scan
    clf = load_classifier()                  # bundled ResNet50
    image = load_image(upload)               # JPEG/PNG/..., DICOM or NIfTI: the middle slice
    scan = load_scan(upload)                 # every slice: scan.axes, scan.slice(axis, index)
    probs = clf.predict_proba([image])       # (N, C) in clf.classes order
    explanation = clf.explain(image)         # probabilities + Grad-CAM map
"""
from .checkpoint import CheckpointError, load_checkpoint, read_metadata, save_checkpoint
from .factory import PretrainedWeightsUnavailable, available_models, create_model
from .gradcam import GradCamExplainer, overlay_heatmap
from .imageio import ImageLoadError
from .inference import (DEFAULT_CHECKPOINT, DISPLAY_NAMES, Classifier, Explanation, bundled_checkpoints,
                        load_classifier)
from .metrics import classification_metrics
from .preprocess import PreprocessSpec
from .scan import Scan, load_image, load_scan

__all__ = [
    "CheckpointError", "Classifier", "DEFAULT_CHECKPOINT", "DISPLAY_NAMES", "Explanation",
    "GradCamExplainer", "ImageLoadError", "PreprocessSpec", "PretrainedWeightsUnavailable", "Scan",
    "available_models", "bundled_checkpoints", "classification_metrics", "create_model",
    "load_checkpoint", "load_classifier", "load_image", "load_scan", "overlay_heatmap", "read_metadata",
    "save_checkpoint",
]
